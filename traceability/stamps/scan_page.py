"""The stamp page as browsers get it: the verdict and counts of this request around the
cached lot part, filled into pieces cut once per kind of page (values escaped), inside the
chrome cut once per locale for cookie-less visitors."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask import (
    Response,
    current_app,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from cooperatives.models import Product, ProductImage
from core import i18n
from core.db import db
from core.images import variant_size
from core.places import address_line
from traceability.stamps import scan_cache, scans
from traceability.stamps.codes import grouped_code
from traceability.stamps.forms import PinForm
from traceability.stamps.reading import StampReading, lot_of

NO_STORE = "private, no-store"


def epcis_path(batch_id: int) -> str:
    if "traceability_api.batch_epcis" in current_app.view_functions:
        return url_for("traceability_api.batch_epcis", batch_id=batch_id)
    return f"/api/v1/batches/{batch_id}/epcis"


def verify_path(batch_id: int) -> str:
    if "traceability_api.batch_verify" in current_app.view_functions:
        return url_for("traceability_api.batch_verify", batch_id=batch_id)
    return f"/api/v1/batches/{batch_id}/verify"


def product_path(product: Product) -> str:
    return f"/p/{product.slug}"


# Two photos, two columns: the product is recognised and a first view stays under 25 KB on a
# phone (the product page has the rest).
MAX_PHOTOS = 2


def producer_path(producer: Any) -> str:
    return f"/c/{producer.slug}"


@dataclass
class Photo:
    src: str
    width: int
    height: int
    alt: str
    srcset: str = ""


def _photo(image: Any, alt: str) -> Photo:
    """A photo in the size the layout shows: the thumbnail on a phone, the card size on
    screens with more pixels (srcset)."""
    w, h = variant_size(image.width, image.height, "card")
    tw, _th = variant_size(image.width, image.height, "thumb")
    src = url_for("core.media", key=image.key, variant="card")
    thumb = url_for("core.media", key=image.key, variant="thumb")
    return Photo(src, w, h, alt, f"{thumb} {tw}w, {src} {w}w")


def lot_photos(product: Product | None, summary: Any) -> list[Photo]:
    photos: list[Photo] = []
    if summary is not None:
        for image in summary.images[:MAX_PHOTOS]:
            photos.append(_photo(image, _("Ảnh lô %(lot)s", lot=summary.batch.lot_code)))
    if product is not None:
        images = db.session.scalars(
            db.select(ProductImage)
            .where(ProductImage.product_id == product.id)
            .order_by(ProductImage.position, ProductImage.id)
            .limit(MAX_PHOTOS)
        )
        for image in images:
            photos.append(_photo(image, image.alt or product.name_vi))
    return photos[:MAX_PHOTOS]


def producer_address(summary: Any) -> str:
    if summary is None:
        return ""
    producer = summary.producer
    return address_line(producer.street, producer.ward_code, producer.province_code)


# ------------------------------------------------------------------- the page for browsers


@dataclass
class StampPage:
    """What stamp.html shows: the verdict and counts are this request's; `lot` is the cached
    lot part (None unless the stamp is active for a lot)."""

    verdict: scans.Verdict
    stamp: scan_cache.StampFacts | None = None
    tally: scans.ScanTally | None = None
    lot: scan_cache.LotFragment | None = None
    link: str = ""
    via: str = "code"  # "dl": reached by its Digital Link, which must not reveal its code


def _build_fragment(facts: scan_cache.StampFacts) -> scan_cache.LotFragment:
    """Render the lot's part of the page (a cache miss: a new version of the lot)."""
    summary, certificate = lot_of(facts)
    product = summary.product
    epcis = epcis_path(summary.batch.id)
    lot_html = render_template(
        "traceability/scan/_lot.html",
        summary=summary,
        certificate=certificate,
        photos=lot_photos(product, summary),
        epcis_path=epcis,
        verify_path=verify_path(summary.batch.id),
        product_path=product_path(product),
        producer_path=producer_path(summary.producer),
        producer_address=producer_address(summary),
    )
    recall_html = render_template("traceability/scan/_recall.html", summary=summary)
    return scan_cache.LotFragment(
        batch_id=summary.batch.id,
        lot_code=summary.batch.lot_code,
        product_name=product.name_vi,
        producer_name=summary.producer.name,
        recalled=summary.recalled,
        recall_html=Markup(recall_html),  # noqa: S704 - autoescaped template output
        lot_html=Markup(lot_html),  # noqa: S704 - autoescaped template output
        epcis_path=epcis,
    )


def lot_part(facts: scan_cache.StampFacts, locale: str) -> scan_cache.LotFragment:
    """The lot's rendered part for this locale (and this request's carried ?lang=), from the
    cache when its version is unchanged; built and shared otherwise."""
    key = (facts.batch_id, locale, i18n.carried_language())  # its links may carry a ?lang=
    return scan_cache.fragments().get_or_build(
        key, facts.version(), lambda: _build_fragment(facts), codec=scan_cache.LOT_CODEC
    )


