"""The back office's audit log: who did what, append-only."""
