"""The packages above learn that a product left the shop window or lost its stars."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date, timedelta

from cooperatives import ocop, products, signals
from cooperatives.access import Acting
from cooperatives.models import MemberRole
from tests.factories import (
    make_certificate,
    make_council_member,
    make_producer,
    make_product,
    make_user,
)


@contextmanager
def heard(signal):
    messages = []

    def listener(sender, **kwargs):
        messages.append((sender, kwargs))

    signal.connect(listener)
    try:
        yield messages
    finally:
        signal.disconnect(listener)


def _acting(producer):
    user = make_user()
    return Acting(user=user, producer=producer, role=MemberRole.MANAGER)


def test_unpublishing_and_archiving_a_product_are_announced(ctx):
    producer = make_producer()
    product = make_product(producer, status="published")
    acting = _acting(producer)
    with (
        heard(signals.product_unpublished) as unpublished,
        heard(signals.product_archived) as archived,
    ):
        products.set_status(acting, product, "draft")
        products.set_status(acting, product, "archived")  # from draft: not "unpublished"
    assert [kw["status"] for _s, kw in unpublished] == ["draft"]
    assert [(s, kw["product_id"], kw["status"]) for s, kw in archived] == [
        ("cooperatives", product.id, "archived")
    ]


def test_a_revoked_certificate_is_announced_with_its_reason(ctx):
    producer = make_producer(province_code=25)
    product = make_product(producer)
    certificate = make_certificate(product)
    member = make_council_member("province", 25)
    with heard(signals.certificate_revoked) as revoked:
        ocop.revoke_certificate(member, certificate.id, "Không đánh giá lại sau 36 tháng.")
    assert revoked[0][1]["certificate_id"] == certificate.id
    assert revoked[0][1]["product_id"] == product.id
    assert revoked[0][1]["reason"] == "Không đánh giá lại sau 36 tháng."


def test_a_lapsed_certificate_is_announced_when_the_daily_job_marks_it(ctx):
    product = make_product(make_producer())
    lapsed = make_certificate(product, decision_date=date.today() - timedelta(days=4 * 365))
    make_certificate(product)  # still valid: not announced
    with heard(signals.certificate_lapsed) as heard_lapsed:
        assert ocop.expire_lapsed() == 1
    assert [kw["certificate_id"] for _s, kw in heard_lapsed] == [lapsed.id]
