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

Sizes (issue 12): no module over 600 lines and no function over 80 lines of
code (docstring, comments and blank lines not counted); the files still being
split by other helpers are listed in ``SIZE_ALLOWED``.
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


# ---------------------------------------------------------------------------
# sizes (issue 12, item 1): no module over 600 lines, no function over 80 lines of code
# ---------------------------------------------------------------------------
MAX_MODULE_LINES = 600
MAX_FUNCTION_CODE_LINES = 80

# Modules allowed over a limit (issue 12, item 1).  Empty: every module and function is within the
# limits.  Should an exception ever be needed, it goes here with its reason, and
# test_size_allow_list_has_no_stale_entries fails as soon as an entry is no longer needed.
SIZE_ALLOWED: set[str] = set()


def _code_lines(node: ast.FunctionDef | ast.AsyncFunctionDef, lines: list[str]) -> int:
    """Lines of code of a function: its body without the docstring, blank lines and comment lines.

    A nested function's lines count towards the function that contains it too.
    """
    body = node.body
    first = body[0]
    has_doc = (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
               and isinstance(first.value.value, str))
    start = (first.end_lineno or first.lineno) + 1 if has_doc else first.lineno
    end = node.end_lineno or node.lineno
    return sum(1 for line in lines[start - 1:end] if line.strip() and not line.strip().startswith("#"))


def _size_violations(rel: str, source: str) -> list[str]:
    """Why the module ``rel`` (path below src/groupeval) with this source breaks the size limits ([] if it does not)."""
    lines = source.splitlines()
    bad = []
    if len(lines) > MAX_MODULE_LINES:
        bad.append(f"{rel}: {len(lines)} lines (> {MAX_MODULE_LINES}); split it by concern into modules")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            n = _code_lines(node, lines)
            if n > MAX_FUNCTION_CODE_LINES:
                bad.append(f"{rel}:{node.lineno} {node.name}() has {n} lines of code (> {MAX_FUNCTION_CODE_LINES}); "
                           "make its steps named functions")
    return bad


def _rel(path: Path) -> str:
    return path.relative_to(SRC).as_posix()


@pytest.mark.parametrize("path", [p for p in MODULES if _rel(p) not in SIZE_ALLOWED], ids=_rel)
def test_modules_and_functions_are_small(path):
    bad = _size_violations(_rel(path), path.read_text(encoding="utf-8"))
    assert not bad, "\n".join(bad)


def test_size_allow_list_has_no_stale_entries():
    # an entry whose file is gone or now within the limits must be deleted, so the list only shrinks
    stale = sorted(rel for rel in SIZE_ALLOWED
                   if not (SRC / rel).exists() or not _size_violations(rel, (SRC / rel).read_text(encoding="utf-8")))
    assert not stale, f"remove these entries from SIZE_ALLOWED (they are within the limits now): {stale}"


def test_size_checker_flags_long_modules_and_functions():
    # The checker must be able to fail: a module of 601 lines, and a function with 81 lines of code
    assert _size_violations("fake.py", "x = 1\n" * (MAX_MODULE_LINES + 1))
    assert _size_violations("fake.py", "x = 1\n" * MAX_MODULE_LINES) == []
    code = "".join(f"    a{i} = {i}\n" for i in range(MAX_FUNCTION_CODE_LINES + 1))
    long_fn = f'def f():\n    """Doc."""\n{code}'
    bad = _size_violations("fake.py", long_fn)
    assert len(bad) == 1 and "f() has 81 lines of code" in bad[0], bad
    # ... nested in a class, and counted inside an enclosing function too
    assert len(_size_violations("fake.py", "class C:\n" + long_fn.replace("\n", "\n    ").replace("def", "    def", 1)
                                 .rstrip() + "\n")) == 1
    assert len(_size_violations("fake.py", "def outer():\n    " + long_fn.replace("\n", "\n    ").rstrip() + "\n")) == 2
    # the docstring, comments and blank lines do not count: 80 lines of code with a long docstring pass
    code80 = "".join(f"    a{i} = {i}\n\n    # comment {i}\n" for i in range(MAX_FUNCTION_CODE_LINES))
    doc = '    """' + "Doc line.\n" * 200 + '    """\n'
    assert _size_violations("fake.py", f"def g():\n{doc}{code80}") == []
