"""The report seen in a real browser: headless Chromium renders it offline.

Needs Debian's ``chromium`` (``apt-get install chromium``).  Skipped when it
is missing locally; a failure when the environment variable ``CI`` is set.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from _helpers_report import SECTIONS, built_report

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--virtual-time-budget=5000"]


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
    # open it from a folder of its own: nothing else beside it can be fetched
    d = tmp_path_factory.mktemp("browser")
    copy = d / "report.html"
    shutil.copy(path, copy)
    return copy


def test_chromium_renders_the_sections_and_decodes_the_images(chromium, report, tmp_path):
    dom = _run(chromium, tmp_path, "--dump-dom", report.as_uri()).stdout
    headings = [re.sub(r"<[^>]+>", "", h).replace("¶", "").strip()
                for h in re.findall(r"<h2[^>]*>(.*?)</h2>", dom, flags=re.S)]
    for section in SECTIONS:
        assert section in headings, (section, headings)
    imgs = re.findall(r'<img[^>]+src="(data:image/png;base64,[^"]+)"', dom)
    assert len(imgs) >= 8
    assert not re.search(r'<(script|link)[^>]+(src|href)="https?:', dom)  # nothing fetched from the network


def test_screenshot_is_not_blank_and_shows_coloured_figures(chromium, report, tmp_path):
    shot = tmp_path / "shot.png"
    _run(chromium, tmp_path, f"--screenshot={shot}", "--window-size=1200,6000", report.as_uri())
    import matplotlib.image as mpimg

    img = mpimg.imread(shot)[..., :3]
    assert img.shape[0] == 6000 and img.shape[1] == 1200
    assert img.std() > 0.05  # not a blank page
    # colour (the Okabe-Ito lines of the figures), not only black text on white
    chroma = img.max(axis=2) - img.min(axis=2)
    assert (chroma > 0.3).mean() > 0.001
    # text: many dark pixels
    assert (img.mean(axis=2) < 0.3).mean() > 0.002
