"""Public content: FAQ entries, editable pages, the conventioned merchants, and the small text
format the admin writes them in.

Texts are plain text: a blank line starts a new paragraph, lines starting with "- " make a list,
a paragraph starting with "## " is a heading.
They may name the association's rules instead of copying them, so that changing the data changes
every page: {allocation}, {min_contribution}, {contribution_rule}, {rollover}, {contact_email}, {contact_phone},
{association}, {communes_count}.
"""

from __future__ import annotations

from dataclasses import dataclass

from babel.dates import format_time as babel_format_time
from babel.dates import get_day_names
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from app.content.models import FaqEntry, Page
from app.core.extensions import db
from app.core.i18n import fold, money
from app.core.settings import association, load_data, scheduled_allocation
from app.members.models import Commune
from app.merchants.models import MarketStall, Merchant


@dataclass(frozen=True)
class Block:
    """A paragraph, a heading (`heading` set) or a bulleted list (`items` set)."""

    text: str = ""
    items: tuple[str, ...] = ()
    heading: str = ""


def rollover_text(rules: dict | None = None) -> str:
    """What happens to unspent allocation, in the reader's language, from the association's data."""
    rules = rules or association()
    allocation = scheduled_allocation(rules)
    rollover = rules.get("rollover") or {}
    rule = rollover.get("rule") if isinstance(rollover, dict) else rollover
    if rule == "cap":
        months = int(rollover.get("cap_months") or 2)
        return _(
            "Unspent allocation carries over to the next month, but after the monthly credit your "
            "balance cannot go above %(cap)s (%(months)d months of allocation): anything above that "
            "returns to the common fund.",
            cap=money(allocation * months),
            months=months,
        )
    if rule in ("expire", "expires", "month_end", "expire_month_end"):
        return _(
            "Unspent allocation returns to the common fund at the end of each month: it does not carry over."
        )
    if rule in ("none", "no_cap", "keep", "carry", "carry_over"):
        return _("Unspent allocation carries over from month to month, without limit.")
    return _("The association decides what happens to unspent allocation: ask a coordinator.")


def contribution_rule(rules: dict | None = None) -> str:
    """The minimum monthly contribution, as a sentence, from the association's data."""
    minimum = int((rules or association()).get("min_contribution_cents") or 0)
    if minimum > 0:
        return _("The minimum is %(amount)s a month.", amount=money(minimum))
    return _("Any amount is possible, even %(zero)s.", zero=money(0))


def placeholders() -> dict[str, str]:
    from app.members.communes import eligible_communes

    rules = association()
    return {
        "{allocation}": money(scheduled_allocation(rules)),
        "{min_contribution}": money(int(rules.get("min_contribution_cents") or 0)),
        "{rollover}": rollover_text(rules),
        "{contribution_rule}": contribution_rule(rules),
        "{contact_email}": rules.get("contact_email", ""),
        "{contact_phone}": rules.get("contact_phone", "").replace(" ", "\u00a0"),
        "{association}": rules.get("name", ""),
        "{communes_count}": str(len(eligible_communes())),
    }


def fill(text: str, values: dict[str, str] | None = None) -> str:
    """Replace the known {placeholders}; anything else in braces is left as written."""
    values = placeholders() if values is None else values
    for key, value in values.items():
        if key in text:
            text = text.replace(key, value)
    return text


def blocks(text: str, values: dict[str, str] | None = None) -> list[Block]:
    """Plain text -> paragraphs, headings and lists (the template escapes every piece)."""
    result = []
    for chunk in fill(text or "", values).replace("\r\n", "\n").split("\n\n"):
        lines = [line.strip() for line in chunk.strip().split("\n") if line.strip()]
        if not lines:
            continue
        if lines[0].startswith("## "):
            result.append(Block(heading=lines[0][3:].strip()))
            lines = lines[1:]
            if not lines:
                continue
        if all(line.startswith("- ") for line in lines):
            result.append(Block(items=tuple(line[2:].strip() for line in lines)))
        else:
            result.append(Block(text=" ".join(lines)))
    return result


def faq_entries() -> list[FaqEntry]:
    return list(
        db.session.scalars(
            db.select(FaqEntry)
            .where(FaqEntry.published.is_(True))
            .order_by(FaqEntry.position, FaqEntry.id)
        )
    )


def page(slug: str) -> Page | None:
    """The page from the database, else from `app/data/pages.json` (the privacy notice must be
    readable even before the content is loaded), else None."""
    found = db.session.scalar(db.select(Page).where(Page.slug == slug))
    if found is None:
        row = next((row for row in load_data("pages") if row["slug"] == slug), None)
        found = Page(**row) if row else None
    return found


def conventioned_merchants() -> list[tuple[Commune, list[Merchant]]]:
    """Active, conventioned merchants grouped by commune (communes and names in alphabetical order)."""
    merchants = db.session.scalars(
        db.select(Merchant)
        .where(Merchant.status == "active", Merchant.conventioned_since.is_not(None))
        .options(
            selectinload(Merchant.categories),
            selectinload(Merchant.stalls).selectinload(MarketStall.market),
            selectinload(Merchant.commune),
        )
    ).all()
    groups: dict[int, tuple[Commune, list[Merchant]]] = {}
    for merchant in merchants:
        groups.setdefault(merchant.commune_id, (merchant.commune, []))[1].append(merchant)
    ordered = sorted(groups.values(), key=lambda group: fold(group[0].name))
    return [(commune, sorted(shops, key=lambda m: fold(m.name))) for commune, shops in ordered]


def weekday_name(weekday: int) -> str:
    """0 -> 'lundi' / 'Monday', in the reader's language."""
    return get_day_names("wide", locale=get_locale())[weekday]


def stall_hours(stall: MarketStall) -> tuple[str, str]:
    locale = get_locale()
    return babel_format_time(stall.opens, "short", locale=locale), babel_format_time(
        stall.closes, "short", locale=locale
    )
