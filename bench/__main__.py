"""`python -m bench [NAME ...]`: run the `main()` of every module of bench/ (or of those named)
and print their figures as one JSON document. A module that fails is reported and makes the
exit status 1; the others still run."""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
import traceback
from pathlib import Path


def modules() -> list[str]:
    here = Path(__file__).resolve().parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_"))


def run(names: list[str]) -> tuple[dict, bool]:
    figures: dict = {}
    failed = False
    for name in names:
        print(f"== bench.{name}", file=sys.stderr, flush=True)
        try:
            module = importlib.import_module(f"bench.{name}")
            figures[name] = module.main([])
        except Exception as exc:  # noqa: BLE001 - one broken bench must not hide the others
            traceback.print_exc()
            figures[name] = {"error": f"{type(exc).__name__}: {exc}"}
            failed = True
    return figures, failed


def main(argv: list[str]) -> int:
    available = modules()
    unknown = [name for name in argv if name not in available]
    if unknown:
        print(
            f"unknown bench module(s): {', '.join(unknown)}; available: {', '.join(available)}",
            file=sys.stderr,
        )
        return 2
    figures, failed = run(argv or available)
    print(json.dumps(figures, indent=2, default=str))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
