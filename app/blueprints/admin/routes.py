"""Admin views live in one module per area; importing them registers their routes on `bp`."""

import importlib
import pkgutil
from pathlib import Path

for _module in pkgutil.iter_modules([str(Path(__file__).parent)]):
    if _module.name.startswith("views_"):
        importlib.import_module(f"{__package__}.{_module.name}")
