"""Lots (batches): their creation and lineage, trace events (EPCIS) and their hash chain, recalls.

What other packages may call is re-exported here: `from traceability import lots;
lots.trace_summary(…)`. Modules: `batches`, `events`, `epcis`, `recalls`, `views`, `api`,
`forms`, `cli`, `openapi`.
"""

from traceability.lots.batches import (
    LotRef,
    TraceSummary,
    batches_of,
    children,
    create_batch,
    descendant_ids,
    get_batch,
    origin_line,
    parents,
    trace_summary,
)
from traceability.lots.epcis import epcis_document, lot_uri
from traceability.lots.events import (
    EventKind,
    correct_event,
    events_of,
    record_event,
    timeline,
    verify_chain,
)
from traceability.lots.recalls import RecallResult, recall_batch

__all__ = [
    "EventKind",
    "LotRef",
    "RecallResult",
    "TraceSummary",
    "batches_of",
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
