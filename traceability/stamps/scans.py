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
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update

from core.db import db, utcnow
from core.numbers import parse_int
from traceability.models import Batch, BatchStatus, Scan, Stamp, StampRun, StampState
from traceability.stamps.codes import normalize_code, pin_matches

# A stamp seen from this many distinct networks over at least this many days is likely copied
# (a box is scanned by its buyer and family, not across a province for weeks).
COPY_NETWORKS = 5
COPY_SPAN = timedelta(days=14)


class Verdict(enum.StrEnum):
    GENUINE = "genuine"  # active, its lot not recalled
    RECALLED = "recalled"  # active, but its lot (or a parent lot) was recalled
    NOT_ACTIVATED = "not_activated"  # printed, never activated: says nothing about a product
    VOID = "void"
    UNKNOWN = "unknown"  # no such stamp


def verdict_of(stamp: Stamp | None, batch: Batch | None) -> Verdict:
    if stamp is None:
        return Verdict.UNKNOWN
    return verdict_from(stamp.state, batch.status if batch is not None else None)


def verdict_from(state: str, batch_status: str | None) -> Verdict:
    """The verdict from the stamp's state and its lot's status (None: no lot)."""
    if state == StampState.VOID:
        return Verdict.VOID
    if state != StampState.ACTIVE or batch_status is None:
        return Verdict.NOT_ACTIVATED
    if batch_status == BatchStatus.RECALLED:
        return Verdict.RECALLED
    return Verdict.GENUINE


def find_by_code(text: str | None) -> Stamp | None:
    code = normalize_code(text)
    if code is None:
        return None
    return db.session.scalar(select(Stamp).where(Stamp.code == code))


def find_by_digital_link(gtin14: str, serial: str, lot: str | None = None) -> Stamp | None:
    """The stamp printed as …/01/<gtin>[/10/<lot>]/21/<serial> (exact serial text)."""
    number = parse_int(serial, minimum=1)
    if number is None or serial != str(number):
        return None
    query = (
        select(Stamp)
        .join(StampRun, StampRun.id == Stamp.run_id)
        .where(StampRun.dl_gtin == gtin14, Stamp.serial == number)
    )
    if lot is not None:
        query = query.where(StampRun.dl_lot == lot)
    return db.session.scalars(query.limit(1)).first()


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
def scan_statements() -> tuple[Any, Any, Any]:
    """Built once (Core, no ORM objects): the counter update, the scan row, the network count."""
    stamp, scan = Stamp.__table__, Scan.__table__
    now = bindparam("now", type_=Stamp.__table__.c.last_scanned_at.type)
    count = (
        update(stamp)
        .where(stamp.c.id == bindparam("stamp"))
        .values(
            scan_count=stamp.c.scan_count + 1,
            first_scanned_at=func.coalesce(stamp.c.first_scanned_at, now),
            last_scanned_at=now,
        )
        .returning(stamp.c.scan_count, stamp.c.first_scanned_at, stamp.c.last_scanned_at)
    )
    row = insert(scan).values(
        stamp_id=bindparam("stamp"),
        scanned_at=now,
        network=bindparam("network"),
        client=bindparam("client"),
        via=bindparam("via"),
    )
    networks = select(func.count(func.distinct(scan.c.network))).where(
        scan.c.stamp_id == bindparam("stamp"), scan.c.network != ""
    )
    return count, row, networks


def record_scan(stamp_id: int, network: str, client: str, via: str = "code") -> ScanTally:
    """Count a scan atomically in SQL (no lost update under concurrent scans) and log it:
    one UPDATE … RETURNING and one INSERT."""
    count, _row, _networks = scan_statements()
    now = utcnow()
    counted = db.session.execute(count, {"stamp": stamp_id, "now": now}).one()
    log_scan(stamp_id, now, network, client, via)
    return ScanTally(count=counted[0], first_at=counted[1], last_at=counted[2])


def log_scan(stamp_id: int, now: datetime, network: str, client: str, via: str = "code") -> None:
    """The scan's row (its counter was raised by the caller in the same transaction)."""
    db.session.connection().execute(
        scan_statements()[1],
        {
            "stamp": stamp_id,
            "now": now,
            "network": network[:48],
            "client": client[:32],
            "via": via,
        },
    )


def tally(stamp: Stamp) -> ScanTally:
    """The stamp's counts as stored (when this request did not count a scan)."""
    return ScanTally(stamp.scan_count, stamp.first_scanned_at, stamp.last_scanned_at)


def with_copy_warning(stamp_id: int, counted: ScanTally, threshold: int) -> ScanTally:
    """Warn past `threshold` scans, or when many networks saw it over weeks."""
    warn = counted.count > threshold
    spread = (
        counted.count >= COPY_NETWORKS
        and counted.first_at is not None
        and counted.last_at is not None
        and counted.last_at - counted.first_at >= COPY_SPAN
    )
    if not warn and spread:
        networks = db.session.scalar(scan_statements()[2], {"stamp": stamp_id})
        warn = (networks or 0) >= COPY_NETWORKS
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


def check_pin(stamp: Stamp | None, pin: str | None, *, recalled: bool = False) -> PinResult:
    """Verify a scratch-off PIN. Only an active stamp of a lot not recalled is ever confirmed
    (a recalled lot's PIN answers that the lot is recalled, and is not marked verified); the
    first right answer is recorded with one conditional UPDATE, so two people checking at the
    same moment cannot both be told 'first verification'."""
    pin = "".join((pin or "").split())[:32]
    if stamp is None or not pin_matches(stamp, pin):
        return PinResult(PinVerdict.WRONG)
    if stamp.state != StampState.ACTIVE:
        return PinResult(PinVerdict.INACTIVE)
    if recalled:
        return PinResult(PinVerdict.RECALLED)
    now = utcnow()
    result = db.session.execute(
        update(Stamp)
        .where(Stamp.id == stamp.id, Stamp.pin_verified_at.is_(None))
        .values(pin_verified_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:
        return PinResult(PinVerdict.FIRST, now)
    verified_at = db.session.scalar(select(Stamp.pin_verified_at).where(Stamp.id == stamp.id))
    return PinResult(PinVerdict.ALREADY, verified_at)
