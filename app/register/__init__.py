"""The cash register at a market stall: identify a member, debit a sale, cancel it the same
day; and the back office's corrections of sales.
"""
