"""Members and the people who sign in: applications to join, approval and activation,
membership (suspension, erasure, export), cards and PINs, passwords and sign-in throttling, the
admins' second factor, and the communes that may join.
"""
