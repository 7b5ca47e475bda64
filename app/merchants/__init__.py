"""Conventioned producers and shops, their market stalls and product categories, and their
back-office operations (convention, suspension, cashier invitations).
"""
