"""The programme evaluation report, built in the calling process.

``groupeval report PATH --out report.html`` calls :func:`build_report`:

1. the output path is checked before any work (a folder, or a folder that
   cannot be written, is refused);
2. the data are loaded and validated with :func:`groupeval.load` (a
   :class:`~groupeval.exceptions.GroupevalError` propagates, so the command
   line prints the problems, never a traceback);
3. :class:`~.evaluation.Evaluation` runs every analysis once, in this process;
4. :func:`~.sections.build_document` registers every count of every table,
   figure and sentence in one :class:`~.plan.SuppressionPlan`, decides it
   once, and writes the board summary and the technical appendix;
5. the HTML (jinja2, autoescaped, figures embedded), the tables (CSV per
   table + one XLSX, formulas neutralised) and optionally a PDF (headless
   Chromium) and a Word file (python-docx) are written under temporary names
   and renamed into place together.

Progress goes to stderr throughout.  The shipped notebooks are executable
documents for researchers (run with papermill); the report does not need
Jupyter.
"""
from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

from ...base.exceptions import ConfigError
from ..privacy import DEFAULT_MIN_CELL, check_audience
from .errors import ReportError
from .evaluation import Evaluation
from .export import check_writable, staged, tables_paths, write_tables
from .html import check_offline, render_html

__all__ = ["build_report", "load_dataset", "ReportError", "Evaluation", "tables_paths", "check_offline",
           "render_html", "Progress", "missing_extra", "REPORT_EXTRA"]

#: What ``pip install "groupeval[report]"`` adds (the command says so when one is missing).
REPORT_EXTRA = ("jinja2", "docx")


def missing_extra(*, docx: bool = False) -> str:
    """``""`` when the report's optional dependencies are importable, else the one-line fix."""
    import importlib

    need = ["jinja2"] + (["docx"] if docx else [])
    missing = []
    for m in need:
        try:
            importlib.import_module(m)
        except ImportError:
            missing.append(m)
    if not missing:
        return ""
    names = {"jinja2": "jinja2", "docx": "python-docx"}
    return (f"the report needs {', '.join(names[m] for m in missing)}: "
            'pip install "groupeval[report]"')


class Progress:
    """``  3.2s  step`` lines on a stream (stderr), or nothing.

    A step that runs longer than ``heartbeat`` seconds (a model on a large programme) gets a
    ``still working`` line every ``heartbeat`` seconds, so progress is shown throughout.
    """

    def __init__(self, stream: TextIO | None, heartbeat: float = 20.0):
        self.stream = stream
        self.t0 = time.perf_counter()
        self.heartbeat = heartbeat
        self._msg = ""
        self._last = self.t0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        if stream is not None and heartbeat > 0:
            threading.Thread(target=self._beat, name="groupeval-progress", daemon=True).start()

    def _write(self, text: str) -> None:
        assert self.stream is not None  # noqa: S101 - only called with a stream
        with self._lock:
            self.stream.write(f"{time.perf_counter() - self.t0:6.1f}s  {text}\n")
            self.stream.flush()

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat / 4):
            now = time.perf_counter()
            if self._msg and now - self._last >= self.heartbeat:
                self._last = now
                self._write(f"... still working: {self._msg}")

    def __call__(self, msg: str) -> None:
        self._msg, self._last = msg, time.perf_counter()
        if self.stream is not None:
            self._write(msg)

    def close(self) -> None:
        self._stop.set()


def load_dataset(data_path: str | Path | None = None) -> Any:
    """The Dataset a notebook works on: ``data_path`` loaded, or the synthetic sample when None."""
    if data_path is None or str(data_path) == "":
        from ...sample import generate

        return generate()
    from ...validation.load import load

    return load(data_path)


def _prewarm() -> threading.Thread:
    """Import what the analyses and figures need in a thread (reading and validating release the GIL)."""

    def work() -> None:
        try:
            import lifelines  # noqa: F401
            import matplotlib.backends.backend_agg  # noqa: F401
            import matplotlib.figure  # noqa: F401
            import scipy.stats  # noqa: F401
            import statsmodels.formula.api  # noqa: F401
        except Exception:  # noqa: BLE001 - an import that fails here fails again, with its message, where it is used
            pass

    t = threading.Thread(target=work, name="groupeval-prewarm", daemon=True)
    t.start()
    return t


def _check_args(audience: str, min_cell: Any, out: str | Path) -> Path:
    check_audience(audience)
    if isinstance(min_cell, bool) or not isinstance(min_cell, int) or min_cell < 1:
        raise ConfigError(f"min_cell must be a whole number of at least 1, got {min_cell!r}.")
    out = Path(out)
    if out.exists() and out.is_dir():
        raise ReportError(f"--out {out} is a folder; give a file name, e.g. {out / 'report.html'}.")
    if out.suffix.lower() not in (".html", ".htm"):
        out = out.with_name(out.name + ".html")
    check_writable(out)
    return out


