"""Common raw spellings of the canonical columns, per table (matched after :func:`~groupeval.base.vocab.norm_name`).

Readers rename a raw column to its canonical name when exactly one column
of the file has one of these spellings and the canonical name is not there
already; an explicit ``columns=`` mapping always wins.  Validation applies
the same table to frames given directly.
"""
from __future__ import annotations

import re

__all__ = ["TABLE_ALIASES", "ITEM_PATTERN", "is_item_name"]

#: item columns are ``<instrument>_<n>`` (e.g. ``phq9_1``, ``whoqol_bref_26``)
ITEM_PATTERN = re.compile(r"^[a-z][a-z0-9_]*?_\d+$")


def is_item_name(column: str) -> bool:
    """A column named like an item (and not a REDCap form-status or system column)."""
    return bool(ITEM_PATTERN.match(column)) and not column.endswith("_complete") and not column.startswith("redcap_")

_MEMBER = ("member_id", "member", "participant_id", "participant", "client_id", "person_id", "member_code")
_GROUP = ("group_id", "group", "group_code", "group_name")

TABLE_ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "groups": {
        "group_id": _GROUP,
        "group_type": ("group_type", "type", "programme_type", "program_type"),
    },
    "members": {
        "member_id": _MEMBER,
        "group_id": _GROUP,
        "enrolled_on": ("enrolled_on", "enrolled", "enrolment_date", "enrollment_date", "date_enrolled", "joined",
                        "date_joined", "join_date", "intake_date"),
        "exited_on": ("exited_on", "exited", "exit_date", "date_exited", "left", "date_left", "leave_date"),
        "exit_reason": ("exit_reason", "reason_for_leaving", "leaving_reason", "reason_left"),
    },
    "sessions": {
        "group_id": _GROUP,
        "session_date": ("session_date", "date", "session", "meeting_date"),
    },
    "attendance": {
        "member_id": _MEMBER,
        "group_id": _GROUP,
        "session_date": ("session_date", "date", "session", "meeting_date", "attendance_date", "sign_in_date",
                         "signed_in", "date_attended", "timestamp", "signed_in_at", "check_in"),
        "status": ("status", "attendance_status"),
        "attended": ("attended", "attendance", "mark", "present", "here"),
    },
    "responses": {
        "member_id": _MEMBER[:-1],
        "timepoint": ("timepoint", "time_point", "wave", "survey_wave"),
        "completed_on": ("completed_on", "completion_date", "date_completed", "survey_date"),
        "group_id": ("group_id", "group"),
    },
}
