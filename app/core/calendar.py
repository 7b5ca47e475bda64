"""The association's time: its time zone, its calendar day and its months (Europe/Paris).

A month is a `Month`; URLs, forms and the ledger's `period` column write it `YYYY-MM`
(`str(month)`). Ranges end exclusive: a month runs from `first_day` up to, not including, `end`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask_babel import format_date
from flask_babel import lazy_gettext as _l

from app.core.errors import InvalidPeriod

PARIS = ZoneInfo("Europe/Paris")

_MONTH = re.compile(r"^([0-9]{4})-([0-9]{2})$")
# The months a person may type (forms, URLs, the command line): the caisse has none before 2000,
# and a year past 2100 is a typo; without bounds `9999-12` broke every "month after" computation.
FIRST_YEAR = 2000
LAST_YEAR = 2100
_NOT_A_MONTH = _l("This month is not valid: use the format YYYY-MM, for example 2026-03.")


def today() -> date:
    """The association's date, in Europe/Paris (not the server's, often UTC)."""
    return datetime.now(PARIS).date()


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month; months compare in time order."""

    year: int
    month: int

    def __post_init__(self):
        if not (1 <= self.month <= 12 and 1 <= self.year <= 9999):
            raise InvalidPeriod(_NOT_A_MONTH)

    @classmethod
    def parse(
        cls,
        text: str | None,
        *,
        first: Month | None = None,
        last: Month | None = None,
        message=None,
    ) -> Month:
        """`YYYY-MM` (spaces around allowed) -> a Month, or `InvalidPeriod`.

        `message` replaces the message for text that is not a month; `first` and `last` bound
        the months accepted (the message then names the range), by default January
        `FIRST_YEAR` and December `LAST_YEAR`."""
        first = first or cls(FIRST_YEAR, 1)
        last = last or cls(LAST_YEAR, 12)
        match = _MONTH.match(text.strip()) if isinstance(text, str) and len(text) < 100 else None
        if match is None or not 1 <= int(match.group(2)) <= 12:
            raise InvalidPeriod(message or _NOT_A_MONTH)
        asked = (int(match.group(1)), int(match.group(2)))
        if asked < (first.year, first.month) or asked > (last.year, last.month):
            raise InvalidPeriod(
                _l(
                    "This month is out of range: choose a month from %(first)s to %(last)s.",
                    first=str(first),
                    last=str(last),
                )
            )
        return cls(*asked)

    @classmethod
    def of(cls, period: str) -> Month:
        """A `YYYY-MM` the caisse wrote itself (a stored period, or one computed by `shift`):
        no range check, so that the months around the first and the last typeable ones work."""
        match = _MONTH.match(period)
        if match is None:
            raise InvalidPeriod(_NOT_A_MONTH)
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def from_date(cls, day: date) -> Month:
        return cls(day.year, day.month)

    @classmethod
    def current(cls) -> Month:
        """This month in Europe/Paris."""
        return cls.from_date(today())

    @classmethod
    def last_closed(cls) -> Month:
        """The month before the current one: the latest that is over."""
        return cls.current().shift(-1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def shift(self, months: int) -> Month:
        """The month `months` later (earlier when negative)."""
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def end(self) -> date:
        """The first day of the next month: the month's days are `first_day <= day < end`."""
        return self.shift(1).first_day

    def label(self, fmt: str = "LLLL y") -> str:
        """`mars 2026` / `March 2026` in the reader's language (`fmt`: a Babel date pattern)."""
        return format_date(self.first_day, fmt)
