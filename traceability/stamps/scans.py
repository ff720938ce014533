"""Authenticity: what a scan of a stamp says, every scan counted, and the scratch-off PIN.

Personal data: a scan keeps its time, the client's network coarsened to a /24 (IPv4) or /48
(IPv6) and a browser family ("Chrome · Android"): enough to notice one stamp scanned across
many places, not enough to single out a person. No full address, no full user agent.
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import String, bindparam, cast, func, insert, literal, select, update

from core.db import db, utcnow
from core.numbers import parse_id
from traceability.models import BatchStatus, Scan, Stamp, StampRun, StampState
from traceability.stamps.codes import pin_matches

# The copy warning needs evidence from several independent scans (docs/stamps.md): a stamp seen
# from at least COPY_NETWORKS distinct networks (a /24 or /48: a burst from one address, or a
# thousand scans behind one NAT, count as one place), and either over at least COPY_SPAN, or in
# more than SCAN_COPY_WARNING_THRESHOLD sightings (distinct network and day pairs). A box is
# scanned by its buyer and family, not across a province for weeks.
COPY_NETWORKS = 5
COPY_SPAN = timedelta(days=14)


class Verdict(enum.StrEnum):
    GENUINE = "genuine"  # active, its lot not recalled
    RECALLED = "recalled"  # active, but its lot (or a parent lot) was recalled
    NOT_ACTIVATED = "not_activated"  # printed, never activated: says nothing about a product
    VOID = "void"
    UNKNOWN = "unknown"  # no such stamp


def verdict_from(state: str, batch_status: str | None) -> Verdict:
    """The verdict from the stamp's state and its lot's status (None: no lot)."""
    if state == StampState.VOID:
        return Verdict.VOID
    if state != StampState.ACTIVE or batch_status is None:
        return Verdict.NOT_ACTIVATED
    if batch_status == BatchStatus.RECALLED:
        return Verdict.RECALLED
    return Verdict.GENUINE


class PrintedStamp(NamedTuple):
    """A stamp found by its Digital Link, with what the resolver needs of its run."""

    id: int
    batch_id: int | None  # the lot its run was printed for
    dl_lot: str | None  # the lot printed in its link


def find_by_digital_link(gtin14: str, serial: str, lot: str | None = None) -> PrintedStamp | None:
    """The stamp printed as …/01/<gtin>[/10/<lot>]/21/<serial> (one query, its run with it).

    Runs ordered since random Digital Link serials exist are found by that serial only (the
    lot may be left out, as GS1 allows; a wrong lot finds nothing). Older runs printed the
    sequential serial (exact text, no leading zeros): those links keep working, but only with
    their lot, and a sequential number never finds a stamp that has a random serial."""
    base = select(Stamp.id, StampRun.batch_id, StampRun.dl_lot).join(
        StampRun, StampRun.id == Stamp.run_id
    )
    row = db.session.execute(
        base.where(Stamp.dl_serial == serial, StampRun.dl_gtin == gtin14).limit(1)
    ).first()
    if row is not None:
        return PrintedStamp(*row) if lot is None or row.dl_lot == lot else None
    number = parse_id(serial)
    if lot is None or number is None or serial != str(number):
        return None
    query = base.where(
        StampRun.dl_gtin == gtin14,
        StampRun.dl_lot == lot,
        Stamp.serial == number,
        Stamp.dl_serial.is_(None),
    )
    row = db.session.execute(query.limit(1)).first()
    return PrintedStamp(*row) if row is not None else None


# ------------------------------------------------------------------------------ client facts


def coarse_network(address: str | None) -> str:
    """'203.0.113.57' → '203.0.113.0/24'; IPv6 → its /48; '' when unknown or malformed."""
    if not address:
        return ""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return ""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


_BROWSERS = (  # first match wins: in-app browsers and forks before the engines they wrap
    ("Zalo", "Zalo"),
    ("FBAN", "Facebook"),
    ("FBAV", "Facebook"),
    ("coc_coc", "Cốc Cốc"),
    ("CocCoc", "Cốc Cốc"),
    ("SamsungBrowser", "Samsung Internet"),
    ("Edg", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("FxiOS", "Firefox"),
    ("CriOS", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)
_BOTS = ("bot", "spider", "crawl", "curl", "wget", "python", "http", "java/")


def browser_family(user_agent: str | None) -> str:
    """A coarse label such as 'Chrome · Android' (never the user agent itself)."""
    ua = (user_agent or "")[:512]
    if not ua:
        return ""
    lowered = ua.lower()
    if any(word in lowered for word in _BOTS) and "mozilla" not in lowered:
        return "bot"
    browser = next((name for marker, name in _BROWSERS if marker in ua), "other")
    system = next((name for marker, name in _SYSTEMS if marker in ua), "")
    return f"{browser} · {system}" if system else browser


# ------------------------------------------------------------------------------------ scans


@dataclass(frozen=True)
class ScanTally:
    count: int
    first_at: datetime | None
    last_at: datetime | None
    copy_warning: bool = False


@cache
def scan_row_statement() -> Any:
    """The scan's row (Core, built once; its counter is raised in the same transaction)."""
    scan = Scan.__table__
    return insert(scan).values(
        stamp_id=bindparam("stamp"),
        scanned_at=bindparam("now", type_=scan.c.scanned_at.type),
        network=bindparam("network"),
        client=bindparam("client"),
        via=bindparam("via"),
    )


