"""The back office's public content: FAQ entries (order, publish), the static pages, the
answers to "was this page useful?", and the "stay informed" subscribers (list, export, remove).

Everything the public reads exists in both languages: a FAQ entry or a page is refused unless
its French and English texts are both there. Texts are the plain format of
`app.content.public` (blank line = paragraph, "- " = list, "## " = heading), escaped when shown.
Every change is written to the audit log (`content.changed`; removing a subscriber:
`subscriber.deleted`, without the address, which is what the person asked to erase).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select

from app.audit import log as audit
from app.content.models import FaqEntry, FeedbackVote, Page, Subscriber
from app.core import ordering
from app.core.calendar import PARIS
from app.core.errors import InvalidContent
from app.core.extensions import db
from app.core.i18n import fold
from app.core.pagination import Pagination, contains_pattern, paginate
from app.core.settings import load_data
from app.core.spreadsheet import french_csv
from app.members.applications import clean_line, strip_controls

QUESTION_MAX = 300
ANSWER_MAX = 10_000
TITLE_MAX = 200
BODY_MAX = 50_000
SEARCH_MAX = 254  # the longest e-mail address
SUBSCRIBERS_PER_PAGE = 50


def clean_text(text: str | None, limit: int) -> str:
    """Controls removed, line breaks kept (they make paragraphs), trimmed, cut to `limit`."""
    return strip_controls(text, keep_newlines=True).strip()[:limit]


def slugify(text: str, limit: int = 60) -> str:
    return fold(text).replace(" ", "-")[:limit].strip("-") or "page"


def unique_slug(model, base: str) -> str:
    taken = set(db.session.scalars(select(model.slug).where(model.slug.like(f"{base}%"))))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def _both(fr: str, en: str, missing_fr, missing_en) -> None:
    if not fr:
        raise InvalidContent(missing_fr, field="fr")
    if not en:
        raise InvalidContent(missing_en, field="en")


# --- FAQ ------------------------------------------------------------------------------------


@dataclass
class FaqData:
    question_fr: str
    question_en: str
    answer_fr: str
    answer_en: str
    published: bool = True


def faq_entries() -> list[FaqEntry]:
    """Every entry, published or not, in the public order."""
    return list(db.session.scalars(select(FaqEntry).order_by(FaqEntry.position, FaqEntry.id)))


def _clean_faq(data: FaqData) -> FaqData:
    cleaned = FaqData(
        question_fr=clean_line(data.question_fr)[:QUESTION_MAX],
        question_en=clean_line(data.question_en)[:QUESTION_MAX],
        answer_fr=clean_text(data.answer_fr, ANSWER_MAX),
        answer_en=clean_text(data.answer_en, ANSWER_MAX),
        published=bool(data.published),
    )
    _both(
        cleaned.question_fr,
        cleaned.question_en,
        _l("Write the question in French."),
        _l("Write the question in English."),
    )
    _both(
        cleaned.answer_fr,
        cleaned.answer_en,
        _l("Write the answer in French."),
        _l("Write the answer in English."),
    )
    return cleaned


def create_faq(data: FaqData, actor_id: int | None) -> FaqEntry:
    """A new entry, placed last."""
    data = _clean_faq(data)
    last = db.session.scalar(select(func.max(FaqEntry.position)))
    entry = FaqEntry(
        slug=unique_slug(FaqEntry, slugify(data.question_fr)),
        position=(last or 0) + 1,
        **vars(data),
    )
    db.session.add(entry)
    db.session.flush()
    _log(actor_id, "faq", entry.id, "created", entry.slug)
    return entry


def update_faq(entry: FaqEntry, data: FaqData, actor_id: int | None) -> None:
    data = _clean_faq(data)
    for name, value in vars(data).items():
        setattr(entry, name, value)
    db.session.flush()
    _log(actor_id, "faq", entry.id, "updated", entry.slug)


def delete_faq(entry: FaqEntry, actor_id: int | None) -> None:
    entry_id, slug = entry.id, entry.slug
    db.session.delete(entry)
    db.session.flush()
    _log(actor_id, "faq", entry_id, "deleted", slug)


def set_faq_published(entry: FaqEntry, published: bool, actor_id: int | None) -> None:
    if entry.published == published:
        return
    entry.published = published
    db.session.flush()
    _log(actor_id, "faq", entry.id, "published" if published else "unpublished", entry.slug)


def move_faq(entry: FaqEntry, direction: str, actor_id: int | None) -> bool:
    """Move the entry one place `up` or `down`; False when it is already first or last.

    Positions are renumbered 1..n first, so that equal or missing positions (data loaded by
    hand) still give a well-defined order.
    """
    if direction not in ("up", "down"):
        raise InvalidContent(_l("Move an entry up or down."))
    if not ordering.move(faq_entries(), entry, direction, start=1):
        return False
    db.session.flush()
    _log(actor_id, "faq", entry.id, f"moved {direction}", entry.slug)
    return True


# --- static pages ---------------------------------------------------------------------------


@dataclass
class PageData:
    title_fr: str
    title_en: str
    body_fr: str
    body_en: str


def pages() -> list[Page]:
    """The editable pages: those in the database, and those still only in `app/data/pages.json`
    (not saved yet: saving the form stores them)."""
    stored = {page.slug: page for page in db.session.scalars(select(Page).order_by(Page.slug))}
    for row in load_data("pages"):
        if row["slug"] not in stored:
            stored[row["slug"]] = Page(**row)
    return sorted(stored.values(), key=lambda page: page.slug)


def page(slug: str) -> Page | None:
    return next((page for page in pages() if page.slug == slug), None)


def update_page(slug: str, data: PageData, actor_id: int | None) -> Page:
    """Save a page in both languages (stored on first save if it came from the data file)."""
    found = page(slug)
    if found is None:
        raise InvalidContent(_l("This page does not exist."))
    cleaned = PageData(
        title_fr=clean_line(data.title_fr)[:TITLE_MAX],
        title_en=clean_line(data.title_en)[:TITLE_MAX],
        body_fr=clean_text(data.body_fr, BODY_MAX),
        body_en=clean_text(data.body_en, BODY_MAX),
    )
    _both(
        cleaned.title_fr,
        cleaned.title_en,
        _l("Write the title in French."),
        _l("Write the title in English."),
    )
    _both(
        cleaned.body_fr,
        cleaned.body_en,
        _l("Write the text in French."),
        _l("Write the text in English."),
    )
    if found.id is None:
        db.session.add(found)
    for name, value in vars(cleaned).items():
        setattr(found, name, value)
    db.session.flush()
    _log(actor_id, "page", found.id, "updated", found.slug)
    return found


# --- feedback -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedbackRow:
    page: str
    useful: int
    not_useful: int

    @property
    def total(self) -> int:
        return self.useful + self.not_useful

    @property
    def useful_percent(self) -> int | None:
        return round(100 * self.useful / self.total) if self.total else None


def feedback_table() -> list[FeedbackRow]:
    """Yes and no answers per page (one query), the most answered pages first."""
    useful = func.sum(case((FeedbackVote.useful.is_(True), 1), else_=0))
    rows = db.session.execute(
        select(FeedbackVote.page, useful, func.count()).group_by(FeedbackVote.page)
    ).all()
    table = [
        FeedbackRow(page=page, useful=int(yes or 0), not_useful=int(total) - int(yes or 0))
        for page, yes, total in rows
    ]
    return sorted(table, key=lambda row: (-row.total, row.page))


# --- "stay informed" subscribers ------------------------------------------------------------


def _subscribers_matching(text: str | None):
    """Subscribers whose address contains `text` (any case; `%` and `_` are plain characters).
    The text is cleaned and cut to `SEARCH_MAX`; empty or blank means everyone."""
    query = select(Subscriber)
    text = clean_line(text)[:SEARCH_MAX]
    if text:
        query = query.where(Subscriber.email.ilike(contains_pattern(text), escape="\\"))
    return query


NEWEST_FIRST = (Subscriber.created_at.desc(), Subscriber.id.desc())


def subscribers(
    text: str | None = "", page: int = 1, per_page: int = SUBSCRIBERS_PER_PAGE
) -> Pagination:
    """One page of the subscribers (newest first) whose address contains `text`; a page number
    out of range gives the nearest page."""
    return paginate(_subscribers_matching(text), NEWEST_FIRST, page, per_page)


def subscriber_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Subscriber))


SUBSCRIBER_CSV_COLUMNS = (_l("E-mail"), _l("Commune"), _l("Language"), _l("Subscribed on"))


def subscribers_csv() -> bytes:
    """Every subscriber, newest first, for a spreadsheet: UTF-8 with a byte-order mark and `;`
    separators (what French Excel and LibreOffice open right with a double click), the time of
    subscription in Europe/Paris. Cells typed by visitors are neutralised (never a formula)."""
    rows = (
        (
            subscriber.email,
            subscriber.commune,
            subscriber.language,
            subscriber.created_at.astimezone(PARIS).strftime("%d/%m/%Y %H:%M"),
        )
        for subscriber in db.session.scalars(select(Subscriber).order_by(*NEWEST_FIRST))
    )
    return french_csv(SUBSCRIBER_CSV_COLUMNS, rows)


def delete_subscriber(subscriber: Subscriber, actor_id: int | None) -> None:
    """Remove the address for good (a person asked to be forgotten, or it bounces). The audit log
    keeps who removed which row and when, never the address itself."""
    subscriber_id = subscriber.id
    db.session.delete(subscriber)
    db.session.flush()
    audit.record(actor_id, "subscriber.deleted", "subscriber", subscriber_id)


def _log(actor_id: int | None, kind: str, target_id: int | None, what: str, slug: str) -> None:
    audit.record(actor_id, "content.changed", kind, target_id, {"change": what, "slug": slug})
