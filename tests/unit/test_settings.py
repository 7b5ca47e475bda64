"""The association's settings: the data file's defaults overridden by the `setting` table, read
back with the types they were stored with on both engines (`association()` reads them by hand)."""

from __future__ import annotations

import pytest
from flask import g

from app.core.settings import association, load_data, set_setting

VALUES = [
    ("an_int", 7500),
    ("a_float", 1.5),
    ("digits_as_text", "7500"),
    ("text", "Boën-sur-Lignon"),
    ("json_like_text", '{"not": "an object"}'),
    ("yes", True),
    ("no", False),
    ("nothing", None),
    ("a_list", [1, "deux", {"trois": 3}]),
    ("an_object", {"rate": 0.5, "months": [1, 2], "label": "été"}),
]


@pytest.mark.parametrize("key, value", VALUES, ids=[key for key, _ in VALUES])
def test_a_setting_comes_back_as_it_was_stored(app, key, value):
    set_setting(key, value)
    g.pop("association", None)
    read = association()[key]
    assert read == value and type(read) is type(value)


def test_settings_override_the_data_file_and_are_cached_per_request(app):
    default = load_data("association")["allocation_cents"]
    assert association()["allocation_cents"] == default
    set_setting("allocation_cents", default + 1)  # clears the request's copy
    assert association()["allocation_cents"] == default + 1
    assert association() is association()
