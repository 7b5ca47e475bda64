"""The money core: accounts and append-only transfers in integer cents, the only code that
changes a balance. Around it: the monthly allocation, members' contributions, the bank statement
import, and the ledger's verification.
"""
