"""Lists a coordinator orders by hand (FAQ entries, categories, pickup points): one place up or
down, positions renumbered so that equal or missing ones (data loaded by hand) still give a
well-defined order."""

from __future__ import annotations

from collections.abc import Sequence

DIRECTIONS = ("up", "down")


def move(ordered: Sequence, item, direction: str, start: int = 0) -> bool:
    """Move `item` one place `up` or `down` among `ordered` (each with a `position`), renumbering
    them `start`, `start + 1`, ...; False (nothing moved) at either end or for another
    direction. The caller flushes and audits."""
    items = list(ordered)
    index = items.index(item)
    other = index - 1 if direction == "up" else index + 1
    if direction not in DIRECTIONS or not 0 <= other < len(items):
        return False
    items[index], items[other] = items[other], items[index]
    for position, each in enumerate(items, start=start):
        each.position = position
    return True
