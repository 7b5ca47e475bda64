"""Paying the merchants: the month's settlement and statements, bank details (IBAN, BIC)
and the SEPA credit-transfer file.
"""
