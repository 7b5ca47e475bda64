"""Refusals about the association's lists that merchants use: product categories and markets."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.core.errors import DomainError


class InvalidListEntry(DomainError):
    """A category or a market the back office refuses (empty name, hours in the wrong order)."""

    message = _l("This cannot be saved as it is: check what you typed.")


class CategoryExists(DomainError):
    message = _l("A category already has this name.")


class CategoryInUse(DomainError):
    """Merchants sell it, or sales were made in it: it stays (the sales keep their category)."""

    message = _l("This category is used by merchants or sales: it cannot be removed.")
    status = 409


class MarketExists(DomainError):
    message = _l("This market is already in the list (same place and same day).")
