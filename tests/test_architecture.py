"""DESIGN.md's layer rule, enforced on the source with the ast module.

files -> io -> validation -> scoring -> statistics -> reporting: a module may
import groupeval modules of its own layer or lower ones only, and only the
reporting layer imports matplotlib.  The single allowed upward edge is the
lazy ``from . import plotting`` inside ``Result.plot`` (results.py), which
keeps drawing code in the reporting layer while result objects can still be
asked to ``.plot()`` themselves.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "groupeval"

BASE, IO, VALIDATION, SCORING, STATISTICS, REPORTING = range(6)
LAYER_NAMES = ["base", "io", "validation", "scoring", "statistics", "reporting"]

# first dotted component below groupeval -> layer
LAYERS = {
    "exceptions": BASE, "schema": BASE, "dataset": BASE, "_util": BASE,
    "io": IO,
    "validation": VALIDATION,
    "instruments": SCORING, "scoring": SCORING, "sample": SCORING, "loading": SCORING,
    "reliability": STATISTICS, "engagement": STATISTICS, "retention": STATISTICS,
    "outcomes": STATISTICS, "models": STATISTICS, "results": STATISTICS, "_stats": STATISTICS,
    "statistics": STATISTICS,
    "plotting": REPORTING, "report": REPORTING, "privacy": REPORTING, "narrative": REPORTING, "formatting": REPORTING,
    "cli": REPORTING, "__main__": REPORTING,
}
ALLOWED_UPWARD = {("results", "plotting")}


def _module_key(path: Path) -> str:
    rel = path.relative_to(SRC).with_suffix("")
    parts = rel.parts
    return parts[0]


def _imported_groupeval_modules(path: Path, source: str | None = None) -> list[tuple[str, int]]:
    tree = ast.parse(source if source is not None else path.read_text(encoding="utf-8"))
    pkg_parts = ("groupeval",) + path.relative_to(SRC).parent.parts
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "groupeval":
                    sub = alias.name.split(".")[1:2]
                    found.append((sub[0] if sub else "", node.lineno))
                else:
                    found.append(("!" + alias.name.split(".")[0], node.lineno))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg_parts[: len(pkg_parts) - node.level + 1]
                target = list(base[1:]) + (node.module.split(".") if node.module else [])
                if target:
                    found.append((target[0], node.lineno))
                else:  # from . import x  (at package top)
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


MODULES = sorted(p for p in SRC.rglob("*.py") if p.name != "__init__.py" or p.parent != SRC)


def test_every_module_has_a_layer():
    unknown = sorted({_module_key(p) for p in MODULES} - set(LAYERS))
    assert not unknown, f"add these modules to LAYERS in test_architecture.py: {unknown}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_flow_one_way(path):
    bad = _violations(path)
    assert not bad, "\n".join(bad)


def _violations(path: Path, source: str | None = None) -> list[str]:
    me = _module_key(path)
    my_layer = LAYERS[me]
    bad = []
    for target, line in _imported_groupeval_modules(path, source):
        if target.startswith("!"):
            if target == "!matplotlib" and my_layer != REPORTING:
                bad.append(f"line {line}: matplotlib imported outside the reporting layer")
            continue
        if target not in LAYERS:
            continue
        if LAYERS[target] > my_layer and (me, target) not in ALLOWED_UPWARD:
            bad.append(f"line {line}: {me} ({LAYER_NAMES[my_layer]}) imports {target} "
                       f"({LAYER_NAMES[LAYERS[target]]})")
    return bad


def test_checker_flags_upward_and_matplotlib_imports():
    # The checker must be able to fail: a scoring module that imports the
    # plotting module (relative and absolute) and matplotlib is rejected.
    fake = SRC / "scoring.py"
    source = ("from .plotting import plot_retention\n"
              "import groupeval.report\n"
              "def f():\n    import matplotlib.pyplot as plt\n")
    bad = _violations(fake, source)
    assert len(bad) == 3, bad
    # ... while a downward import is accepted
    assert _violations(fake, "from .schema import TABLES\nfrom groupeval.io import read_table\n") == []
