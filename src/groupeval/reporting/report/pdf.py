"""PDF of the HTML report, printed by headless Chromium.

Why Chromium rather than WeasyPrint: the report's HTML is what people open in
a browser, so printing it with a browser engine gives the same layout (the
print style sheet decides page breaks and table widths) and the browser test
already needs Chromium; WeasyPrint would add Pango/cairo system libraries
and a second layout engine with its own CSS support.  Chromium runs with no
network (the page fetches nothing anyway) and a throw-away profile.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .errors import ReportError

__all__ = ["find_chromium", "print_pdf", "CHROMIUM_FLAGS"]

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--no-pdf-header-footer", "--disable-extensions",
                  "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>")


def find_chromium() -> str:
    """The Chromium executable (``GROUPEVAL_CHROMIUM``, else ``chromium`` / ``chromium-browser`` / Chrome)."""
    env = os.environ.get("GROUPEVAL_CHROMIUM")
    for name in ([env] if env else []) + ["chromium", "chromium-browser", "google-chrome", "chrome"]:
        exe = shutil.which(name) if name else None
        if exe:
            return exe
    raise ReportError("--pdf needs Chromium to print the report: install it (Debian/Ubuntu: apt-get install "
                      "chromium) or set GROUPEVAL_CHROMIUM to its path.")


def print_pdf(html: Path, pdf: Path, *, timeout: float = 120.0) -> Path:
    """Print ``html`` to ``pdf`` with headless Chromium (A4, the report's print style sheet)."""
    exe = find_chromium()
    with tempfile.TemporaryDirectory(prefix="groupeval-chromium-") as profile:
        cmd = [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--print-to-pdf={pdf}",
               "--virtual-time-budget=2000", html.resolve().as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ReportError(f"Chromium did not finish printing the PDF within {timeout:.0f} s.") from None
    if proc.returncode != 0 or not pdf.exists() or pdf.stat().st_size == 0:
        raise ReportError(f"Chromium could not print the PDF (exit {proc.returncode}): {proc.stderr[-500:]}")
    return pdf
