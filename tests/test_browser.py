"""The report seen in a real browser and on paper: headless Chromium renders it offline and prints it.

Needs Debian's ``chromium`` (``apt-get install chromium``; scripts/test.sh installs it in CI). Skipped
when it is missing locally; a failure when the environment variable ``CI`` is set.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from _helpers_report import SECTIONS, built_report, programme_dir
from groupeval.reporting.report.pdf import CHROMIUM_FLAGS

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [*CHROMIUM_FLAGS, "--virtual-time-budget=5000"]


@pytest.fixture(scope="module")
def chromium():
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed but CI is set: install Debian's chromium package "
                        "(apt-get install -y chromium) before running the tests")
        pytest.skip("chromium not installed (apt-get install chromium); this test fails instead when CI is set")
    return CHROMIUM


def _run(chromium, tmp_path, *args):
    profile = tmp_path / "profile"
    proc = subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                          text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    path = built_report("sample", "program")
    d = tmp_path_factory.mktemp("browser")  # a folder of its own: nothing beside it can be fetched
    copy = d / "report.html"
    shutil.copy(path, copy)
    return copy


def test_chromium_renders_the_sections_and_decodes_the_images(chromium, report, tmp_path):
    dom = _run(chromium, tmp_path, "--dump-dom", report.as_uri()).stdout
    headings = [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<h[23][^>]*>(.*?)</h[23]>", dom, flags=re.S)]
    for section in SECTIONS:
        assert section in headings, (section, headings)
    imgs = re.findall(r'<img[^>]+src="(data:image/png;base64,[^"]+)"', dom)
    assert len(imgs) >= 4
    assert not re.search(r'<(script|link)[^>]+(src|href)="https?:', dom)  # nothing fetched from the network


def test_screenshot_is_not_blank_and_shows_coloured_figures(chromium, report, tmp_path):
    shot = tmp_path / "shot.png"
    _run(chromium, tmp_path, f"--screenshot={shot}", "--window-size=1200,6000", report.as_uri())
    import matplotlib.image as mpimg

    img = mpimg.imread(shot)[..., :3]
    assert img.shape[0] == 6000 and img.shape[1] == 1200
    assert img.std() > 0.05  # not a blank page
    chroma = img.max(axis=2) - img.min(axis=2)
    assert (chroma > 0.3).mean() > 0.001  # colour (the figures), not only black text on white
    assert (img.mean(axis=2) < 0.3).mean() > 0.002  # text


HOSTILE_TYPES = ['<img src=x onerror="document.body.setAttribute(\'data-pwned\',\'img\')">',
                 '<svg onload="document.body.setAttribute(\'data-pwned\',\'svg\')">',
                 '<iframe srcdoc="<script>parent.document.body.setAttribute(\'data-pwned\',\'iframe\')</script>">',
                 "[click](javascript:document.body.setAttribute('data-pwned','link'))"]


def test_hostile_group_types_and_programme_name_do_not_run(chromium, tmp_path):
    import zipfile

    from groupeval.reporting.report import build_report, tables_paths
    from groupeval.sample import generate

    ds = generate(3, n_groups=4, members_per_group=(12, 16))
    g = ds.groups.copy()
    g["group_type"] = [HOSTILE_TYPES[i % 4] for i in range(len(g))]
    ds = ds.replace(groups=g, meta={**ds.meta, "instruments": ("phq9",)})
    name = '<script>document.body.setAttribute("data-pwned","title")</script> =HYPERLINK("http://x","y")'
    out = build_report(None, tmp_path / "hostile" / "report.html", dataset=ds, programme=name,
                       period="<b onmouseover=alert(1)>2025</b>", progress=False)
    dom = _run(chromium, tmp_path, "--dump-dom", out.as_uri()).stdout
    assert not re.search(r"<body[^>]*data-pwned", dom), "a hostile string ran"
    assert not re.search(r"<(svg|iframe|b)\b", dom) and "javascript:" not in re.sub(r">[^<]*<", "><", dom)
    assert len(re.findall(r"<img\b", dom)) == len(re.findall(r'<img[^>]+src="data:image/png;base64,', dom))
    assert "&lt;img src=x onerror=" in dom  # shown as the characters it is
    folder, xlsx = tables_paths(out)
    with zipfile.ZipFile(xlsx) as z:
        xml = "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("xl/worksheets/"))
    assert "<f>" not in xml and "<f " not in xml


def _pdf_pages(pdf):
    import pdfplumber

    with pdfplumber.open(pdf) as doc:
        return [(p.width, p.extract_words(keep_blank_chars=False), p.extract_text() or "") for p in doc.pages]


def test_pdf_keeps_every_table_on_the_page_and_the_summary_within_three_pages(chromium, tmp_path):
    out = built_report("sample", "funder", pdf=True)
    pages = _pdf_pages(out.with_suffix(".pdf"))
    assert len(pages) >= 4
    for width, words, _ in pages:
        assert all(w["x1"] <= width + 0.5 and w["x0"] >= -0.5 for w in words), "text cut off at the page edge"
    text = "\n".join(t for _, _, t in pages)
    html = out.read_text(encoding="utf-8")
    for table in re.findall(r"<table.*?</table>", html, flags=re.S):  # every table's last column is printed
        last = re.sub(r"<[^>]+>", "", re.findall(r"<th[^>]*>(.*?)</th>", table, flags=re.S)[-1])
        assert last.split()[-1] in text, last
    appendix = next(i for i, (_, _, t) in enumerate(pages) if "Technical appendix" in t)
    assert appendix <= 3, f"the board summary takes {appendix} pages"
    titles = set(SECTIONS)
    for _, _, t in pages[:-1]:  # no heading stranded at the foot of a page
        lines = [ln.strip() for ln in t.splitlines() if ln.strip()]
        assert lines and lines[-1] not in titles, lines[-1]


def test_small_programme_pdf_also_fits(chromium, tmp_path):
    from groupeval.reporting.report import build_report

    out = build_report(programme_dir("small"), tmp_path / "small" / "r.html", audience="funder", progress=False,
                       pdf=True)
    pages = _pdf_pages(out.with_suffix(".pdf"))
    for width, words, _ in pages:
        assert all(w["x1"] <= width + 0.5 for w in words)
    appendix = next(i for i, (_, _, t) in enumerate(pages) if "Technical appendix" in t)
    assert appendix <= 3
