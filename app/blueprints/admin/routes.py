"""The back office's views, one module per area, named here: importing them attaches their routes
to `bp`, and a missing module fails at start-up."""

from app.blueprints.admin import (  # noqa: F401
    bp,
    views_allocations,
    views_content,
    views_contributions,
    views_corrections,
    views_dashboard,
    views_journal,
    views_lists,
    views_members,
    views_merchants,
    views_security,
    views_settings,
    views_settlements,
    views_subscribers,
)

__all__ = ["bp"]
