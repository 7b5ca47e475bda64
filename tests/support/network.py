"""What a page load costs on the wire, seen through Chromium's DevTools protocol: the network
shaped like a slow 3G link, each request's bytes and whether it came from the browser's cache.

Used by bench/slow3g.py (figures) and tests/e2e/test_static_cache.py (no static file downloaded
again on a reload). Playwright's request routing turns the HTTP cache off, so the pages measured
here come from a context without `context.route` (tests/support/browser.py's `new_context` has
one): `plain_context`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

# The slow 3G: 400 ms round trip, 400 kbit/s each way.
SLOW_3G = {"latency": 400, "downloadThroughput": 400_000 / 8, "uploadThroughput": 400_000 / 8}


def plain_context(browser, viewport=(1280, 800), locale="fr-FR"):
    """A context with the HTTP cache on (no request routing)."""
    return browser.new_context(
        viewport={"width": viewport[0], "height": viewport[1]}, locale=locale
    )


def shape(cdp, conditions: dict | None = SLOW_3G) -> None:
    """Shape the page's network (None: unshaped)."""
    if conditions is None:
        cdp.send(
            "Network.emulateNetworkConditions",
            {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        )
    else:
        cdp.send("Network.emulateNetworkConditions", {"offline": False, **conditions})


def disable_cache(cdp, disabled: bool) -> None:
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": disabled})


@dataclass
class Request:
    url: str
    status: int | None = None
    from_cache: bool = False  # served from the memory or disk cache: no byte on the wire
    encoded_bytes: int = 0  # headers and body as they crossed the wire
    content_encoding: str = ""

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def is_static(self) -> bool:
        return self.path.startswith("/static/")

    @property
    def from_network(self) -> bool:
        return not self.from_cache


@dataclass
class NetworkLog:
    """Every request of the page since the last `clear()`, from the DevTools protocol's events."""

    cdp: object
    requests: dict[str, Request] = field(default_factory=dict)

    def __post_init__(self):
        self.cdp.send("Network.enable")
        self.cdp.on("Network.requestWillBeSent", self._sent)
        self.cdp.on("Network.requestServedFromCache", self._cached)
        self.cdp.on("Network.responseReceived", self._response)
        self.cdp.on("Network.loadingFinished", self._finished)

    def clear(self) -> None:
        self.requests.clear()

    def _request(self, event) -> Request | None:
        return self.requests.get(event["requestId"])

    def _sent(self, event) -> None:
        url = event["request"]["url"]
        if url.startswith(("data:", "blob:")):
            return
        self.requests[event["requestId"]] = Request(url)

    def _cached(self, event) -> None:
        if request := self._request(event):
            request.from_cache = True

    def _response(self, event) -> None:
        if request := self._request(event):
            response = event["response"]
            request.status = response.get("status")
            if response.get("fromDiskCache") or response.get("fromPrefetchCache"):
                request.from_cache = True
            headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
            request.content_encoding = headers.get("content-encoding", "")

    def _finished(self, event) -> None:
        if request := self._request(event):
            request.encoded_bytes = int(event.get("encodedDataLength") or 0)

    # --- what was seen --------------------------------------------------------------------

    def static(self) -> list[Request]:
        return [r for r in self.requests.values() if r.is_static]

    def static_from_network(self) -> list[Request]:
        """Static requests that reached the server (a 304 did too, though it carried no body)."""
        return [r for r in self.static() if r.from_network]

    def bytes_on_the_wire(self) -> int:
        return sum(r.encoded_bytes for r in self.requests.values() if r.from_network)


def load_timing(page) -> dict:
    """The navigation's timing, in ms from its start: request sent, first byte, response end, DOM
    ready, load event end."""
    return page.evaluate(
        """() => {
        const n = performance.getEntriesByType('navigation')[0];
        return {request_start_ms: Math.round(n.requestStart),
                first_byte_ms: Math.round(n.responseStart),
                response_end_ms: Math.round(n.responseEnd),
                dom_content_loaded_ms: Math.round(n.domContentLoadedEventEnd),
                load_ms: Math.round(n.loadEventEnd), type: n.type};
        }"""
    )
