"""The shipped notebooks: where they are, and running them with papermill (researchers, CI).

The report itself never runs a notebook (it is built in-process by
:func:`groupeval.reporting.report.build_report`).  The notebooks are
executable documents for researchers; :func:`execute_notebook` runs one
with papermill (parameters injected by papermill after the cell tagged
``parameters``), which needs the ``notebooks`` extra
(``pip install "groupeval[notebooks]"``: papermill, ipykernel).
"""
from __future__ import annotations

import tempfile
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from ...base.exceptions import ConfigError
from .errors import ReportError

__all__ = ["NOTEBOOKS", "notebook_path", "execute_notebook"]

#: The three notebooks shipped with groupeval.
NOTEBOOKS = ("01_researcher_walkthrough.ipynb", "02_evaluation_report.ipynb", "03_funder_summary.ipynb")


def notebook_path(name: str) -> Path:
    """Path of a shipped notebook (``"02_evaluation_report"`` or the full file name).

    Looks in the package data ``groupeval/reporting/report/notebooks`` (a
    symlink to the repository's ``notebooks/`` in a source checkout; real
    files in a wheel), then in the source tree's ``notebooks/``.
    """
    fname = name if name.endswith(".ipynb") else name + ".ipynb"
    if fname not in NOTEBOOKS:
        raise ConfigError(f"unknown notebook {name!r}; the shipped notebooks are {', '.join(NOTEBOOKS)}.")
    candidates = []
    try:
        candidates.append(Path(str(resources.files("groupeval.reporting.report") / "notebooks" / fname)))
    except (ModuleNotFoundError, TypeError):  # pragma: no cover
        pass
    candidates.append(Path(__file__).resolve().parents[4] / "notebooks" / fname)
    for c in candidates:
        if c.is_file():
            return c
    raise ConfigError(f"notebook {fname} not found (looked in {', '.join(map(str, candidates))}); "
                      "reinstall groupeval.")


def execute_notebook(name: str | Path, parameters: Mapping[str, Any] | None = None, *,
                     cwd: str | Path | None = None, timeout: int = 900, kernel_name: str | None = None) -> Any:
    """Run a shipped notebook (or a path) with papermill and return the executed notebook node.

    A failing cell raises :class:`~.errors.ReportError` naming the cell's error.
    """
    try:
        import papermill
    except ModuleNotFoundError:
        raise ReportError('running the notebooks needs papermill: pip install "groupeval[notebooks]"') from None
    path = Path(name) if str(name).endswith(".ipynb") and Path(name).exists() else notebook_path(str(name))
    params = {k: (str(v) if isinstance(v, Path) else v) for k, v in (parameters or {}).items()}
    with tempfile.TemporaryDirectory(prefix="groupeval-nb-") as tmp:
        try:
            nb = papermill.execute_notebook(str(path), str(Path(tmp) / path.name), parameters=params,
                                            cwd=str(cwd or tmp), progress_bar=False, kernel_name=kernel_name,
                                            execution_timeout=timeout)
        except papermill.PapermillExecutionError as err:
            raise ReportError(f"The notebook {path.name} failed in cell {err.exec_count}: {err.ename}: "
                              f"{err.evalue}") from None
    return nb