def html_stamp_response(
    reading: StampReading,
    today,
    *,
    pin_form: PinForm | None = None,
    pin_result: scans.PinResult | None = None,
    status: int | None = None,
) -> Response:
    """The stamp page for browsers, from what the one scan path read."""
    locale = i18n.current_locale()  # once: Flask-Babel's look-up is not free
    facts = reading.facts
    page = StampPage(
        verdict=reading.verdict,
        stamp=facts,
        tally=reading.tally,
        link=reading.link,
        via=reading.via,
    )
    if reading.has_lot:
        page.lot = lot_part(facts, locale)
    body = _body(page, facts, locale, pin_form=pin_form, pin_result=pin_result)
    head = Markup("")
    if page.link:
        head += Markup('  <link rel="canonical" href="{}">\n').format(page.link)
    if page.lot is not None:  # the machines' links: EPCIS events and the chain check
        head += Markup(
            '  <link rel="alternate" type="application/ld+json" href="{}">\n'
            '  <link rel="alternate" type="application/json" href="{}" title="verify">\n'
        ).format(page.lot.epcis_path, verify_path(page.lot.batch_id))
    parts = PageParts(
        title=str(_TITLES[page.verdict]),
        head=head,
        lang=lang_link(request.path, locale),
        content=Markup(body),  # noqa: S704 - autoescaped template output
    )
    status = 404 if facts is None else (status or 200)
    response = Response(_render_stamp_page(parts, locale=locale), status=status)
    response.headers["Vary"] = "Accept"
    response.headers["Cache-Control"] = NO_STORE
    return response


BODY_TEMPLATE = "traceability/scan/_stamp_body.html"
_HOLE = re.compile("\x00([a-z_]+)\x00")


def _hole(name: str) -> str:
    return f"\x00{name}\x00"


@dataclass(frozen=True)
class _Holes:
    """Stand-ins for the facts and the lot part when a body is rendered with place-holders."""

    serial: str = _hole("serial")
    producer_name: str = _hole("producer")
    lot_code: str = _hole("lot_code")
    recall_html: Markup = Markup("\x00recall_html\x00")
    lot_html: Markup = Markup("\x00lot_html\x00")


def _body_values(
    page: StampPage, facts: scan_cache.StampFacts | None, locale: str
) -> dict[str, Any]:
    """The values the body shows, computed here (the template only places them)."""
    tally = page.tally
    pin_form = facts is not None and facts.has_pin and page.verdict == scans.Verdict.GENUINE
    values: dict[str, Any] = {
        "num": tally.count if tally else 0,
        "when": i18n.local_datetime(tally.first_at) if tally and tally.first_at else "",
        # reached by its Digital Link, a page never shows (nor posts to) the stamp's code
        "grouped": grouped_code(facts.code) if facts and page.via != "dl" else "",
        "pin_action": "",
        "csrf": "",
    }
    if pin_form:
        action = (
            request.path if page.via == "dl" else url_for("scan.pin", code=facts.code, lang=None)
        )
        values["pin_action"] = action + ("?lang=en" if locale == "en" else "")
        values["csrf"] = generate_csrf()
    if facts is not None:
        values["serial"] = facts.serial
    if page.lot is not None:
        values["producer"] = page.lot.producer_name
        values["lot_code"] = page.lot.lot_code
        values["recall_html"] = page.lot.recall_html
        values["lot_html"] = page.lot.lot_html
    return values


def _render_body(page: StampPage, values: dict[str, Any], **extra: Any) -> str:
    return current_app.jinja_env.get_template(BODY_TEMPLATE).render(
        view=page,
        verdicts=scans.Verdict,
        pin_verdicts=scans.PinVerdict,
        num=values["num"],
        when=values["when"],
        grouped=values["grouped"],
        pin_action=values["pin_action"],
        csrf=values["csrf"],
        **extra,
    )


def _plural_key(count: int) -> tuple[int, bool]:
    """What ngettext's choice depends on: the catalog's plural form and n == 1 (the rule of
    the fallback when a message is missing from the catalog)."""
    plural = getattr(i18n.request_translations(), "plural", None)
    return (plural(count) if plural is not None else int(count != 1), count == 1)


def _body_pieces(page: StampPage, values: dict[str, Any]) -> tuple[str, ...]:
    """The body rendered once with a place-holder for every value, split around them:
    literal, name, literal, name, …, literal."""
    holes = _Holes()
    template_page = StampPage(
        verdict=page.verdict,
        stamp=holes if page.stamp is not None else None,  # type: ignore[arg-type]
        tally=page.tally,
        lot=holes if page.lot is not None else None,  # type: ignore[arg-type]
        link=page.link,
        via=page.via,
    )
    # an empty value stays empty: the template may test it (the PIN form, the first scan)
    shown = {name: _hole(name) if value else value for name, value in values.items()}
    html = _render_body(template_page, shown, form=PinForm(formdata=None), pin_result=None)
    return tuple(_HOLE.split(html))


