"""Backups: `flask ssa backup` writes a consistent, compressed, timestamped and checked copy of
the database while the site runs, and keeps the last daily and monthly copies; `flask ssa restore`
puts a copy back into an empty database and verifies the ledger."""
