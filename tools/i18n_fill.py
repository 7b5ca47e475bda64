"""Fill French translations from JSON on standard input: {"msgid": "msgstr", ...}.

A plural entry takes a list: {"%(num)d item": ["%(num)d article", "%(num)d articles"]}.
Run `make i18n-update` first so that the msgids exist. Prints the msgids it could not find.
Usage: .venv/bin/python tools/i18n_fill.py < translations.json
"""

from __future__ import annotations

import fcntl
import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

PO = Path(__file__).resolve().parent.parent / "translations" / "fr" / "LC_MESSAGES" / "messages.po"


def main() -> int:
    wanted = json.load(sys.stdin)
    with open("/tmp/patias-i18n.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with open(PO, "rb") as handle:
            catalog = read_po(handle, locale="fr")
        missing = []
        for msgid, msgstr in wanted.items():
            key = msgid
            message = catalog.get(key)
            if message is None:
                message = next(
                    (m for m in catalog if isinstance(m.id, tuple) and m.id[0] == msgid), None
                )
            if message is None:
                missing.append(msgid)
                continue
            message.string = tuple(msgstr) if isinstance(msgstr, list) else msgstr
            message.flags.discard("fuzzy")
        with open(PO, "wb") as handle:
            write_po(
                handle, catalog, width=0, no_location=True, sort_output=True, ignore_obsolete=True
            )
    for msgid in missing:
        print(f"not in the catalogue: {msgid!r}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