def _body(
    page: StampPage,
    facts: scan_cache.StampFacts | None,
    locale: str,
    *,
    pin_form: PinForm | None,
    pin_result: scans.PinResult | None,
) -> str:
    """The request's part of the page. A plain scan fills the escaped values into pieces cut
    once per kind of page (verdict, warnings, counts' wording, PIN form, locale); a page with
    a PIN posted is rendered in full."""
    values = _body_values(page, facts, locale)
    if pin_form is not None or pin_result is not None or current_app.jinja_env.auto_reload:
        return _render_body(page, values, form=pin_form or PinForm(), pin_result=pin_result)
    tally = page.tally
    key = (
        "body",
        locale,
        i18n.carried_language(),  # its links may carry a ?lang=
        page.via,  # a Digital Link page posts its PIN to its own address, never to /s/<code>
        page.verdict,
        page.stamp is not None,
        page.lot is not None,
        tuple(bool(value) for value in values.values()),
        tally.copy_warning if tally else False,
        _plural_key(tally.count) if tally else None,
    )
    pieces = scan_cache.fragments().get_or_build(key, "", lambda: _body_pieces(page, values))
    out = list(pieces)
    for index in range(1, len(out), 2):
        out[index] = str(escape(values[out[index]]))
    return "".join(out)


_TITLES = {
    scans.Verdict.GENUINE: _l("Tem chính hãng"),
    scans.Verdict.RECALLED: _l("Lô hàng đã bị thu hồi"),
    scans.Verdict.NOT_ACTIVATED: _l("Tem chưa được kích hoạt"),
    scans.Verdict.VOID: _l("Tem đã bị hủy"),
    scans.Verdict.UNKNOWN: _l("Mã không có trong hệ thống"),
}


def lang_link(path: str, locale: str | None = None) -> Markup:
    """The one language switch of scan and lot pages: a plain link (?lang=), no form."""
    if (locale or i18n.current_locale()) == "vi":
        return Markup(
            '<a class="scan-lang" href="{}?lang=en" hreflang="en" lang="en" rel="alternate">'
            "English</a>"
        ).format(path)
    return Markup(
        '<a class="scan-lang" href="{}?lang=vi" hreflang="vi" lang="vi" rel="alternate">'
        "Tiếng Việt</a>"
    ).format(path)


@dataclass(frozen=True)
class PageParts:
    """The request's own parts of stamp.html; the rest is base.html's chrome."""

    title: str
    head: Markup
    lang: Markup
    content: Markup


_SENTINELS = PageParts(
    title="\x00scan-title\x00",
    head=Markup("\x00scan-head\x00"),
    lang=Markup("\x00scan-lang\x00"),
    content=Markup("\x00scan-content\x00"),
)


def _chrome_allowed() -> bool:
    """base.html around a scan page depends only on the locale for a visitor without session
    (no cookie but the language one, not signed in); templates reloading: no cache."""
    if current_app.jinja_env.auto_reload:
        return False
    if any(name != "lang" for name in request.cookies):
        return False
    if getattr(current_app.login_manager, "_request_callback", None) is None:
        return True  # no session cookie, no remember cookie, no request loader: anonymous
    return not current_user.is_authenticated


def _chrome(locale: str) -> tuple[str, ...] | None:
    """base.html rendered once per locale around place-holders, cut into its pieces."""
    key = ("chrome", locale, i18n.carried_language())  # its links may carry a ?lang=
    return scan_cache.fragments().get_or_build(key, "", lambda: _cut_chrome())


def _cut_chrome() -> tuple[str, ...] | None:
    html = render_template("traceability/scan/stamp.html", parts=_SENTINELS)
    pieces: list[str] = []
    for sentinel in (_SENTINELS.title, _SENTINELS.head, _SENTINELS.lang, _SENTINELS.content):
        before, found, html = html.partition(str(sentinel))
        if not found or sentinel in html:
            return None  # a place-holder missing or repeated: render in full every time
        pieces.append(before)
    pieces.append(html)
    return tuple(pieces)


def _render_stamp_page(
    parts: PageParts, *, chrome: bool | None = None, locale: str | None = None
) -> str:
    if chrome is None:
        chrome = _chrome_allowed()
    pieces = _chrome(locale or i18n.current_locale()) if chrome else None
    if pieces is None:
        return render_template("traceability/scan/stamp.html", parts=parts)
    return "".join(
        (
            pieces[0],
            str(escape(parts.title)),
            pieces[1],
            parts.head,
            pieces[2],
            parts.lang,
            pieces[3],
            parts.content,
            pieces[4],
        )
    )
