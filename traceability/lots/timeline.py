"""A lot's events as people should read them: corrections and retractions folded in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.places import ward
from traceability.lots.event_kinds import EventKind, kind_label, local_event_time
from traceability.models import TraceEvent


@dataclass(frozen=True)
class TimelineEntry:
    """One event as people should read it. state: "current", "corrected" (replaced by
    `superseded_by_id`) or "retracted" (declared not to have happened)."""

    id: int
    seq: int
    kind: str
    label: str
    event_time: datetime  # UTC
    local_time: datetime  # in the event's own time-zone offset
    tz_offset: str
    location_ward_code: int | None
    location_text: str
    details: dict[str, Any]
    biz_step: str
    disposition: str | None
    state: str
    corrects_event_id: int | None
    superseded_by_id: int | None
    hash: str
    time_known: bool  # False when only the date was recorded

    @property
    def is_current(self) -> bool:
        return self.state == "current"


def timeline(events: list[TraceEvent]) -> list[TimelineEntry]:
    """Effective events in time order: a corrected event is shown as corrected and its
    replacement takes its place; retraction records themselves are not shown."""
    superseded: dict[int, int] = {}
    retracted: set[int] = set()
    for event in events:
        if event.corrects_event_id is not None:
            superseded[event.corrects_event_id] = event.id
            if event.kind == EventKind.CORRECTION:
                retracted.add(event.corrects_event_id)
    entries: list[TimelineEntry] = []
    for event in events:
        if event.kind == EventKind.CORRECTION:
            continue
        if event.id in retracted:
            state = "retracted"
        elif event.id in superseded:
            state = "corrected"
        else:
            state = "current"
        details = dict(event.details or {})
        entries.append(
            TimelineEntry(
                id=event.id,
                seq=event.seq,
                kind=event.kind,
                label=kind_label(event.kind),
                event_time=event.event_time,
                local_time=local_event_time(event),
                tz_offset=event.event_tz_offset,
                location_ward_code=event.location_ward_code,
                location_text=event.location_text or _ward_name(event.location_ward_code),
                details=details,
                biz_step=event.biz_step,
                disposition=event.disposition,
                state=state,
                corrects_event_id=event.corrects_event_id,
                superseded_by_id=None if event.id in retracted else superseded.get(event.id),
                hash=event.hash,
                time_known=details.get("time_known", True) is not False,
            )
        )
    entries.sort(key=lambda e: (e.event_time, e.seq))
    return entries


def _ward_name(code: int | None) -> str:
    place = ward(code)
    return place.name if place else ""