def _write_outputs(doc: Any, out: Path, *, pdf: bool, docx: bool, say: Progress) -> tuple[Path, Path]:
    """HTML, tables, and optionally PDF and DOCX: staged under temporary names, renamed together at the end."""
    folder, xlsx = tables_paths(out)
    say("writing the HTML report and its tables")
    with staged(out.parent) as outputs:
        n_tables = len(doc.tables())
        footer = (f"The {n_tables} tables of this report are in {folder.name}/ (CSV, unrounded; hidden cells "
                  f"empty, marked in *_suppressed columns) and in {xlsx.name}.")
        html_text = render_html(doc, footer=footer)
        html_tmp = outputs.path(out)
        html_tmp.write_text(html_text, encoding="utf-8")
        job = None
        if pdf:  # Chromium prints while the tables and the Word document are written
            from .pdf import PdfJob

            say("printing the PDF (headless Chromium)")
            job = PdfJob(html_tmp, outputs.path(out.with_suffix(".pdf")))
        try:
            write_tables(doc, outputs, folder, xlsx)
            if docx:
                from .word import write_docx

                say("writing the Word document")
                write_docx(doc, outputs.path(out.with_suffix(".docx")))
        except BaseException:  # Ctrl-C or an error: stop the browser, keep nothing
            if job is not None:
                job.kill()
            raise
        if job is not None:
            job.wait()
    return folder, xlsx


def build_report(path: str | Path | None, out: str | Path, *, audience: str = "program",
                 min_cell: int = DEFAULT_MIN_CELL, programme: str | None = None, period: str | None = None,
                 progress: bool | TextIO = True, pdf: bool = False, docx: bool = False,
                 dataset: Any = None, load_options: dict[str, Any] | None = None) -> Path:
    """Build the programme evaluation report from a programme's files.

    Parameters
    ----------
    path
        Folder of programme files or a TOML config (as :func:`groupeval.load`);
        ignored when ``dataset`` is given.
    out
        HTML file to write (``.html`` added when missing).
    audience
        ``"program"`` (default) or ``"research"``: full detail for people
        inside the programme; ``"funder"`` or ``"public"``: every count below
        ``min_cell`` and every number that would reveal one is hidden.
    min_cell
        Smallest count of people shown to funder/public audiences (default 11).
    programme, period
        Shown in the title; ``programme`` defaults to the config's name.
    progress
        Print progress lines on stderr (or on the given stream).
    pdf, docx
        Also write ``<stem>.pdf`` (headless Chromium) and ``<stem>.docx``
        (python-docx: summary, citable sentences, methods, key tables).
    dataset
        An already validated :class:`~groupeval.Dataset` (skips loading).
    load_options
        Keywords for :func:`groupeval.load` (e.g. ``{"pseudonymise": True}``).

    Returns
    -------
    Path
        The HTML file.  Beside it: ``<stem>_tables/NN_<table>.csv`` and
        ``<stem>_tables.xlsx`` (and the PDF / DOCX when asked for).

    Raises
    ------
    GroupevalError
        The data do not validate (every problem listed), a bad argument
        (:class:`~groupeval.exceptions.ConfigError`), or an output that cannot
        be written (:class:`ReportError`) -- checked before any work.
    """
    out = _check_args(audience, min_cell, out)
    fix = missing_extra(docx=docx)
    if fix:
        raise ReportError(fix)
    if pdf:
        from .pdf import find_chromium

        find_chromium()  # refuse before any work when no browser can print
    say = Progress(sys.stderr if progress is True else (progress or None))
    try:
        warm = _prewarm()  # the analysis and figure libraries import while the files are read
        if dataset is None:
            from ...validation.load import load

            say(f"reading and validating {path}")
            if path is None:
                raise ConfigError("build_report needs the programme's folder or config (path), or dataset=.")
            dataset = load(path, **(load_options or {}))  # GroupevalError propagates: the CLI prints the problems
        warm.join()
        ev = Evaluation(dataset, audience=audience, min_cell=min_cell)
        ev.compute_all(progress=say)
        for key, err in ev.errors.items():
            say(f"note: {key} not shown ({err})")
        from .sections import build_document

        name = programme or dataset.meta.get("programme") or "Peer support programme"
        doc, _ = build_document(ev, programme=str(name), period=period or "", progress=say)
        folder, xlsx = _write_outputs(doc, out, pdf=pdf, docx=docx, say=say)
        say(f"report written: {out} (tables in {folder.name}/ and {xlsx.name})")
    finally:
        say.close()
    return out
