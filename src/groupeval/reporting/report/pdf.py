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

__all__ = ["find_chromium", "print_pdf", "PdfJob", "CHROMIUM_FLAGS"]

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


class PdfJob:
    """Chromium printing in the background (started as soon as the HTML exists; :meth:`wait` to finish)."""

    def __init__(self, html: Path, pdf: Path, *, timeout: float = 120.0):
        self.pdf = pdf
        self.timeout = timeout
        self._profile = tempfile.TemporaryDirectory(prefix="groupeval-chromium-")
        cmd = [find_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={self._profile.name}", f"--print-to-pdf={pdf}",
               html.resolve().as_uri()]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._profile.cleanup()

    def wait(self) -> Path:
        try:
            _, err = self.proc.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise ReportError(f"Chromium did not finish printing the PDF within {self.timeout:.0f} s.") from None
        finally:
            if self.proc.poll() is None:  # interrupted (Ctrl-C): stop the browser too
                self.proc.kill()
            self._profile.cleanup()
        if self.proc.returncode != 0 or not self.pdf.exists() or self.pdf.stat().st_size == 0:
            raise ReportError(f"Chromium could not print the PDF (exit {self.proc.returncode}): {(err or '')[-500:]}")
        return self.pdf


def print_pdf(html: Path, pdf: Path, *, timeout: float = 120.0) -> Path:
    """Print ``html`` to ``pdf`` with headless Chromium (A4, the report's print style sheet)."""
    return PdfJob(html, pdf, timeout=timeout).wait()
