"""The layout's promises, read from the source: no import cycle in `app/`, blueprints that do not
import each other, dependencies that point from blueprints to domains to the core, and no module
that redefines what the core's kernel provides."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"
DOMAINS = (
    "audit",
    "content",
    "events",
    "ledger",
    "members",
    "merchants",
    "payouts",
    "register",
    "reports",
)


def module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in APP.rglob("*.py")}


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports_of(module: str) -> set[str]:
    """The app modules that `module` imports, at its top or inside its functions."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if _type_checking_only(node):
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in MODULES)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, `level - 1` steps up
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            for alias in node.names:
                if f"{base}.{alias.name}" in MODULES:
                    found.add(f"{base}.{alias.name}")
                elif base in MODULES:
                    found.add(base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    found.discard(module)
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_in_app():
    assert cycles(GRAPH) == []


def _layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "factory"
    if parts[1] == "blueprints":
        return f"blueprint:{parts[2]}" if len(parts) > 2 else "blueprints"
    return parts[1]


def test_no_blueprint_imports_another():
    crossing = [
        (module, target)
        for module, targets in GRAPH.items()
        for target in targets
        if _layer(module).startswith("blueprint:")
        and _layer(target).startswith("blueprint:")
        and _layer(module) != _layer(target)
    ]
    assert crossing == []


@pytest.mark.parametrize("layer", ["core", *DOMAINS])
def test_domains_and_the_core_never_import_a_blueprint_or_the_factory(layer):
    upward = [
        (module, target)
        for module, targets in GRAPH.items()
        if _layer(module) == layer
        for target in targets
        if _layer(target) in ("factory", "blueprints") or _layer(target).startswith("blueprint:")
    ]
    assert upward == []


def test_the_core_imports_no_domain():
    """The kernel is below every domain: config, database, i18n, time, spreadsheets, web."""
    upward = [
        (module, target)
        for module, targets in GRAPH.items()
        if _layer(module) == "core"
        for target in targets
        if _layer(target) in DOMAINS or _layer(target) == "demo"
    ]
    assert upward == []


def test_every_domain_is_a_package_with_its_errors_where_it_has_any():
    for domain in DOMAINS:
        assert (APP / domain / "__init__.py").is_file(), domain
    assert not (APP / "services").exists() and not (APP / "models").exists()


@pytest.mark.parametrize(
    ("pattern", "home"),
    [
        (r"^PARIS\s*=\s*ZoneInfo", "app/core/calendar.py"),
        (r"csv\.writer\(", "app/core/spreadsheet.py"),
        (r"^def today\(", "app/core/calendar.py"),
        (r"Content-Disposition", "app/core/spreadsheet.py"),
    ],
)
def test_the_kernel_is_not_written_twice(pattern, home):
    """Time zone, today, CSV writers and download headers live once, in the core."""
    places = sorted(
        str(path.relative_to(APP.parent))
        for path in APP.rglob("*.py")
        if re.search(pattern, path.read_text(encoding="utf-8"), re.M)
    )
    assert places == [home]
