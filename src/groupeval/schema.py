"""The canonical tables: names, required and optional columns, dtypes.

This module is the single source of truth for the data model fixed in
DESIGN.md.  Every layer imports it; it imports nothing from groupeval
except :mod:`groupeval.exceptions`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["TableSpec", "TABLES", "TABLE_NAMES", "EXIT_REASONS", "FACILITATION", "FORMAT",
           "ATTENDANCE_STATUS", "MEMBER_STATUS", "IDENTIFIER_PATTERNS", "SOURCE_FILE", "SOURCE_ROW"]

#: Provenance columns the readers add so validation can name the file and the
#: spreadsheet row (header = row 1) of every problem.  Validation removes them
#: from the tables of the final :class:`~groupeval.Dataset`.
SOURCE_FILE = "_source_file"
SOURCE_ROW = "_source_row"


@dataclass(frozen=True)
class TableSpec:
    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    #: column -> kind: "id" (string), "date" (datetime64[ns], day), "bool", "category", "number", "string"
    kinds: dict[str, str] = field(default_factory=dict)
    #: columns that identify one row (duplicates are detected on these)
    key: tuple[str, ...] = ()


TABLES: dict[str, TableSpec] = {
    "groups": TableSpec(
        "groups",
        required=("group_id", "group_type"),
        optional=("facilitation", "format", "site", "meeting_frequency", "start_date", "end_date"),
        kinds={"group_id": "id", "group_type": "string", "facilitation": "category", "format": "category",
               "site": "string", "meeting_frequency": "string", "start_date": "date", "end_date": "date"},
        key=("group_id",),
    ),
    "members": TableSpec(
        "members",
        required=("member_id", "group_id", "enrolled_on"),
        optional=("exited_on", "exit_reason"),
        kinds={"member_id": "id", "group_id": "id", "enrolled_on": "date", "exited_on": "date",
               "exit_reason": "category"},
        key=("member_id", "group_id"),
    ),
    "sessions": TableSpec(
        "sessions",
        required=("group_id", "session_date"),
        optional=("cancelled",),
        kinds={"group_id": "id", "session_date": "date", "cancelled": "bool"},
        key=("group_id", "session_date"),
    ),
    "attendance": TableSpec(
        "attendance",
        required=("member_id", "group_id", "session_date", "attended"),
        optional=("status",),
        kinds={"member_id": "id", "group_id": "id", "session_date": "date", "attended": "bool",
               "status": "category"},
        key=("member_id", "group_id", "session_date"),
    ),
    "responses": TableSpec(
        "responses",
        required=("member_id", "timepoint"),
        optional=("completed_on", "group_id"),
        kinds={"member_id": "id", "timepoint": "string", "completed_on": "date", "group_id": "id"},
        key=("member_id", "timepoint"),
    ),
}
TABLE_NAMES = tuple(TABLES)

EXIT_REASONS = ("completed", "dropped", "moved", "other")
FACILITATION = ("peer", "professional", "co-facilitated")
FORMAT = ("in-person", "online", "hybrid")
ATTENDANCE_STATUS = ("present", "absent", "excused", "late")
MEMBER_STATUS = ("active", "completed", "dropped")

#: Regular expressions (matched case-insensitively against normalised column
#: names: lower case, non-alphanumerics as "_") that flag direct identifiers.
IDENTIFIER_PATTERNS = {
    "name": r"^(full_?|first_?|last_?|given_?|family_?|sur|member_?|participant_?|client_?)?name$|^(first|last|sur)_?name|^name_",
    "email": r"e_?mail",
    "phone": r"phone|mobile|cell|tel(ephone)?$|^tel_",
    "address": r"address|street|postcode|post_code|zip(_?code)?$",
    "date of birth": r"^dob$|date_?of_?birth|birth_?date|birthday",
}
