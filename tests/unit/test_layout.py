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


# --- tests/: shared helpers live in tests/support/ ------------------------------------------

TESTS_ROOT = Path(__file__).resolve().parents[1]


def _tests_module_name(path: Path) -> str:
    parts = path.relative_to(TESTS_ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules_imported_by(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module that `source` imports anywhere in it; `from x import y` counts as `x` and
    `x.y` (y may be a module), and relative imports are resolved from `module`."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _why_forbidden_in_tests(imported: str) -> str | None:
    parts = imported.split(".")
    if parts[0] == "bench":
        return "bench (bench may import tests/support, never the reverse)"
    if "conftest" in parts:
        return "a conftest (fixtures come by name; plain helpers live in tests/support)"
    if parts[0] == "tests" and len(parts) > 1 and parts[1] != "support":
        return "a module of tests/ outside tests/support (what tests share lives there)"
    if parts[0].startswith("test_"):
        return "a test module (what tests share lives in tests/support)"
    return None


@pytest.mark.parametrize(
    ("source", "forbidden"),
    [
        ("import tests.conftest", True),
        ("from .conftest import PHONE", True),
        ("import tests.web.test_register", True),
        ("from ..reliability.test_register_load import Tally", True),
        ("from . import test_headers", True),
        ("from tests import conftest", True),
        ("def f():\n    import bench.register", True),
        ("import bench", True),
        ("from tests import factories", True),
        ("from tests.support.http import csrf_from", False),
        ("from tests.support import floor_app", False),
        ("from ..support.browser import PHONE", False),
        ("from app.core.extensions import db", False),
    ],
)
def test_the_tests_import_check_tells_what_is_forbidden(source, forbidden):
    imported = _modules_imported_by(source, "tests.web.test_example")
    assert any(_why_forbidden_in_tests(name) for name in imported) is forbidden, imported


def test_no_test_module_imports_another_test_module_a_conftest_or_bench():
    """Test modules, conftests and tests/support import tests/support (and the app), never
    another test module, a conftest or bench/."""
    problems = []
    for path in sorted(TESTS_ROOT.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        module = _tests_module_name(path)
        reported: list[str] = []
        for name in sorted(_modules_imported_by(source, module, path.name == "__init__.py")):
            if any(name.startswith(f"{parent}.") for parent in reported):
                continue  # `from a.conftest import x`: reporting a.conftest is enough
            if why := _why_forbidden_in_tests(name):
                reported.append(name)
                problems.append(f"{path.relative_to(TESTS_ROOT.parent)} imports {name}: {why}")
    assert problems == [], "\n".join(problems)


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
