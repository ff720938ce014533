"""Lots (batches): their creation and lineage, trace events (EPCIS) and their hash chain, recalls.

What other packages may call is re-exported here: `from traceability import lots;
lots.trace_summary(…)`. Modules: `batches`, `lineage`, `summary`, `events`, `event_kinds`,
`epcis`, `recalls`, `views`, `event_views`, `api`, `schemas`, `forms`, `cli`, `openapi`.
"""

from traceability.lots.batches import batches_of, create_batch, get_batch, origin_line
from traceability.lots.chain import verify_chain
from traceability.lots.epcis import epcis_document, lot_uri
from traceability.lots.event_kinds import EventKind
from traceability.lots.events import correct_event, events_of, record_event
from traceability.lots.lineage import add_parents, children, descendant_ids, parents
from traceability.lots.recalls import RecallResult, recall_batch
from traceability.lots.summary import LotRef, TraceSummary, trace_summary
from traceability.lots.timeline import timeline

__all__ = [
    "EventKind",
    "LotRef",
    "RecallResult",
    "TraceSummary",
    "batches_of",
    "add_parents",
    "children",
    "correct_event",
    "create_batch",
    "descendant_ids",
    "epcis_document",
    "events_of",
    "get_batch",
    "lot_uri",
    "origin_line",
    "parents",
    "recall_batch",
    "record_event",
    "timeline",
    "trace_summary",
    "verify_chain",
]
