"""Languages, formatting and the parsing of amounts typed by people.

French is the default. `?lang=en` or `?lang=fr` switches and is remembered in a cookie; a first
visit follows `Accept-Language`.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from urllib.parse import urlencode

from babel.numbers import format_currency as babel_format_currency
from babel.numbers import get_decimal_symbol
from flask import current_app, g, has_request_context, request
from flask_babel import format_currency, format_date, format_datetime, format_time, get_locale
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from markupsafe import Markup, escape

from app.core.calendar import PARIS

LANG_COOKIE = "lang"
LANG_COOKIE_AGE = 365 * 24 * 3600
MAX_AMOUNT_CENTS = 100_000_00  # 100,000 €: anything above is a typo, not a payment


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        # CLI commands and services run outside a request: the association's default language.
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    asked = request.args.get("lang")
    if asked in languages:
        g.set_lang_cookie = asked
        return asked
    remembered = request.cookies.get(LANG_COOKIE)
    if remembered in languages:
        return remembered
    # By quality, on the primary tag: werkzeug's best_match would prefer an exact "en;q=0.8" to
    # "fr-CA", sending a Canadian or Belgian French speaker to the English site.
    for tag, _quality in request.accept_languages:
        primary = tag.split("-")[0].split("_")[0].lower()
        if primary in languages:
            return primary
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def remember_locale(response):
    lang = g.pop("set_lang_cookie", None)
    if lang:
        response.set_cookie(
            LANG_COOKIE,
            lang,
            max_age=LANG_COOKIE_AGE,
            httponly=True,
            samesite="Lax",
            secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
        )
    return response


def current_language() -> str:
    locale = _current_locale()
    if locale is None:
        return "fr"
    language = _LANGUAGES.get(locale)
    if language is None:
        language = _LANGUAGES[locale] = str(locale)
    return language


_LANGUAGES: dict = {}  # babel Locale -> its identifier ("fr"): str() of a Locale costs microseconds


def _current_locale():
    """Flask-Babel's locale of this request (`force_locale` included), read where Flask-Babel
    keeps it once chosen: `get_locale()` does the same through several context lookups, and
    a receipt asks for it a dozen times."""
    try:
        locale = g._flask_babel.babel_locale
    except (AttributeError, RuntimeError):  # not chosen yet, or no app context
        return get_locale()
    # None: not chosen yet either (`force_locale` puts back a None it found).
    return locale if locale is not None else get_locale()


_TRANSLATIONS: dict = {}  # language -> Flask-Babel's merged translations, as its own cache holds


def translations():
    """The translations of the current language, as `flask_babel.get_translations()` returns
    them (loaded once per language and process, as Flask-Babel's own cache does)."""
    language = current_language()
    found = _TRANSLATIONS.get(language)
    if found is None:
        from flask_babel import get_translations

        found = get_translations()
        if has_request_context():  # outside a request Flask-Babel gives an empty catalog
            _TRANSLATIONS[language] = found
    return found


def money(cents: int | None) -> str:
    """12,50 € in French (with a no-break space), €12.50 in English.

    Babel's output, rebuilt from the locale's separators learnt once (`_money_parts`): the
    register and the histories print many amounts, and Babel re-applies its pattern each time.
    Negative amounts, and locales whose pattern is not learnt, go through Babel itself.
    """
    if cents is None:
        return ""
    parts = _money_parts(current_language()) if cents >= 0 else None
    if parts is None:
        return format_currency(Decimal(cents) / 100, "EUR")
    return _rebuilt(parts, cents)


def euros_plain(cents: int, decimal: str = ",", group: str = "") -> str:
    """An amount as a file, a form field or a command writes it: no currency symbol, `decimal`
    before the cents, `group` between thousands (none by default): `-1234,50`."""
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(cents), 100)
    whole = f"{euros:,}".replace(",", group) if group else str(euros)
    return f"{sign}{whole}{decimal}{rest:02d}"


