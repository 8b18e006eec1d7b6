"""The report's own error."""
from __future__ import annotations

from ...base.exceptions import GroupevalError

__all__ = ["ReportError"]


class ReportError(GroupevalError):
    """The report could not be built or written (e.g. the output path cannot be written)."""
