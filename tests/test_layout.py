"""The package's layout shows the data flow (issue 13 item 3; docs/pipeline.md, "Layout"):
no stage imports a stage after it, and library modules neither print nor parse arguments.

Stages, in the order data flows: ``sacrum.io`` → ``sacrum.signal`` (with
``sacrum.signal.gait``, the gait stage) → ``sacrum.scoring`` → ``sacrum.analysis``;
``sacrum.apps`` and ``sacrum.testing`` sit on top. The shared modules (``sacrum.units``,
``sacrum.streaming``, ``sacrum.resources``, ``sacrum_protocol``) are below every stage.
Every import counts: module level, inside functions (a lazy import is still a dependency),
under ``TYPE_CHECKING``, and ``importlib.import_module("sacrum....")`` with a literal name.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import sacrum

PACKAGE = Path(sacrum.__file__).parent
#: rank of each stage; a module may import only ranks at or below its own
RANKS = {"io": 1, "signal": 2, "scoring": 3, "analysis": 4}
#: the stages with an import rule; apps and testing sit on top of all of them
RULED = ("io", "signal", "scoring")
SHARED = {"units", "streaming", "resources", "data", "__init__"}
LATER = {"apps", "testing"}
LIBRARY = ("io", "signal", "scoring", "analysis", "units", "streaming", "resources")
#: known violations, each to be removed by the change named (the test fails when one is
#: fixed and still listed, so the list only shrinks)
EXPECTED: set[tuple[str, str]] = set()


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _stage(module: str) -> str | None:
    """'sacrum.signal.pipeline' -> 'signal'; None outside the package."""
    parts = module.split(".")
    if parts[0] == "sacrum_protocol":
        return "shared"
    if parts[0] != "sacrum":
        return None
    if len(parts) == 1 or parts[1] in SHARED:
        return "shared"
    return parts[1]


def _imports(path: Path) -> set[str]:
    """Every sacrum module ``path`` imports, anywhere in it."""
    tree = ast.parse(path.read_text(), filename=str(path))
    here = _module_name(path).split(".")
    is_pkg = path.name == "__init__.py"
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here if is_pkg else here[:-1]
                base = base[:len(base) - (node.level - 1)]
                mod = ".".join([*base, *([node.module] if node.module else [])])
            else:
                mod = node.module or ""
            found.add(mod)
            # `from sacrum import analysis` imports the module sacrum.analysis
            found.update(f"{mod}.{a.name}" for a in node.names
                         if (PACKAGE.parent / f"{mod}.{a.name}".replace(".", "/")).exists()
                         or (PACKAGE.parent / (f"{mod}.{a.name}".replace(".", "/") + ".py")
                             ).exists())
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(
                node.func, "id", None)) == "import_module" and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.add(node.args[0].value)
    return {m for m in found if _stage(m) is not None}


def _files():
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _violations() -> set[tuple[str, str]]:
    out = set()
    for path in _files():
        mod = _module_name(path)
        stage = _stage(mod)
        if stage not in RULED:
            continue
        for imported in _imports(path):
            other = _stage(imported)
            if other in LATER or RANKS.get(other, 0) > RANKS[stage]:
                out.add((mod, imported))
    return out


def test_no_stage_imports_a_later_stage():
    found = _violations()
    new = sorted(found - EXPECTED)
    assert not new, "a stage imports a later one:\n" + "\n".join(f"  {a} imports {b}"
                                                                 for a, b in new)
    fixed = sorted(EXPECTED - found)
    assert not fixed, f"fixed, take them off EXPECTED: {fixed}"


def test_the_import_scan_sees_lazy_relative_and_dynamic_imports(tmp_path, monkeypatch):
    """The scan itself: a function-level import, a relative one and import_module count."""
    pkg = tmp_path / "sacrum"
    (pkg / "signal").mkdir(parents=True)
    (pkg / "apps").mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "signal" / "__init__.py").write_text("")
    (pkg / "apps" / "__init__.py").write_text("")
    (pkg / "apps" / "cli.py").write_text("")
    (pkg / "signal" / "x.py").write_text(
        "import importlib\n"
        "def f():\n    from sacrum.scoring import score\n"
        "def g():\n    from ..apps import cli\n"
        "def h():\n    importlib.import_module('sacrum.testing.phantom')\n")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", pkg)
    assert _imports(pkg / "signal" / "x.py") >= {"sacrum.scoring", "sacrum.apps",
                                                 "sacrum.apps.cli", "sacrum.testing.phantom"}
    assert {b for _, b in _violations()} >= {"sacrum.scoring", "sacrum.apps.cli",
                                             "sacrum.testing.phantom"}


def _calls(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
            out.append((node.lineno, "print()"))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [
                node.module or ""]
            if "argparse" in names:
                out.append((node.lineno, "argparse"))
        elif (isinstance(node, ast.Attribute) and node.attr in ("stdout", "stderr")
              and getattr(node.value, "id", None) == "sys"):
            out.append((node.lineno, f"sys.{node.attr}"))
    return out


@pytest.mark.parametrize("stage", LIBRARY)
def test_library_modules_do_not_print_or_parse_arguments(stage):
    """No print, argparse or sys.stdout/stderr below apps/: library code logs and raises;
    the commands (sacrum.apps) print and parse."""
    paths = ([PACKAGE / f"{stage}.py"] if (PACKAGE / f"{stage}.py").exists()
             else sorted((PACKAGE / stage).rglob("*.py")))
    assert paths
    found = [f"{p.relative_to(PACKAGE)}:{line}: {what}" for p in paths
             for line, what in _calls(p)]
    assert not found, "\n".join(found)