@cache
def _evidence_statement() -> Any:
    """The copy evidence: distinct networks, distinct network-and-day sightings, first and
    last scan (Core, built once)."""
    scan = Scan.__table__
    day = cast(func.date(scan.c.scanned_at), String)
    return select(
        func.count(func.distinct(scan.c.network)),
        func.count(func.distinct(scan.c.network + literal(" ") + day)),
        func.min(scan.c.scanned_at),
        func.max(scan.c.scanned_at),
    ).where(scan.c.stamp_id == bindparam("stamp"), scan.c.network != "")


def with_copy_warning(stamp_id: int, counted: ScanTally, threshold: int) -> ScanTally:
    """Warn only on evidence from several independent scans (see COPY_NETWORKS): no single
    party (one address, one network, one burst) can make a genuine stamp say "may be copied".
    The scan log is read only when the counts could allow a warning."""
    possible = counted.count >= COPY_NETWORKS and (
        counted.count > threshold
        or (
            counted.first_at is not None
            and counted.last_at is not None
            and counted.last_at - counted.first_at >= COPY_SPAN
        )
    )
    warn = False
    if possible:
        networks, sightings, first, last = db.session.execute(
            _evidence_statement(), {"stamp": stamp_id}
        ).one()
        spread = first is not None and last is not None and last - first >= COPY_SPAN
        warn = (networks or 0) >= COPY_NETWORKS and (spread or (sightings or 0) > threshold)
    return ScanTally(counted.count, counted.first_at, counted.last_at, warn)


# -------------------------------------------------------------------------------------- PIN


class PinVerdict(enum.StrEnum):
    FIRST = "first"  # genuine: verified for the first time now
    ALREADY = "already"  # verified before, at `verified_at`
    INACTIVE = "inactive"  # right PIN, but the stamp is not (or no longer) valid
    RECALLED = "recalled"  # right PIN on a genuine stamp, but its lot is recalled: do not use
    WRONG = "wrong"  # wrong PIN, no PIN on this stamp, or no such stamp: the same answer


@dataclass(frozen=True)
class PinResult:
    verdict: PinVerdict
    verified_at: datetime | None = None


def check_pin(
    stamp_id: int | None, pin: str | None, *, recalled: bool = False, shown: bool = True
) -> PinResult:
    """Verify a scratch-off PIN. Only an active stamp of a lot not recalled is ever confirmed
    (a recalled lot's PIN answers that the lot is recalled, and is not marked verified); the
    first right answer is recorded with one conditional UPDATE, so two people checking at the
    same moment cannot both be told 'first verification'."""
    pin = "".join((pin or "").split())[:32]
    row = None
    if stamp_id is not None:
        row = db.session.execute(
            select(Stamp.code, Stamp.pin_hash, Stamp.state).where(Stamp.id == stamp_id)
        ).first()
    if row is None or not pin_matches(row.code, row.pin_hash, pin):
        return PinResult(PinVerdict.WRONG)
    if row.state != StampState.ACTIVE or not shown:  # shown: its product is public
        return PinResult(PinVerdict.INACTIVE)
    if recalled:
        return PinResult(PinVerdict.RECALLED)
    now = utcnow()
    result = db.session.execute(
        update(Stamp)
        .where(Stamp.id == stamp_id, Stamp.pin_verified_at.is_(None))
        .values(pin_verified_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:
        return PinResult(PinVerdict.FIRST, now)
    verified_at = db.session.scalar(select(Stamp.pin_verified_at).where(Stamp.id == stamp_id))
    return PinResult(PinVerdict.ALREADY, verified_at)
