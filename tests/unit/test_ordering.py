"""One place up or down in a list ordered by hand (app/core/ordering.py)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from app.core import ordering


def _items(*positions):
    return [SimpleNamespace(name=chr(97 + i), position=p) for i, p in enumerate(positions)]


@pytest.mark.parametrize(
    ("index", "direction", "moved", "order"),
    [
        (1, "up", True, "bac"),
        (1, "down", True, "acb"),
        (0, "up", False, "abc"),
        (2, "down", False, "abc"),
        (1, "sideways", False, "abc"),
    ],
)
def test_move_swaps_with_the_neighbour_and_renumbers(index, direction, moved, order):
    items = _items(5, 5, 9)  # equal and sparse positions, as data loaded by hand
    assert ordering.move(items, items[index], direction, start=1) is moved
    if moved:
        ranked = sorted(items, key=lambda item: item.position)
        assert "".join(item.name for item in ranked) == order
        assert [item.position for item in ranked] == [1, 2, 3]
    else:
        assert [item.position for item in items] == [5, 5, 9]  # untouched
