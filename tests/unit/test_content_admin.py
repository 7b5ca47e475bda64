"""FAQ, pages and feedback in the back office (services)."""

from __future__ import annotations

import pytest

from app.audit.models import AuditEntry
from app.content import admin as content_admin
from app.content import feedback
from app.content.admin import FaqData, PageData
from app.content.models import FaqEntry, Page
from app.core.errors import InvalidContent
from app.core.extensions import db


def _faq(n: int, **overrides) -> FaqEntry:
    values = dict(
        question_fr=f"Question {n} ?",
        question_en=f"Question {n}?",
        answer_fr="Réponse.",
        answer_en="Answer.",
    )
    values.update(overrides)
    return content_admin.create_faq(FaqData(**values), actor_id=None)


def test_new_entries_go_last_with_unique_slugs(app):
    first, second = _faq(1, question_fr="Même question ?"), _faq(2, question_fr="Même question ?")
    assert second.position > first.position
    assert (first.slug, second.slug) == ("meme-question", "meme-question-2")


@pytest.mark.parametrize("field", ["question_fr", "question_en", "answer_fr", "answer_en"])
def test_both_languages_are_required(app, field):
    with pytest.raises(InvalidContent) as refused:
        _faq(1, **{field: " \x00 "})
    assert refused.value.details["field"] == field[-2:]


def test_move_renumbers_and_stops_at_the_ends(app):
    entries = [_faq(n) for n in range(3)]
    for entry in entries:
        entry.position = 0  # positions loaded by hand may be equal
    db.session.flush()
    assert content_admin.move_faq(entries[0], "up", actor_id=None) is False
    assert content_admin.move_faq(entries[2], "up", actor_id=None) is True
    assert [e.id for e in content_admin.faq_entries()] == [
        entries[0].id,
        entries[2].id,
        entries[1].id,
    ]
    assert content_admin.move_faq(entries[1], "down", actor_id=None) is False
    with pytest.raises(InvalidContent):
        content_admin.move_faq(entries[1], "left", actor_id=None)


def test_pages_from_the_data_file_are_stored_on_first_save(app):
    assert db.session.scalar(db.select(Page).where(Page.slug == "confidentialite")) is None
    assert "confidentialite" in [page.slug for page in content_admin.pages()]
    content_admin.update_page(
        "confidentialite", PageData("Données", "Data", "Texte.", "Text."), actor_id=None
    )
    stored = db.session.scalar(db.select(Page).where(Page.slug == "confidentialite"))
    assert (stored.title_fr, stored.body_en) == ("Données", "Text.")
    with pytest.raises(InvalidContent):
        content_admin.update_page(
            "confidentialite", PageData("Données", "", "Texte.", "Text."), actor_id=None
        )
    with pytest.raises(InvalidContent):
        content_admin.update_page("inconnue", PageData("a", "b", "c", "d"), actor_id=None)
    assert db.session.scalar(db.select(db.func.count()).select_from(AuditEntry)) == 1


def test_feedback_table_counts_yes_and_no_per_page(app):
    for visitor, page, useful in [
        ("a", "faq", True),
        ("b", "faq", False),
        ("c", "faq", True),
        ("a", "communes", False),
    ]:
        feedback.vote(page, visitor, useful)
    rows = {row.page: row for row in content_admin.feedback_table()}
    assert (rows["faq"].useful, rows["faq"].not_useful, rows["faq"].useful_percent) == (2, 1, 67)
    assert (rows["communes"].useful, rows["communes"].not_useful) == (0, 1)
    assert [row.page for row in content_admin.feedback_table()] == ["faq", "communes"]
