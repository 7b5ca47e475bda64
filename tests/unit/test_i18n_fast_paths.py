"""The register's receipt formats through fast paths of app/core/i18n.py (the time of day built
from the locale's pattern, the catalog and the language read once per locale): they must give
exactly what Flask-Babel gives, in every language, and follow `force_locale`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import render_template_string
from flask_babel import force_locale, format_time, get_locale
from flask_babel import gettext as babel_gettext

from app.core import i18n

# Fixed instants across a year (both sides of the daylight-saving changes), never today's date.
MOMENTS = [
    datetime(2026, month, day, 0, 0, tzinfo=UTC) + timedelta(minutes=step * 37)
    for month, day in ((1, 5), (3, 29), (6, 21), (10, 25), (12, 31))
    for step in range(40)
]


@pytest.mark.parametrize("language", ["fr", "en"])
def test_hour_is_babels_short_time_in_every_language(app, language):
    assert i18n._hour_format(language) is not None  # the fast path, not Babel's, is measured
    with app.test_request_context(f"/?lang={language}"):
        assert i18n.current_language() == language
        for moment in MOMENTS:
            assert i18n.hour(moment) == format_time(moment, "short"), moment


def test_hour_of_a_naive_datetime_still_goes_through_babel(app):
    naive = datetime(2026, 6, 21, 12, 30)  # noqa: DTZ001 - naive on purpose
    with app.test_request_context("/?lang=fr"):
        assert i18n.hour(naive) == format_time(naive, "short")


def test_an_unknown_pattern_falls_back_to_babel(app, monkeypatch):
    from babel import dates

    real = dates.get_time_format

    class Odd:
        pattern = "HH 'h' mm ss"  # seconds: not a token the fast path knows

    i18n._hour_format.cache_clear()
    monkeypatch.setattr(dates, "get_time_format", lambda *a, **k: Odd())
    try:
        assert i18n._hour_format("fr") is None
    finally:
        monkeypatch.setattr(dates, "get_time_format", real)
        i18n._hour_format.cache_clear()


def test_templates_and_the_language_follow_force_locale(app):
    template = "{{ _('Next sale') }}|{{ 1250 | money }}|{{ current_language() }}"
    with app.test_request_context("/?lang=fr"):
        assert render_template_string(template) == "Vente suivante|12,50\u00a0€|fr"
        with force_locale("en"):
            assert str(get_locale()) == "en"
            assert render_template_string(template) == "Next sale|€12.50|en"
            assert i18n.translations().ugettext("Next sale") == babel_gettext("Next sale")
        assert render_template_string(template) == "Vente suivante|12,50\u00a0€|fr"


def test_force_locale_before_the_language_was_chosen(app):
    """`force_locale` at the start of a request puts back the None it found: the request's own
    language is then chosen as usual, not the default."""
    with app.test_request_context("/?lang=en"):
        with force_locale("fr"):
            assert i18n.current_language() == "fr"
        assert i18n.current_language() == "en"
        assert render_template_string("{{ _('Next sale') }}") == "Next sale"


def test_plural_strings_in_templates(app):
    template = "{% trans count=n %}{{ count }} sale{% pluralize %}{{ count }} sales{% endtrans %}"
    with app.test_request_context("/?lang=en"):
        assert render_template_string(template, n=1) == "1 sale"
        assert render_template_string(template, n=2) == "2 sales"


def test_outside_a_request_the_language_is_the_default(app):
    assert i18n.current_language() == "fr"
