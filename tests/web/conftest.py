"""Fixtures of the web tests."""

from __future__ import annotations

import pytest

from tests.support.factories import make_admin


@pytest.fixture
def admin(db, auth):
    """An admin signed in with the second factor verified (the pages in French, the default).
    A module whose pages are read in English overrides it: `admin(admin, client)` setting the
    `lang` cookie."""
    user = make_admin()
    db.session.commit()
    response = auth.login_admin(user.email)
    assert response.status_code == 302, response.get_data(as_text=True)
    return user
