"""The programme evaluation report: validate, run the notebook, write offline HTML + tables.

``groupeval report PATH --out report.html`` calls :func:`build_report`:

1. the data are loaded and validated with :func:`groupeval.load` (a
   :class:`~groupeval.exceptions.GroupevalError` propagates, so the command
   line prints the validation problems, never a traceback); this runs in a
   thread while the notebook kernel starts and imports its libraries;
2. the notebook ``02_evaluation_report.ipynb`` is executed with nbclient on
   those data (progress ``[k/n]`` on stderr), with the parameters
   ``data_path, programme, period, audience, min_cell, out_dir``;
3. the executed notebook is exported to one self-contained HTML file (no
   code, figures embedded as base64 PNG, CSS inlined, nothing fetched from
   the network);
4. the tables the report shows are written beside it: ``<stem>_tables/`` (one
   CSV per table) and ``<stem>_tables.xlsx`` (one sheet per table + README).

For ``audience="funder"`` or ``"public"`` every table, figure label and
sentence goes through small-cell suppression (:mod:`groupeval.privacy`);
member ids appear in no audience's output.
"""
from __future__ import annotations

import pickle
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, TextIO

from ...base.exceptions import ConfigError
from ..privacy import DEFAULT_MIN_CELL, check_audience
from ._run import (
    NOTEBOOKS,
    ReportError,
    check_offline,
    execute_notebook,
    export_html,
    inject_parameters,
    notebook_path,
    prewarm_export,
)
from .tables import ReportTables, format_table_html

__all__ = ["build_report", "run_notebook", "load_dataset", "ReportTables", "ReportError", "notebook_path",
           "execute_notebook", "export_html", "check_offline", "format_table_html", "inject_parameters",
           "NOTEBOOKS", "tables_paths"]


def tables_paths(out: str | Path) -> tuple[Path, Path]:
    """Where :func:`build_report` writes the tables for the HTML file ``out``: (CSV folder, XLSX file)."""
    out = Path(out)
    folder = out.with_name(out.stem + "_tables")
    return folder, folder.with_name(folder.name + ".xlsx")


def load_dataset(data_path: str | Path | None = None, cache: str | Path | None = None):
    """The Dataset a report notebook works on.

    ``cache`` is a pickle written by :func:`build_report` after it validated
    the data (so the notebook does not read and validate the files twice);
    otherwise ``data_path`` is loaded with :func:`groupeval.load`, or, when
    ``data_path`` is None, the synthetic sample :func:`groupeval.sample.generate`
    is used.
    """
    if cache:
        with open(cache, "rb") as fh:
            return pickle.load(fh)
    if data_path is None or str(data_path) == "":
        from ...sample import generate

        return generate()
    from ...validation.load import load

    return load(data_path)


def _say(stream: TextIO | None, msg: str) -> None:
    if stream is not None:
        stream.write(msg + "\n")
        stream.flush()


def run_notebook(name: str, out: str | Path, *, parameters: dict[str, Any], progress: bool = True,
                 dataset: Any = None, title: Any = None) -> Path:
    """Execute a shipped notebook with ``parameters`` and write it as offline HTML to ``out``.

    ``dataset`` (a :class:`~groupeval.Dataset`, or a zero-argument function
    returning one, run in a thread while the kernel starts) is handed to the
    notebook through a temporary pickle (parameter ``dataset_cache``).
    """
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="groupeval-report-") as tmp:
        params = dict(parameters)
        before = None
        if dataset is not None:
            cache = Path(tmp) / "dataset.pkl"
            params["dataset_cache"] = str(cache)
            result: dict[str, Any] = {}
            worker = None
            if callable(dataset):
                def _work() -> None:
                    try:
                        result["dataset"] = dataset()
                    except BaseException as err:  # re-raised in the main thread
                        result["error"] = err

                worker = threading.Thread(target=_work, name="groupeval-load", daemon=True)
                worker.start()
            else:
                result["dataset"] = dataset

            def before() -> None:
                if worker is not None:
                    worker.join()
                if "error" in result:
                    raise result["error"]
                with open(cache, "wb") as fh:
                    pickle.dump(result["dataset"], fh, protocol=pickle.HIGHEST_PROTOCOL)

        nb = execute_notebook(notebook_path(name), params, cwd=tmp, progress=progress, before_parameters=before)
    html_text = export_html(nb, title=title() if callable(title) else title)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html_text, encoding="utf-8")
    return out


def build_report(path: str | Path, out: str | Path, *, audience: str = "program",
                 min_cell: int = DEFAULT_MIN_CELL, programme: str | None = None, period: str | None = None,
                 progress: bool = True, load_options: dict[str, Any] | None = None) -> Path:
    """Build the programme evaluation report from a programme's files.

    Parameters
    ----------
    path
        Folder of programme files or a TOML config (as :func:`groupeval.load`).
    out
        HTML file to write (``.html`` added when missing).
    audience
        ``"program"`` (default) or ``"research"``: full detail for people
        inside the programme; ``"funder"`` or ``"public"``: every count below
        ``min_cell`` and every cell or estimate that would reveal one is hidden.
    min_cell
        Smallest count of people shown to funder/public audiences (default 11).
    programme, period
        Shown in the title; ``programme`` defaults to the config's name
        (``dataset.meta["programme"]``).
    progress
        Print ``[k/n]`` cell progress on stderr.
    load_options
        Keywords for :func:`groupeval.load` (e.g. ``{"pseudonymise": True}``).

    Returns
    -------
    Path
        The HTML file.  Beside it: ``<stem>_tables/NN_<table>.csv`` and
        ``<stem>_tables.xlsx``.

    Raises
    ------
    GroupevalError
        The data do not validate (every problem listed), or a bad argument
        (:class:`~groupeval.exceptions.ConfigError`), or the notebook failed
        (:class:`ReportError`).
    """
    check_audience(audience)
    if isinstance(min_cell, bool) or not isinstance(min_cell, int) or min_cell < 1:
        raise ConfigError(f"min_cell must be a whole number of at least 1, got {min_cell!r}.")
    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        out = out.with_name(out.name + ".html")
    stream = sys.stderr if progress else None
    t0 = time.perf_counter()
    from ...validation.load import load

    folder, _ = tables_paths(out)
    params = {"data_path": str(path), "programme": programme, "period": period or "", "audience": audience,
              "min_cell": int(min_cell), "out_dir": str(folder.resolve())}
    loaded: dict[str, Any] = {}

    def validate():
        # runs in a thread while the report kernel starts and imports (2 cores: real overlap)
        dataset = load(path, **(load_options or {}))  # GroupevalError propagates: the CLI prints the problems
        loaded["dataset"] = dataset
        _say(stream, f"Validated {path} in {time.perf_counter() - t0:.1f}s")
        prewarm_export()  # import nbconvert while the kernel computes, not after
        return dataset

    _say(stream, f"Reading and validating {path} while the report kernel starts ...")
    def title() -> str:
        ds = loaded.get("dataset")
        name = programme or (ds.meta.get("programme") if ds is not None else None) or "Peer support programme"
        return f"{name}: evaluation report"

    run_notebook("02_evaluation_report", out, parameters=params, progress=progress, dataset=validate, title=title)
    _say(stream, f"Report written in {time.perf_counter() - t0:.1f}s: {out} (tables in {folder.name}/ and "
                 f"{folder.name}.xlsx)")
    return out
