"""URLs for every rule of the URL map: the access table and the second-factor check walk them all."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

# Values for the arguments of rules; an integer argument gets an id that exists nowhere.
SAMPLE_ARGUMENTS = {
    "filename": "css/main.css",
    "token": "not-a-real-token",
    "slug": "not-a-real-slug",
    "period": "2026-01",
}
MISSING_ID = 987654


def sample_url(app, rule) -> str:
    """A URL of `rule`, its arguments filled with the sample values."""
    values, unknown = {}, []
    for name in rule.arguments:
        if isinstance(rule._converters.get(name), IntegerConverter):
            values[name] = MISSING_ID
        elif name in SAMPLE_ARGUMENTS:
            values[name] = SAMPLE_ARGUMENTS[name]
        else:
            unknown.append(name)
    assert not unknown, f"{rule.rule}: add a sample value for {unknown} to SAMPLE_ARGUMENTS"
    return app.url_map.bind("localhost").build(
        rule.endpoint, values, method=next(iter(rule.methods - {"HEAD", "OPTIONS"}))
    )