def _rebuilt(parts: tuple[str, str, str, str], cents: int) -> str:
    prefix, group, decimal, suffix = parts
    euros, rest = divmod(cents, 100)
    return prefix + f"{euros:,}".replace(",", group) + f"{decimal}{rest:02d}{suffix}"


_MONEY_PROBES = (0, 5, 99, 100, 99_999, 100_000, 123_456_789)


@cache
def _money_parts(language: str) -> tuple[str, str, str, str] | None:
    """(prefix, group separator, decimal separator, suffix) of Babel's euros in `language`, if
    rebuilding from them gives exactly Babel's output for a range of probes; else None."""
    sample = babel_format_currency(Decimal("1234567.89"), "EUR", locale=language)
    match = re.fullmatch(r"(\D*)1(?P<group>\D+)234(?P=group)567(\D+)89(\D*)", sample)
    if match is None:
        return None
    parts = match.groups()
    for cents in _MONEY_PROBES:
        if _rebuilt(parts, cents) != babel_format_currency(
            Decimal(cents) / 100, "EUR", locale=language
        ):
            return None
    return parts


def date_long(value: date | datetime) -> str:
    return (
        format_date(value, "full")
        if not isinstance(value, datetime)
        else format_datetime(value, "full")
    )


def day(value: date | datetime, fmt: str = "long") -> str:
    return format_date(value, fmt)


def hour(value: datetime) -> str:
    """The time of day, "14:05" in French, "2:05 PM" in English, in the association's time zone.

    Built by hand from the locale's short pattern when it is one `_hour_format` knows (checked
    against Babel at every hour); else, and for naive datetimes, through Flask-Babel."""
    build = _hour_format(current_language()) if value.tzinfo is not None else None
    if build is None:
        return format_time(value, "short")
    return build(value.astimezone(PARIS))


_HOUR_TOKENS = re.compile(r"HH|H|hh|h|mm|a|'[^']*'|[^A-Za-z']+")  # other letters: unknown


@cache
def _hour_format(language: str):
    """A function formatting a datetime like Babel's short time of `language`, or None."""
    from babel.dates import format_time as babel_format_time
    from babel.dates import get_period_names, get_time_format

    pattern = get_time_format("short", locale=language).pattern
    periods = get_period_names(locale=language)
    am, pm = periods.get("am"), periods.get("pm")
    parts = []
    for token in _HOUR_TOKENS.findall(pattern):
        if token == "HH":
            parts.append(lambda t: f"{t.hour:02d}")
        elif token == "H":
            parts.append(lambda t: str(t.hour))
        elif token == "hh":
            parts.append(lambda t: f"{(t.hour % 12) or 12:02d}")
        elif token == "h":
            parts.append(lambda t: str((t.hour % 12) or 12))
        elif token == "mm":
            parts.append(lambda t: f"{t.minute:02d}")
        elif token == "a":
            if not (am and pm):
                return None
            parts.append(lambda t: am if t.hour < 12 else pm)
        else:
            text = token[1:-1] if token.startswith("'") else token
            if "'" in text:
                return None
            parts.append(lambda _t, text=text: text)
    if "".join(_HOUR_TOKENS.findall(pattern)) != pattern:
        return None

    def build(moment: datetime) -> str:
        return "".join(part(moment) for part in parts)

    try:
        for hour_ in range(24):  # the same as Babel, or not used
            for minute in (0, 7, 59):
                probe = datetime(2026, 1, 5, hour_, minute, tzinfo=PARIS)
                if build(probe) != babel_format_time(probe, "short", locale=language):
                    return None
    except Exception:  # noqa: BLE001 - whatever Babel makes of it, the fast path is not used
        return None
    return build


def datetime_short(value: datetime) -> str:
    return format_datetime(value, "short")


def capfirst(text: str) -> str:
    """The first letter in capitals and nothing else: `| capitalize` also lowercases the rest,
    which gives "Wednesday, december 23" in English."""
    text = str(text)
    return text[:1].upper() + text[1:]


