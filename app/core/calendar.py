"""The association's time: its time zone and its calendar day (Europe/Paris)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


def today() -> date:
    """The association's date, in Europe/Paris (not the server's, often UTC)."""
    return datetime.now(PARIS).date()
