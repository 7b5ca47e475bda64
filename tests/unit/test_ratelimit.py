import pytest

from app.core.errors import RateLimited
from app.core.ratelimit import hit


def test_allows_up_to_the_limit_then_refuses_with_retry_after(app):
    for _ in range(3):
        hit("test", "1.2.3.4", limit=3, window_seconds=600, now=1200.0)
    with pytest.raises(RateLimited) as caught:
        hit("test", "1.2.3.4", limit=3, window_seconds=600, now=1300.0)
    assert caught.value.retry_after == 501


def test_counts_keys_and_windows_apart(app):
    for _ in range(3):
        hit("test", "a", limit=3, window_seconds=600, now=0.0)
    hit("test", "b", limit=3, window_seconds=600, now=0.0)
    hit("test", "a", limit=3, window_seconds=600, now=600.0)
