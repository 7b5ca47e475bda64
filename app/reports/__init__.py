"""Read-only figures across domains for the back office (the dashboard)."""
