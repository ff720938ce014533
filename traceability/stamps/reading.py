"""The one scan path: read a stamp's facts (and, for a person's view, count the scan) once, and
derive what every format shows from them — the HTML page (scan_page), JSON-LD and the linkset
(linked_data), the PIN check (public_views). No format reads the stamp on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import current_app

from cooperatives.catalog import is_public_status
from cooperatives.models import OcopCertificate
from core.db import db, utcnow
from traceability.lots.summary import TraceSummary, trace_summary
from traceability.stamps import scan_counting, scans
from traceability.stamps.codes import canonical_url
from traceability.stamps.scan_cache import StampFacts, count_scan, stamp_facts


@dataclass(frozen=True)
class ScanContext:
    """Who scanned, coarsened (see scans): given only when this view counts as a scan."""

    network: str
    client: str


@dataclass(frozen=True)
class StampReading:
    """A stamp as every format shows it. `facts` is None for an unknown code."""

    facts: StampFacts | None
    verdict: scans.Verdict
    tally: scans.ScanTally | None = None
    link: str = ""  # the canonical address of the stamp's page
    via: str = "code"  # "dl": reached by its Digital Link, which must not reveal its code
    today: date | None = None  # the local date it was read for (certificates valid today)

    @property
    def has_lot(self) -> bool:
        """Whether the page shows the lot (genuine or recalled)."""
        return self.verdict in (scans.Verdict.GENUINE, scans.Verdict.RECALLED)

    @property
    def recalled(self) -> bool:
        return self.verdict == scans.Verdict.RECALLED


UNKNOWN = StampReading(None, scans.Verdict.UNKNOWN)


def read_stamp(
    *,
    today: date,
    via: str,
    code: str | None = None,
    stamp_id: int | None = None,
    scan: ScanContext | None = None,
) -> StampReading:
    """Read the stamp with this normalised code or id; with `scan`, count this view as a scan
    (on PostgreSQL one statement committed on its own, scan_counting; on SQLite, or inside a
    transaction the caller already holds, one UPDATE … RETURNING and the scan's row in the
    caller's unit of work)."""
    if code is None and stamp_id is None:
        return UNKNOWN
    one_statement = scan_counting.applies()
    if scan is not None:
        facts = (scan_counting.count_scan if one_statement else count_scan)(
            today=today,
            now=utcnow(),
            network=scan.network,
            client=scan.client,
            via=via,
            code=code,
            stamp_id=stamp_id,
        )
    else:
        read = scan_counting.stamp_facts if one_statement else stamp_facts
        facts = read(today=today, code=code, stamp_id=stamp_id)
    if facts is None:
        return UNKNOWN
    counted = scans.ScanTally(facts.scan_count, facts.first_scanned_at, facts.last_scanned_at)
    threshold = int(current_app.config["SCAN_COPY_WARNING_THRESHOLD"])
    # the one visibility rule (cooperatives.catalog): a stamp of a product the public cannot
    # see shows no product (as not yet activated) in every format, and its PIN confirms nothing
    public = is_public_status(facts.product_status)
    return StampReading(
        facts=facts,
        verdict=scans.verdict_from(facts.state, facts.batch_status if public else None),
        tally=scans.with_copy_warning(facts.id, counted, threshold),
        link=canonical_url(
            facts.code,
            facts.serial,
            facts.dl_gtin,
            facts.dl_lot,
            via=via,
            dl_serial=facts.dl_serial,
        ),
        via=via,
        today=today,
    )


def lot_of(facts: StampFacts) -> tuple[TraceSummary, OcopCertificate | None]:
    """The lot a stamp shows, and the certificate the one statement chose (valid today)."""
    summary = trace_summary(facts.batch_id)
    certificate = (
        db.session.get(OcopCertificate, facts.certificate_id) if facts.certificate_id else None
    )
    return summary, certificate
