"""The association's calendar: months written `YYYY-MM`, shifted, bounded and named."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.core import calendar
from app.core.calendar import Month
from app.core.errors import InvalidPeriod


@pytest.mark.parametrize(
    ("text", "month"),
    [
        ("2026-03", Month(2026, 3)),
        (" 2026-12 ", Month(2026, 12)),
        ("2000-01", Month(2000, 1)),  # the range a person may type: 2000..2100
        ("2100-12", Month(2100, 12)),
    ],
)
def test_a_month_is_read_from_yyyy_mm(text, month):
    assert Month.parse(text) == month
    assert str(Month.parse(text)) == text.strip()


@pytest.mark.parametrize(
    "bad", ["2026-13", "2026-00", "2026-3", "26-03", "2026/03", "abc", "", None, "٢٠٢٦-٠٣"]
)
def test_anything_else_is_an_invalid_period(bad):
    with pytest.raises(InvalidPeriod) as error:
        Month.parse(bad)
    assert "YYYY-MM" in error.value.message


@pytest.mark.parametrize("far", ["0000-01", "0001-01", "1999-12", "2101-01", "9999-12"])
def test_a_month_out_of_the_range_is_refused_naming_it(far):
    with pytest.raises(InvalidPeriod) as error:
        Month.parse(far)
    assert "2000-01" in str(error.value.message) and "2100-12" in str(error.value.message)


def test_a_caller_may_name_its_own_message_and_range():
    with pytest.raises(InvalidPeriod) as error:
        Month.parse("mars", message="a month is written YYYY-MM")
    assert error.value.message == "a month is written YYYY-MM"
    with pytest.raises(InvalidPeriod) as error:
        Month.parse("1999-12", first=Month(2000, 1), last=Month(2030, 12))
    assert "2000-01" in str(error.value.message) and "2030-12" in str(error.value.message)
    assert Month.parse("2030-12", first=Month(2000, 1), last=Month(2030, 12)) == Month(2030, 12)
    with pytest.raises(InvalidPeriod) as error:  # a year 0000 is before the range too
        Month.parse("0000-05", first=Month(2000, 1))
    assert "2000-01" in str(error.value.message)


def test_a_month_that_does_not_exist_cannot_be_built():
    for year, month in ((2026, 13), (2026, 0), (0, 1), (10_000, 1)):
        with pytest.raises(InvalidPeriod):
            Month(year, month)


def test_shift_crosses_years_both_ways():
    assert Month(2026, 1).shift(-1) == Month(2025, 12)
    assert Month(2025, 12).shift(1) == Month(2026, 1)
    assert Month(2026, 3).shift(-27) == Month(2023, 12)
    assert Month(2026, 3).shift(0) == Month(2026, 3)
    assert Month(2026, 11).shift(14) == Month(2028, 1)


def test_a_month_runs_from_its_first_day_to_the_next_first_day():
    assert Month(2026, 2).first_day == date(2026, 2, 1)
    assert Month(2026, 2).end == date(2026, 3, 1)
    assert Month(2025, 12).end == date(2026, 1, 1)
    assert Month.from_date(date(2024, 2, 29)) == Month(2024, 2)


def test_months_are_ordered_in_time():
    assert Month(2025, 12) < Month(2026, 1) < Month(2026, 2)
    assert max(Month(2026, 1), Month(2025, 12)) == Month(2026, 1)
    assert sorted([Month(2026, 10), Month(2026, 9)]) == [Month(2026, 9), Month(2026, 10)]


def _clock(monkeypatch, moment: datetime):
    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):
            return moment.astimezone(tz) if tz else moment

    monkeypatch.setattr(calendar, "datetime", Clock)


def test_today_and_this_month_are_those_of_paris(monkeypatch):
    """23:30 UTC on 31 December is already 1 January in Paris."""
    _clock(monkeypatch, datetime(2025, 12, 31, 23, 30, tzinfo=UTC))
    assert calendar.today() == date(2026, 1, 1)
    assert Month.current() == Month(2026, 1)


def test_the_last_closed_month_in_january_is_last_december(monkeypatch):
    _clock(monkeypatch, datetime(2026, 1, 15, 12, 0, tzinfo=UTC))
    assert Month.last_closed() == Month(2025, 12)
    _clock(monkeypatch, datetime(2026, 6, 1, 8, 0, tzinfo=UTC))
    assert Month.last_closed() == Month(2026, 5)


@pytest.mark.parametrize(
    ("language", "long", "short"), [("fr", "mars 2026", "mars 26"), ("en", "March 2026", "Mar 26")]
)
def test_a_month_is_named_in_the_readers_language(app, language, long, short):
    with app.test_request_context(f"/?lang={language}"):
        assert Month(2026, 3).label() == long
        assert Month(2026, 3).label("MMM yy") == short
