"""The layer rule of docs/design.md, enforced on the source with the ast module.

``src/groupeval/`` holds one folder per layer::

    base -> io -> validation -> scoring -> statistics -> reporting
                                        sample (outside the chain)

A module may import groupeval modules of its own layer or lower ones only;
``sample`` may import anything below reporting, and only reporting may import
``sample``.  Only the reporting layer imports matplotlib.  The single allowed
upward edge is the lazy ``from ..reporting import plotting`` inside
``Result.plot`` (statistics/results.py), which keeps drawing code in the
reporting layer while result objects can still be asked to ``.plot()``
themselves.  The package's top-level ``__init__``/``__main__`` are the facade
and may import any layer.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "groupeval"

BASE, IO, VALIDATION, SCORING, STATISTICS, SAMPLE, REPORTING = range(7)
LAYER_NAMES = ["base", "io", "validation", "scoring", "statistics", "sample", "reporting"]

# folder below src/groupeval -> layer rank (sample sits between statistics and
# reporting: it may use everything below it, and only reporting may import it)
LAYERS = {
    "base": BASE, "io": IO, "validation": VALIDATION, "scoring": SCORING, "statistics": STATISTICS,
    "sample": SAMPLE, "reporting": REPORTING,
}
FACADE = {"__init__", "__main__"}
ALLOWED_UPWARD = {("statistics/results.py", "reporting")}


def _layer_of(path: Path) -> str:
    """The layer folder a source file belongs to (or '__init__' / '__main__' at the top)."""
    rel = path.relative_to(SRC)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imported_groupeval_modules(path: Path, source: str | None = None) -> list[tuple[str, int]]:
    """(first package component below groupeval, line) of every import; '!x' for third-party x."""
    tree = ast.parse(source if source is not None else path.read_text(encoding="utf-8"))
    pkg_parts = ("groupeval",) + path.relative_to(SRC).parent.parts
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "groupeval":
                    found.append((parts[1] if len(parts) > 1 else "", node.lineno))
                else:
                    found.append(("!" + parts[0], node.lineno))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg_parts[: len(pkg_parts) - node.level + 1]
                target = list(base[1:]) + (node.module.split(".") if node.module else [])
                if target:
                    found.append((target[0], node.lineno))
                else:  # from .. import x  (at package top)
                    for alias in node.names:
                        found.append((alias.name, node.lineno))
            elif node.module:
                parts = node.module.split(".")
                if parts[0] == "groupeval":
                    if len(parts) > 1:
                        found.append((parts[1], node.lineno))
                    else:
                        for alias in node.names:
                            found.append((alias.name, node.lineno))
                else:
                    found.append(("!" + parts[0], node.lineno))
    return found


MODULES = sorted(p for p in SRC.rglob("*.py"))


def test_every_module_is_in_a_layer_folder():
    loose = sorted(str(p.relative_to(SRC)) for p in MODULES
                   if _layer_of(p) not in LAYERS and _layer_of(p) not in FACADE)
    assert not loose, f"modules outside the layer folders (move them into one of {sorted(LAYERS)}): {loose}"


def test_every_layer_folder_says_what_it_owns_and_may_import():
    for folder in LAYERS:
        init = SRC / folder / "__init__.py"
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        assert "May import" in doc, f"{folder}/__init__.py needs a docstring saying what it owns and may import"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_flow_one_way(path):
    bad = _violations(path)
    assert not bad, "\n".join(bad)


def _violations(path: Path, source: str | None = None) -> list[str]:
    me = _layer_of(path)
    if me in FACADE:
        return []
    my_layer = LAYERS[me]
    rel = path.relative_to(SRC).as_posix()
    bad = []
    for target, line in _imported_groupeval_modules(path, source):
        if target.startswith("!"):
            if target == "!matplotlib" and my_layer != REPORTING:
                bad.append(f"line {line}: matplotlib imported outside the reporting layer")
            continue
        if target not in LAYERS:
            continue
        if LAYERS[target] > my_layer and (rel, target) not in ALLOWED_UPWARD:
            bad.append(f"line {line}: {rel} ({LAYER_NAMES[my_layer]}) imports {target} "
                       f"({LAYER_NAMES[LAYERS[target]]})")
    return bad


def test_checker_flags_upward_and_matplotlib_imports():
    # The checker must be able to fail: a scoring module that imports the
    # plotting module (relative and absolute), the sample and matplotlib is rejected.
    fake = SRC / "scoring" / "scores.py"
    source = ("from ..reporting.plotting import plot_retention\n"
              "import groupeval.reporting.report\n"
              "from ..sample import generate\n"
              "def f():\n    import matplotlib.pyplot as plt\n")
    bad = _violations(fake, source)
    assert len(bad) == 4, bad
    # ... while a downward import is accepted
    assert _violations(fake, "from ..base.schema import TABLES\nfrom groupeval.io import read_table\n") == []
    # statistics may not import the sample either; reporting may
    assert _violations(SRC / "statistics" / "models.py", "from ..sample import generate\n")
    assert _violations(SRC / "reporting" / "cli.py", "from ..sample import write_sample\n") == []
