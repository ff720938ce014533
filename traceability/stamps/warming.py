"""Lot parts rendered ahead of traffic (`flask stamps warm`): after a deploy every lot's part of
the scan page is cold (its Redis key holds the code release), and the first scans of each lot
build it while thousands of phones wait. Run once before the new release takes traffic, this
renders the part of every lot that has active stamps, in the languages a scan asks for, into
the shared store (Redis) the workers read. The parts are the ones a scan would build — same
function, same version, same key — so warming can never make a page say something else.
Without `REDIS_URL` each worker keeps its own parts and there is nothing to share.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import current_app
from flask_babel import refresh
from sqlalchemy import func, select

from core import i18n
from core.db import db
from traceability.models import Stamp, StampState
from traceability.stamps import scan_page
from traceability.stamps.reading import read_stamp

# (locale, ?lang= carried in the links): a first visit in Vietnamese, English chosen by the
# page's link (carried until the cookie comes back), English remembered by the cookie.
VARIANTS = (("vi", None), ("en", "en"), ("en", None))


def lot_stamps() -> list[str]:
    """One active stamp's code per lot (the first made), lot by lot: read in full before the
    warming starts, since it releases the session after each lot."""
    first = (
        select(func.min(Stamp.id))
        .where(Stamp.state == StampState.ACTIVE, Stamp.batch_id.is_not(None))
        .group_by(Stamp.batch_id)
    )
    codes = select(Stamp.code).where(Stamp.id.in_(first)).order_by(Stamp.id)
    return list(db.session.scalars(codes))


def warm_lot_parts(codes: Iterable[str]) -> int:
    """Render the lot part of each stamp's lot in every variant (its facts read once); returns
    the parts rendered or found already built."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    warmed = 0
    for code in codes:
        reading = read_stamp(today=i18n.local_today(), via="code", code=code)
        if reading.facts is not None and reading.has_lot:
            for locale, carried in VARIANTS:
                query = f"?lang={carried}" if carried else ""
                headers = {} if carried else {"Cookie": f"{i18n.LANG_COOKIE}={locale}"}
                with app.test_request_context(f"/s/{code}{query}", headers=headers):
                    refresh()  # the locale is kept on the command's app context: choose again
                    scan_page.lot_part(reading.facts, i18n.current_locale())
                    warmed += 1
        db.session.remove()  # one lot's objects at a time
    return warmed
