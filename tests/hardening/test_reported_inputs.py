"""The inputs reported in issue 7 (item 1), each replayed: a clear refusal, never a 500, and the
database unchanged. The property test (test_no_server_error_on_any_input) guards the class."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.db import db
from core.security import limiter
from tests.conftest import login
from tests.hardening.world import build_world
from traceability.models import Stamp, StampRun

HUGE = "9" * 25


@pytest.fixture
def world(app):
    with app.app_context():
        return build_world()


def _stamp_state(app) -> tuple:
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(StampRun)),
            tuple(db.session.scalars(select(Stamp.state).order_by(Stamp.id))),
        )


@pytest.mark.parametrize("pin", ["٣٤٥٦٧٨", "²²²²²²", "１２３４５６"])
def test_a_pin_of_unicode_digits_is_a_wrong_pin_not_a_server_error(app, client, world, pin):
    response = client.post(f"/s/{world.a.codes[0]}/pin", data={"pin": pin})
    assert response.status_code in (200, 422)


def test_a_gtin_of_superscript_digits_is_a_malformed_link(client):
    response = client.get("/01/" + "²" * 8)
    assert response.status_code == 400


def test_a_gs1_date_of_superscript_digits_is_a_malformed_link(client, world):
    response = client.get(f"/01/{world.a.gtin}?17=" + "²" * 6)
    assert response.status_code == 400


@pytest.mark.parametrize(
    "url",
    [
        "/council/stats?province=²",
        "/council/certificates?province=²",
        "/council/expiring?province=²",
        f"/council/stats?province={HUGE}",
        "/council/certificates?product=²",
    ],
)
def test_council_pages_refuse_unicode_and_huge_numbers(app, client, world, url):
    login(client, world.users["council"])
    assert client.get(url).status_code in (200, 404)


@pytest.mark.parametrize(
    "url",
    [
        "/manage/{producer_id}/ocop/certificates/new?product=²",
        "/manage/{producer_id}/ocop/evaluations/new?product=" + HUGE,
        "/manage/{producer_id}/batches/new?product_id=" + HUGE,
        "/manage/{producer_id}/stamps/new?batch_id=٣",
        "/manage/{producer_id}/stamps/activate?batch_id=" + HUGE,
        "/manage/{producer_id}/stamps/serial?serial=" + HUGE,
        "/manage/{producer_id}/stamps/serial/1.svg?mm=nan",
        "/manage/{producer_id}/stamps/serial/1.png?scale=" + HUGE,
        "/manage/{producer_id}/products?page=" + HUGE,
        "/manage/go?producer_id=" + HUGE,
        "/manage/go?producer_id=٣",
    ],
)
def test_manager_pages_refuse_unicode_and_huge_numbers(app, client, world, url):
    login(client, world.users["manager"])
    response = client.get(url.format(producer_id=world.a.ids["producer_id"]))
    assert response.status_code in (200, 302, 303, 400, 404, 422)


@pytest.mark.parametrize(
    ("field", "value"), [("price", "²"), ("weight_grams", "²"), ("pack_size", "٣")]
)
def test_a_variant_with_unicode_digits_is_refused_and_the_form_kept(
    app, client, world, field, value
):
    login(client, world.users["manager"])
    ids = world.a.ids
    data = {"label": "hộp 1 kg", "pack_size": "1", "unit": "kg", "price": "1000", field: value}
    response = client.post(
        f"/manage/{ids['producer_id']}/products/{ids['product_id']}/variants/new", data=data
    )
    assert response.status_code == 422
    assert value in response.get_data(as_text=True)  # typed value kept


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("activate", {"first": HUGE, "last": HUGE, "batch_id": "1"}),
        ("activate", {"first": "1", "last": "2", "batch_id": HUGE}),
        ("activate", {"first": "١", "last": "٢", "batch_id": "1"}),
        ("void", {"first": HUGE, "last": "", "reason": "hỏng"}),
        ("void", {"first": "1", "last": HUGE, "reason": "hỏng"}),
        ("new", {"quantity": HUGE}),
        ("new", {"quantity": "10", "batch_id": HUGE, "product_id": HUGE}),
    ],
)
def test_stamp_forms_refuse_huge_and_unicode_numbers_and_change_nothing(
    app, client, world, path, data
):
    login(client, world.users["manager"])
    before = _stamp_state(app)
    limiter.reset()
    response = client.post(f"/manage/{world.a.ids['producer_id']}/stamps/{path}", data=data)
    assert response.status_code == 422
    assert _stamp_state(app) == before
