"""Executing the report notebooks (nbclient) and exporting them to offline HTML (nbconvert)."""
from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

from ...base.exceptions import ConfigError, GroupevalError

__all__ = ["ReportError", "NOTEBOOKS", "notebook_path", "inject_parameters", "execute_notebook",
           "export_html", "check_offline"]

#: The three notebooks shipped with groupeval.
NOTEBOOKS = ("01_researcher_walkthrough.ipynb", "02_evaluation_report.ipynb", "03_funder_summary.ipynb")


class ReportError(GroupevalError):
    """The report could not be built (a notebook cell failed, or the HTML is not self-contained)."""


def notebook_path(name: str) -> Path:
    """Path of a shipped notebook (``"02_evaluation_report"`` or the full file name).

    Looks in the package data ``groupeval/report/notebooks`` (a symlink to the
    repository's ``notebooks/`` in a source checkout; real files in a wheel),
    then in the source tree's ``notebooks/``.
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


def _nbformat():
    """Import nbformat without jsonschema's optional IRI checker.

    jsonschema imports ``rfc3987_syntax`` when installed, which compiles a
    Lark grammar at import time (1-3 s, the largest part of ``import
    nbformat``).  Notebook validation never uses the IRI format, so the import
    is skipped by a temporary ``sys.modules`` entry; nothing else changes.
    """
    if "nbformat" in sys.modules:
        return sys.modules["nbformat"]
    blocked = "rfc3987_syntax" not in sys.modules
    if blocked:
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]  # makes the import raise ImportError
    try:
        import nbformat
    finally:
        if blocked and sys.modules.get("rfc3987_syntax", 0) is None:
            del sys.modules["rfc3987_syntax"]
    return nbformat


def prewarm_export() -> None:
    """Import the HTML exporter ahead of time (e.g. in a thread while the kernel runs)."""
    _nbformat()
    import nbconvert.exporters.html  # noqa: F401


def inject_parameters(nb: Any, parameters: Mapping[str, Any]) -> Any:
    """Papermill-style: add a cell tagged ``injected-parameters`` after the ``parameters`` cell."""
    lines = ["# Parameters injected by groupeval.report"]
    for key, value in parameters.items():
        if not re.fullmatch(r"[A-Za-z_]\w*", key):
            raise ConfigError(f"parameter name {key!r} is not a Python identifier.")
        if isinstance(value, Path):
            value = str(value)
        lines.append(f"{key} = {value!r}")
    cell = _nbformat().v4.new_code_cell("\n".join(lines))
    cell.metadata["tags"] = ["injected-parameters", "remove-input"]
    cells = nb.cells
    idx = next((i for i, c in enumerate(cells) if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    cells = [c for c in cells if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    if idx is None:
        cells.insert(0, cell)
    else:
        idx = next(i for i, c in enumerate(cells) if "parameters" in c.get("metadata", {}).get("tags", []))
        cells.insert(idx + 1, cell)
    nb.cells = cells
    return nb


@contextmanager
def _kernel_env() -> Iterator[tuple[str, Any]]:
    """A throw-away kernel spec running *this* interpreter (not whatever ``python`` is on PATH)."""
    from jupyter_client.kernelspec import KernelSpecManager

    with tempfile.TemporaryDirectory(prefix="groupeval-kernel-") as tmp:
        kdir = Path(tmp) / "kernels" / "groupeval-python"
        kdir.mkdir(parents=True)
        (kdir / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                     "--IPKernelApp.log_level=ERROR"],
            "display_name": "groupeval (Python)", "language": "python",
        }))
        ksm = KernelSpecManager(kernel_dirs=[str(Path(tmp) / "kernels")], ensure_native_kernel=False)
        yield "groupeval-python", ksm


def _cell_label(cell: Any) -> str:
    src = cell.get("source", "")
    for line in src.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line[:60]
    return ""


def execute_notebook(nb_path: str | Path, parameters: Mapping[str, Any], *, cwd: str | Path | None = None,
                     progress: bool | TextIO = True, timeout: int = 900,
                     before_parameters: Callable[[], None] | None = None) -> Any:
    """Run a notebook with injected parameters and return it with its outputs.

    Progress (``[k/n] <first line of the cell>``) goes to stderr when
    ``progress`` is True (or to the given stream).  A failing cell raises
    :class:`ReportError` naming the cell and the error.

    ``before_parameters`` is called after the cells above the parameters
    (the imports) have run and before the injected parameters run: the
    kernel starts and imports while the caller still works (e.g. validates
    the data in a thread); an exception it raises stops the run.
    """
    from jupyter_client.manager import KernelManager

    stream = sys.stderr if progress is True else (progress or None)
    started = time.perf_counter()
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # the kernel uses the inline backend
    with _kernel_env() as (kname, ksm):
        km = KernelManager(kernel_name=kname, kernel_spec_manager=ksm)
        km.start_kernel(env=env, cwd=str(cwd or Path.cwd()))  # boots while nbformat/nbclient import
        try:
            nbformat = _nbformat()
            from nbclient import NotebookClient
            from nbclient.exceptions import CellExecutionError

            nb = nbformat.read(str(nb_path), as_version=4)
            nb = inject_parameters(nb, parameters)
            code_idx = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
            n = len(code_idx)
            inj = next(i for i, c in enumerate(nb.cells) if "injected-parameters" in c.metadata.get("tags", []))
            current = {"label": ""}

            def on_start(cell: Any = None, cell_index: int = 0, **_: Any) -> None:
                current["label"] = _cell_label(cell)
                if stream is None or cell_index not in code_idx:
                    return
                k = code_idx.index(cell_index) + 1
                stream.write(f"[{k}/{n}] {time.perf_counter() - started:5.1f}s  {current['label']}\n")
                stream.flush()

            client = NotebookClient(nb, km=km, timeout=timeout, kernel_name=kname, allow_errors=False,
                                    resources={"metadata": {"path": str(cwd or Path.cwd())}},
                                    on_cell_start=on_start)
            try:
                with client.setup_kernel(cleanup_kc=True):
                    info = client.wait_for_reply(client.kc.kernel_info())
                    nb.metadata["language_info"] = info["content"]["language_info"]
                    for index, cell in enumerate(nb.cells):
                        if index == inj and before_parameters is not None:
                            before_parameters()
                        client.execute_cell(cell, index)
            except CellExecutionError as err:
                text = str(err)
                ename = getattr(err, "ename", "")
                evalue = getattr(err, "evalue", "")
                where = current["label"]
                raise ReportError(f"The report notebook {Path(nb_path).name} failed"
                                  f"{' in cell ' + repr(where) if where else ''}: {ename}: {evalue}\n"
                                  f"{_strip_ansi(text)[-3000:]}") from None
        finally:
            if km.has_kernel:
                km.shutdown_kernel(now=True)
    if stream is not None:
        stream.write(f"notebook finished in {time.perf_counter() - started:.1f}s\n")
        stream.flush()
    return nb


def _strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


_EXTERNAL = re.compile(r"<(script|link|img|iframe)\b[^>]*\b(src|href)\s*=\s*[\"']?(https?:)?//"
                       r"|url\(\s*[\"']?(https?:)?//|@import\s+[\"']?(url\()?[\"']?(https?:)?//", re.I)


def check_offline(html_text: str) -> None:
    """Raise :class:`ReportError` if the HTML would fetch a script, style sheet, font or image over the network."""
    hits = sorted({m.group(0)[:120] for m in _EXTERNAL.finditer(html_text)})
    if hits:
        raise ReportError("The report HTML is not self-contained; it references external resources: "
                          + "; ".join(hits))


def export_html(nb: Any, *, title: str | None = None) -> str:
    """Self-contained HTML: no code (``exclude_input``), no prompts, inlined CSS, base64 images.

    Uses JupyterLab's template minus its CDN scripts (require.js, MathJax,
    Mermaid): ``groupeval/report/templates/index.html.j2``.
    """
    from nbconvert import HTMLExporter

    tpl_dir = Path(__file__).resolve().parent
    exporter = HTMLExporter(template_name="templates", extra_template_basedirs=[str(tpl_dir)],
                            exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
                            embed_images=True)
    exporter.register_preprocessor(_remove_tagged_preprocessor(), enabled=True)
    if title:
        nb.metadata["title"] = title
    body, _ = exporter.from_notebook_node(nb)
    check_offline(body)
    return body


def _remove_tagged_preprocessor():
    from nbconvert.preprocessors import Preprocessor

    class _RemoveTagged(Preprocessor):
        """Drop cells tagged ``remove-cell``/parameters, outputs tagged ``remove-output``, and stderr."""

        def preprocess(self, nb, resources):  # type: ignore[override]
            cells = []
            for cell in nb.cells:
                tags = cell.get("metadata", {}).get("tags", [])
                if "remove-cell" in tags or "injected-parameters" in tags or "parameters" in tags:
                    continue
                if cell.cell_type == "code":
                    if "remove-output" in tags:
                        cell.outputs = []
                    # warnings and logging on stderr are for the analyst, not the reader
                    cell.outputs = [o for o in cell.outputs
                                    if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
                cells.append(cell)
            nb.cells = cells
            return nb, resources

    return _RemoveTagged()
