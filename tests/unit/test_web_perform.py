"""The one form/action path: commit on success, roll back a plain refusal, keep what a counted
attempt wrote, and show the error in place with the status it carries."""

import importlib
import pkgutil

import pytest
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_wtf import FlaskForm
from wtforms import StringField

import app as app_package
from app.core.errors import DomainError
from app.core.ratelimit import RateLimitHit
from app.core.web import perform, submit


class Refused(DomainError):
    message = _l("This operation is not possible.")


class Counted(DomainError):
    keeps_side_effects = True
    status = 429


class Taken(DomainError):
    status = 409


class NameForm(FlaskForm):
    class Meta:
        csrf = False

    name = StringField()
    email = StringField()


def _write(key: str = "k") -> RateLimitHit:
    from app.core.extensions import db

    row = RateLimitHit(scope="test", key=key, window=1, count=1)
    db.session.add(row)
    db.session.flush()
    return row


def _raise(error: DomainError):
    def operation():
        raise error

    return operation


def _stored(db) -> list[str]:
    db.session.rollback()  # what another transaction would see
    return list(db.session.scalars(db.select(RateLimitHit.key).where(RateLimitHit.scope == "test")))


def test_success_is_committed_and_returns_the_value(db):
    result = perform(lambda: _write("done").key)
    assert result.ok and result.value == "done" and result.status == 200
    assert result.error is None and result.message is None
    assert _stored(db) == ["done"]


def test_a_plain_domain_error_rolls_back_what_the_operation_wrote(db):
    def operation():
        _write("half")
        raise Refused()

    result = perform(operation)
    assert not result.ok and isinstance(result.error, Refused)
    assert result.status == 422 and result.message == str(Refused.message)
    assert _stored(db) == []


def test_an_error_that_keeps_its_side_effects_is_committed(db):
    def operation():
        _write("counted")
        raise Counted()

    result = perform(operation)
    assert isinstance(result.error, Counted) and result.status == 429
    assert _stored(db) == ["counted"]


def test_a_view_may_keep_the_work_done_before_a_refusal(db):
    def operation():
        _write("kept")
        raise Taken()

    result = perform(operation, keep=(Taken,))
    assert result.status == 409
    assert _stored(db) == ["kept"]


def test_an_unexpected_exception_propagates(db):
    def operation():
        _write("broken")
        raise ValueError("bug")

    with pytest.raises(ValueError, match="bug"):
        perform(operation)


def test_a_form_not_sent_runs_nothing(app):
    calls = []
    with app.test_request_context(method="GET"):
        result = submit(NameForm(), lambda: calls.append(1))
    assert calls == [] and not result.submitted and not result.ok and result.status == 200


def test_an_invalid_form_runs_nothing_and_answers_422(app):
    class Required(NameForm):
        def validate_name(self, field):
            from wtforms.validators import ValidationError

            raise ValidationError("no")

    calls = []
    with app.test_request_context(method="POST", data={"name": "x"}):
        result = submit(Required(), lambda: calls.append(1))
    assert calls == [] and result.submitted and not result.valid and result.status == 422


def test_the_error_lands_on_the_field_it_names(db, app):
    with app.test_request_context(method="POST", data={"name": "x"}):
        form = NameForm()
        result = submit(form, _raise(Taken("Taken.", field="email")), "name")
        assert result.placed and result.message is None and result.status == 409
        assert form.email.errors == ["Taken."] and form.name.errors == []


def test_the_error_lands_on_the_view_s_field_or_the_one_for_its_class(db, app):
    with app.test_request_context(method="POST", data={"name": "x"}):
        form, other = NameForm(), NameForm()
        submit(form, _raise(Refused("Refused.")), "name")
        submit(other, _raise(Taken("Taken.")), {Refused: "name", Taken: "email"})
        assert form.name.errors == ["Refused."] and form.email.errors == []
        assert other.name.errors == [] and other.email.errors == ["Taken."]


def test_an_error_for_no_field_stays_form_level(db, app):
    with app.test_request_context(method="POST", data={"name": "x"}):
        form = NameForm()
        result = submit(form, _raise(Taken("Taken.")), {Refused: "name"})
        assert not result.placed and result.message == "Taken." and result.status == 409
        assert form.name.errors == [] and form.email.errors == []


def _domain_errors() -> set[type[DomainError]]:
    for module in pkgutil.walk_packages(app_package.__path__, "app."):
        if module.name.endswith(".errors"):
            importlib.import_module(module.name)
    found, todo = set(), [DomainError]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub.__module__.startswith("app.") and sub not in found:
                found.add(sub)
                todo.append(sub)
    return found


def test_every_domain_error_has_its_own_default_message_and_a_status():
    errors = _domain_errors()
    assert len(errors) > 40
    for error in errors:
        assert "message" in vars(error), error
        assert isinstance(error.message, LazyString), error
        assert error.status in (400, 401, 403, 404, 409, 422, 429), error
