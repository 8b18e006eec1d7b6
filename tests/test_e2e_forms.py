"""Issue 10 "Done when": a name-keyed Google-Forms programme with an Excel register and no groups file
goes from raw files to a validated Dataset and a report with ``groupeval init`` + ``groupeval report
--pseudonymise``, and no name appears anywhere it wrote.

The CLI runs as a subprocess (PYTHONPATH = this checkout's src); every file it wrote (HTML, CSV,
XLSX, TOML, the quality CSV), its stdout and stderr, and a pickled Dataset are searched for every
raw spelling of every name (whole words, any case, with and without accents).
"""
from __future__ import annotations

import os
import pickle
import re
import subprocess
import sys
import unicodedata
import warnings
from pathlib import Path

import groupeval as ge
from _helpers_forms import GROUPS, write_forms_programme

ROOT = Path(__file__).resolve().parents[1]
_DATA_URI = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=\s]+")


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    env.pop("GROUPEVAL_SALT", None)
    return subprocess.run([sys.executable, "-m", "groupeval", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=900)


def _all_spellings(fp) -> set[str]:
    out = set(fp.names)
    for people in GROUPS.values():
        for n in people:
            out.add(n)
            out.add("".join(ch for ch in unicodedata.normalize("NFKD", n) if not unicodedata.combining(ch)))
    return {n.strip() for n in out if n.strip()}


def _texts(paths: list[Path]) -> dict[str, str]:
    import openpyxl

    out = {}
    for p in paths:
        if p.is_dir():
            out.update(_texts(sorted(q for q in p.rglob("*") if q.is_file())))
        elif p.suffix.lower() in (".xlsx", ".xlsm"):
            wb = openpyxl.load_workbook(p, read_only=True, data_only=True)
            out[str(p)] = "\n".join(ws.title + "\n" + "\n".join("\t".join("" if v is None else str(v) for v in row)
                                                               for row in ws.iter_rows(values_only=True))
                                    for ws in wb.worksheets)
            wb.close()
        elif p.suffix.lower() == ".pkl":
            blob = p.read_bytes()
            out[str(p)] = blob.decode("latin-1") + "\n" + blob.decode("utf-8", errors="ignore")
        else:
            out[str(p)] = p.read_text(encoding="utf-8", errors="replace")
    return out


def _found(texts: dict[str, str], names: set[str]) -> list[str]:
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(sorted(map(re.escape, names), key=len, reverse=True)) + r")(?!\w)",
                         re.IGNORECASE)
    hits = []
    for where, text in texts.items():
        for m in pattern.finditer(_DATA_URI.sub(" ", text)):
            hits.append(f"{Path(where).name}: {m.group(0)!r}")
    return hits


def _programme(tmp_path, *, groups_file: bool) -> tuple[object, Path, list[subprocess.CompletedProcess]]:
    fp = write_forms_programme(tmp_path / "programme")
    if groups_file:
        (fp.folder / "groups.csv").write_text("group_id,group_type\nTuesday group,peer support\n"
                                              "Thursday group,peer support\n")
    out = tmp_path / "outputs"
    runs = [_run("init", str(fp.folder), cwd=tmp_path),
            _run("validate", str(fp.folder), "--pseudonymise", "--quality-csv", str(out / "quality.csv"),
                 cwd=tmp_path)]
    return fp, out, runs


def test_init_and_validate_write_no_name_and_give_a_dataset(tmp_path):
    fp, out, runs = _programme(tmp_path, groups_file=False)
    for r in runs:
        assert r.returncode == 0, r.stderr + r.stdout
        assert "Traceback" not in r.stderr
    assert "Validated programme" in runs[1].stdout and "20 members in 2 groups" in runs[1].stdout
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = ge.load(fp.folder)          # the TOML init wrote, as Python users load it
    (out / "dataset.pkl").write_bytes(pickle.dumps(ds))
    written = [fp.folder / "groupeval.toml", out]
    texts = _texts(written)
    texts.update({f"stdout {i}": r.stdout for i, r in enumerate(runs)})
    texts.update({f"stderr {i}": r.stderr for i, r in enumerate(runs)})
    assert _found(texts, _all_spellings(fp)) == []
    assert len(texts) >= 6
    # the scan can fail: the raw files themselves are full of names
    raw = _texts(sorted(p for p in fp.folder.iterdir() if p.suffix in (".csv", ".xlsx")))
    assert len(_found(raw, _all_spellings(fp))) > 40


def test_report_without_groups_file_writes_no_name(tmp_path):
    fp, out, runs = _programme(tmp_path, groups_file=False)
    assert all(r.returncode == 0 for r in runs), [r.stderr for r in runs]
    report = _run("report", str(fp.folder), "--out", str(out / "report.html"), "--pseudonymise", "--quiet",
                  cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    produced = sorted(p for p in out.rglob("*") if p.is_file())
    assert {".html", ".csv", ".xlsx"} <= {p.suffix for p in produced}
    texts = _texts([fp.folder / "groupeval.toml", out])
    texts.update({"report stdout": report.stdout, "report stderr": report.stderr})
    assert _found(texts, _all_spellings(fp)) == []
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "BRS" in html and "PHQ-9" in html        # the answers in words were scored
