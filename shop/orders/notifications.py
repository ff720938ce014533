"""Messages to buyers through the outbox (SMS, and e-mail when given), in the buyer's language."""

from __future__ import annotations

from flask import has_request_context
from flask_babel import force_locale
from flask_babel import gettext as _

from accounts.outbox import EMAIL, SMS, queue_message
from core.i18n import money
from core.urls import public_url

KINDS = ("placed", "confirmed", "paid", "shipped", "cancelled", "recalled", "delivered")


def order_link(order) -> str:
    return public_url(f"/orders/{order.ref}?k={order.secret}")


def _text(kind: str, order, **extra) -> tuple[str, str]:
    link = order_link(order)
    if kind == "placed":
        subject = _("Đã nhận đơn %(ref)s", ref=order.ref)
        body = _(
            "Chợ Quê đã nhận đơn %(ref)s, tổng %(total)s. Theo dõi: %(link)s",
            ref=order.ref,
            total=money(order.total_vnd),
            link=link,
        )
    elif kind == "confirmed":
        subject = _("Đơn %(ref)s đã được xác nhận", ref=order.ref)
        body = _(
            "Đơn %(ref)s đã được xác nhận, trả tiền mặt khi nhận hàng: %(total)s. "
            "Theo dõi: %(link)s",
            ref=order.ref,
            total=money(order.total_vnd),
            link=link,
        )
    elif kind == "paid":
        subject = _("Đơn %(ref)s đã thanh toán", ref=order.ref)
        body = _(
            "Chợ Quê đã nhận %(total)s cho đơn %(ref)s. Theo dõi: %(link)s",
            ref=order.ref,
            total=money(order.total_vnd),
            link=link,
        )
    elif kind == "shipped":
        subject = _("Đơn %(ref)s đang được giao", ref=order.ref)
        body = _(
            "%(producer)s đã gửi hàng của đơn %(ref)s qua %(carrier)s, "
            "mã vận đơn %(tracking)s. %(link)s",
            producer=extra.get("producer", ""),
            ref=order.ref,
            carrier=extra.get("carrier", ""),
            tracking=extra.get("tracking", ""),
            link=link,
        )
    elif kind == "delivered":
        subject = _("Đơn %(ref)s đã giao", ref=order.ref)
        body = _(
            "Hàng của %(producer)s trong đơn %(ref)s đã giao. Cảm ơn bạn!",
            producer=extra.get("producer", ""),
            ref=order.ref,
        )
    elif kind == "cancelled":
        subject = _("Đơn %(ref)s đã bị hủy", ref=order.ref)
        body = _(
            "Phần hàng của %(producer)s trong đơn %(ref)s đã bị hủy. Lý do: %(reason)s. %(link)s",
            producer=extra.get("producer", ""),
            ref=order.ref,
            reason=extra.get("reason", ""),
            link=link,
        )
    else:
        subject = _("Thu hồi sản phẩm trong đơn %(ref)s", ref=order.ref)
        body = _(
            "THU HỒI: lô %(lots)s trong đơn %(ref)s bị thu hồi. Lý do: %(reason)s. "
            "Vui lòng ngừng sử dụng. %(link)s",
            lots=extra.get("lots", ""),
            ref=order.ref,
            reason=extra.get("reason", ""),
            link=link,
        )
    return str(subject), str(body)


def notify(order, kind: str, **extra) -> None:
    """Queue the message in this unit of work (sent by `flask outbox send`)."""
    assert kind in KINDS
    locale = order.locale if order.locale in ("vi", "en") else "vi"
    if has_request_context():
        with force_locale(locale):
            subject, body = _text(kind, order, **extra)
    else:
        from flask import current_app

        with current_app.test_request_context(), force_locale(locale):
            subject, body = _text(kind, order, **extra)
    queue_message(SMS, order.buyer_phone, body)
    if order.buyer_email:
        queue_message(EMAIL, order.buyer_email, body, subject=subject)
