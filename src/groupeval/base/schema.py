"""The canonical tables: names, required and optional columns, dtypes.

This module is the single source of truth for the data model fixed in
docs/design.md.  Every layer imports it; it imports nothing from groupeval
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

#: words naming a place or thing: "<thing>_name" is not a person's name
_THINGS = ("group", "site", "programme", "program", "session", "instrument", "event", "form", "file", "sheet",
           "venue", "org", "organisation", "organization", "company", "school", "course", "project", "study",
           "survey", "field", "variable", "item", "question", "scale", "test", "drug", "medication", "product",
           "team", "class", "city", "town", "country", "place", "street", "ward", "unit")
_NOT_A_THING = "".join(f"(?<!{w}_)" for w in _THINGS)
#: Regular expressions that flag direct identifiers.  They are matched with
#: ``re.search`` against column names written plainly (camel case split,
#: accents removed, lower case, every run of non-alphanumerics replaced by
#: "_": see :func:`groupeval.base.identifiers.find_identifier_columns`), and
#: anchored on "_"-separated words so that e.g. "cancelled" or "excellent"
#: never look like a phone column while "Participant Name", "facilitator_name",
#: "E-mail", "Mobile no", "DOB", "fname", "Vorname", "Next of kin" and "NHS
#: number" do.  Names of places or things ("group_name", "site_name",
#: "programme_name", "redcap_event_name") are not identifiers of a person and
#: are not flagged.
IDENTIFIER_PATTERNS = {
    "network address": r"(^|_)ip_?address($|_)|^ip$",
    "name": r"(^|_)" + _NOT_A_THING +
            r"((full|first|last|given|family|sur|fore|middle|maiden|nick|user|member|participant|client|"
            r"patient|person|facilitator|contact|child|parent|carer|guardian|respondent|recipient)_?)?"
            r"names?(_\d+)?($|_)"
            r"|^[flm]_?name$|(^|_)(initials|nombres?|apellidos?|vorname|nachname|familienname|prenom|"
            r"nom_de_famille|nome|cognome|sobrenome|naam|voornaam|achternaam|fornavn|efternavn)($|_)"
            r"|(^|_)next_of_kin($|_)|(^|_)(emergency|ice)_contacts?($|_)|(^|_)kin_contact|^customers?$",
    "email": r"(^|_)e_?mail(_address|s)?($|_)|(^|_)correo($|_)|(^|_)courriel($|_)",
    "phone": r"(^|_)(phone|telephone|tel|mobile|cell|cellphone|cell_phone|whats_?app|telefono|telefon|fax|sms)"
             r"(_?(no|number|num|nr))?($|_)",
    "address": r"(^|_)(address|street|postcode|post_code|postal_code|zip|zipcode|zip_code|direccion|adresse|"
               r"anschrift)($|_)",
    "date of birth": r"^dob$|(^|_)date_?of_?birth($|_)|(^|_)birth_?date($|_)|(^|_)birthday($|_)"
                     r"|(^|_)fecha_de_nacimiento($|_)|(^|_)geburtsdatum($|_)",
    "national or health id number": r"(^|_)(nhs|ssn|medicare|medicaid|mrn|nino)(_?(no|number|num|nr|id))?($|_)"
                                    r"|(^|_)social_security|(^|_)national_insurance|(^|_)ni_number($|_)"
                                    r"|(^|_)passport|(^|_)driv(er|ers|ing)_licen[cs]e|(^|_)medical_record",
    "location": r"(^|_)location_?(latitude|longitude|accuracy)($|_)|^(latitude|longitude|lat|lon|lng)$",
}