class AmountError(ValueError):
    """An amount typed by a person that is not one; `message` is translated, for the form."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


_AMOUNT = re.compile(r"^(\d{1,9})(?:[.,](\d{1,2}))?$")
_TOO_MANY_DIGITS = re.compile(r"^\d{10,}(?:[.,]\d{1,2})?$")


def amount_input(cents: int) -> str:
    """An amount as a form field shows it back, in the reader's way: 12,50 in French, 12.50 in
    English (no symbol, no grouping; `parse_amount` reads either)."""
    return euros_plain(cents, get_decimal_symbol(current_language()))


def parse_amount(
    text: str | None, *, allow_zero: bool = False, max_cents: int = MAX_AMOUNT_CENTS
) -> int:
    """Euros typed by a person -> cents. `12,50`, `12.50`, `12,5` and `12` are all 1250.

    Refuses (with a translated message) empty input, signs, letters, exponents, three decimals,
    zero (unless allowed) and amounts above `max_cents`.
    """
    cleaned = (text or "").strip().replace("\u00a0", "").replace(" ", "").removesuffix("€")
    if not cleaned:
        raise AmountError(_l("Enter an amount."))
    if cleaned.startswith("-"):
        raise AmountError(_l("The amount cannot be negative."))
    match = _AMOUNT.match(cleaned)
    if not match:
        if re.match(r"^\d+[.,]\d{3,}$", cleaned):
            raise AmountError(_l("Use at most two decimals, for example 12.50."))
        if _TOO_MANY_DIGITS.match(cleaned):  # a well-formed amount of 10 digits or more
            raise AmountError(
                _l("This amount is too large (at most %(max)s).", max=money(max_cents))
            )
        raise AmountError(_l("Enter an amount in euros, for example 12.50."))
    euros, decimals = match.group(1), (match.group(2) or "").ljust(2, "0")
    try:
        cents = int(Decimal(euros) * 100 + Decimal(decimals))
    except InvalidOperation as exc:  # pragma: no cover - the pattern already guarantees digits
        raise AmountError(_l("Enter an amount in euros, for example 12.50.")) from exc
    if cents == 0 and not allow_zero:
        raise AmountError(_l("The amount must be more than zero."))
    if cents > max_cents:
        raise AmountError(_l("This amount is too large (at most %(max)s).", max=money(max_cents)))
    return cents


def fold(text: str) -> str:
    """Lower case, no accents, no punctuation: for matching names typed by people."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    ascii_only = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    return re.sub(r"[^a-z0-9]+", " ", ascii_only).strip()


def url_with_lang(lang: str) -> str:
    """The current page in another language (the other query arguments kept)."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
    return f"{request.path}?{urlencode([*args, ('lang', lang)])}"


def has_endpoint(name: str) -> bool:
    return name in current_app.view_functions


def _escaped_html(self) -> Markup:
    """Flask-Babel's lazy strings declare themselves safe HTML (`__html__` returns the text as
    is), so a lazy message that quotes what a person typed would reach the page unescaped.
    Our messages hold no markup: escape them like any other string."""
    return escape(str(self))


def month_name(period) -> str:
    """`2027-01` as `janvier 2027` / `January 2027`; what is not a month is shown as it is."""
    from app.core.calendar import InvalidPeriod, Month

    try:
        return Month.parse(str(period)).label()
    except InvalidPeriod:
        return str(period)


def register_template_helpers(app) -> None:
    """The filters and globals of every template. Jinja's `_()` reads the current language's
    catalog through `translations()` rather than Flask-Babel's own callables (several context
    lookups per call: a receipt's three strings cost more than its query)."""
    LazyString.__html__ = _escaped_html
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
    )
    app.jinja_env.filters.update(
        money=money,
        day=day,
        hour=hour,
        datetime_short=datetime_short,
        date_long=date_long,
        capfirst=capfirst,
        month_name=month_name,
    )
    app.jinja_env.globals.update(
        current_language=current_language, url_with_lang=url_with_lang, has_endpoint=has_endpoint
    )
