"""What a rule can see of each fact: the fields of door events, entries, operations and incidents.

A rule file's filters, joins and ``group_by`` keys name these fields; a field that is not
here is refused when the file is loaded, so a typo cannot make a rule silently match
nothing.
"""

from __future__ import annotations

from enum import StrEnum


class Source(StrEnum):
    DOOR_EVENTS = "door_events"
    """Every accepted door event: granted, denied, forced, held open."""
    ENTRIES = "entries"
    """Granted door events with a direction through a door into an operating room (the ledger)."""
    PROCEDURES = "procedures"
    """Operations on the schedule, cancelled ones included (filter on ``status``)."""
    INCIDENTS = "incidents"
    """Camera incidents (the continuity wing's), counted by the incident windows only."""


class Kind(StrEnum):
    TEXT = "text"
    FLAG = "flag"
    LIST = "list"


EVENT_FIELDS: dict[str, Kind] = {
    "event_id": Kind.TEXT,
    "door_id": Kind.TEXT,
    "door_kind": Kind.TEXT,
    "room_id": Kind.TEXT,
    "person": Kind.TEXT,
    "person_id": Kind.TEXT,
    "credential_id": Kind.TEXT,
    "verify_mode": Kind.TEXT,
    "result": Kind.TEXT,
    "direction": Kind.TEXT,
    "late": Kind.FLAG,
    # Who the person was on the register at the moment of the event.
    "registered": Kind.FLAG,
    "licensed": Kind.FLAG,
    "licence_number": Kind.TEXT,
    "licence_problem": Kind.TEXT,
    "profession": Kind.TEXT,
    "lead_physician": Kind.FLAG,
}
"""``person`` is the person id, or ``credential:<id>`` for a card the terminal could not name.
``licence_problem`` is empty when the licence held, else ``not_registered``, ``expired``,
``not_yet_valid``, ``suspended`` or ``revoked``; ``licensed`` is true exactly when it is empty."""

PROCEDURE_FIELDS: dict[str, Kind] = {
    "procedure_id": Kind.TEXT,
    "procedure_ref": Kind.TEXT,
    "room_id": Kind.TEXT,
    "category": Kind.TEXT,
    "anaesthesia": Kind.TEXT,
    "status": Kind.TEXT,
    "lead_surgeon": Kind.TEXT,
    "anaesthetist": Kind.TEXT,
    # The lead surgeon of record as the register stood when the operation was to start.
    "lead_person_id": Kind.TEXT,
    "lead_registered": Kind.FLAG,
    "lead_licensed": Kind.FLAG,
    "lead_scopes": Kind.LIST,
    "anaesthetist_person_id": Kind.TEXT,
}


INCIDENT_FIELDS: dict[str, Kind] = {
    "incident_id": Kind.TEXT,
    "camera_id": Kind.TEXT,
    "camera_name": Kind.TEXT,
    "fault": Kind.TEXT,
    "status": Kind.TEXT,
    # Where the camera is: its zone's area type, and the operating room of a door it watches.
    "area_type": Kind.TEXT,
    "door_id": Kind.TEXT,
    "room_id": Kind.TEXT,
    "operating_room": Kind.FLAG,
    # Whether the fallback supervision that covers the outage is on record.
    "fallback": Kind.FLAG,
}
"""``operating_room`` is true for a camera in a zone at an operating-room door or at the
surgical-area entrance, or linked to a door of an operating room. ``status`` is ``open``,
``recovered`` or ``closed``."""


def fields_of(source: Source) -> dict[str, Kind]:
    if source == Source.PROCEDURES:
        return PROCEDURE_FIELDS
    if source == Source.INCIDENTS:
        return INCIDENT_FIELDS
    return EVENT_FIELDS


def is_event_source(source: Source) -> bool:
    return source in (Source.DOOR_EVENTS, Source.ENTRIES)
