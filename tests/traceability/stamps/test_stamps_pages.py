"""Manager stamp pages: order, print, activate, void, single stamps; audited; other producers
get 404 on every route."""

from __future__ import annotations

import io
import re

import pypdfium2 as pdfium
import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import func, select

from accounts.models import AuditEntry
from cooperatives.models import Product
from core.db import db
from tests.conftest import login
from tests.factories import add_member, make_batch, make_producer, make_product, make_user
from tests.traceability.stamps.test_stamps_support import make_farm
from traceability import stamps
from traceability.models import Stamp, StampRun


def _text(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split())


def _states(app, producer_id):
    with app.app_context():
        return dict(
            db.session.execute(
                select(Stamp.serial, Stamp.state).where(Stamp.producer_id == producer_id)
            ).all()
        )


def test_a_manager_orders_a_run_with_pins_for_a_product(app, client):
    with app.app_context():
        farm = make_farm(5)
    login(client, farm.manager_id)
    form = client.get(f"/manage/{farm.producer_id}/stamps/new")
    assert form.status_code == 200
    assert 'inputmode="numeric"' in form.get_data(as_text=True)
    response = client.post(
        f"/manage/{farm.producer_id}/stamps/new",
        data={"quantity": "2000", "product_id": str(farm.product_id), "with_pin": "y"},
    )
    assert response.status_code == 303
    with app.app_context():
        run = db.session.scalars(select(StampRun).order_by(StampRun.id.desc())).first()
        assert (run.first_serial, run.last_serial, run.with_pin) == (6, 2005, True)
        entry = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "stamps.run.create")
        )
        assert entry.actor_id == farm.manager_id and entry.producer_id == farm.producer_id
    page = client.get(response.location)
    assert "6–2005" in _text(page)


@pytest.mark.parametrize("quantity", ["0", "100001", "nhiều", ""])
def test_bad_quantities_are_refused_next_to_the_field_and_nothing_is_created(app, client, quantity):
    with app.app_context():
        farm = make_farm(5)
    login(client, farm.manager_id)
    response = client.post(
        f"/manage/{farm.producer_id}/stamps/new", data={"quantity": quantity, "with_pin": "y"}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="quantity-error"' in html and "100.000" in html
    assert f'value="{quantity}"' in html or quantity == ""
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(StampRun)) == 1


def test_the_pdf_download_prints_the_chosen_layout_and_range(app, client):
    with app.app_context():
        farm = make_farm(30, pin=True)
    login(client, farm.manager_id)
    response = client.post(
        f"/manage/{farm.producer_id}/stamps/{farm.run_id}/sheets.pdf",
        data={"layout": "4x10", "first": "3", "last": "12"},
    )
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "private, no-store"
    document = pdfium.PdfDocument(response.data)
    assert len(document) == 1
    image = document[0].render(scale=300 / 72).to_pil().convert("L")
    found = {r.text for r in zxingcpp.read_barcodes(image)}
    assert found == {f"HTTPS://CHOQUE.TEST/S/{farm.codes[s]}" for s in range(3, 13)}
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "stamps.run.print")
            )
            == 1
        )


def test_a_custom_layout_that_does_not_fit_is_refused_with_the_typed_values_kept(app, client):
    with app.app_context():
        farm = make_farm(5)
    login(client, farm.manager_id)
    response = client.post(
        f"/manage/{farm.producer_id}/stamps/{farm.run_id}/sheets.pdf",
        data={
            "layout": "custom",
            "columns": "4",
            "rows": "10",
            "label_width": "60",
            "label_height": "25",
            "margin_left": "5",
            "margin_top": "5",
            "gap_x": "0",
            "gap_y": "0",
        },
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="columns-error"' in html and "210 mm" in html
    assert 'value="60"' in html
    custom = client.post(
        f"/manage/{farm.producer_id}/stamps/{farm.run_id}/sheets.pdf",
        data={
            "layout": "custom",
            "columns": "2",
            "rows": "5",
            "label_width": "90",
            "label_height": "50",
            "margin_left": "10",
            "margin_top": "10",
            "gap_x": "5",
            "gap_y": "2",
        },
    )
    assert custom.status_code == 200 and custom.mimetype == "application/pdf"
    unknown = client.post(
        f"/manage/{farm.producer_id}/stamps/{farm.run_id}/sheets.pdf", data={"layout": "9x99"}
    )
    assert unknown.status_code == 422


def test_single_stamps_download_as_png_and_svg(app, client):
    with app.app_context():
        farm = make_farm(3)
    login(client, farm.manager_id)
    png = client.get(f"/manage/{farm.producer_id}/stamps/serial/2.png")
    assert png.status_code == 200 and png.mimetype == "image/png"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.data)))
    assert [r.text for r in decoded] == [f"HTTPS://CHOQUE.TEST/S/{farm.codes[2]}"]
    svg = client.get(f"/manage/{farm.producer_id}/stamps/serial/2.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert client.get(f"/manage/{farm.producer_id}/stamps/serial/99.png").status_code == 404
    lookup = client.get(f"/manage/{farm.producer_id}/stamps/serial?serial=3&format=svg")
    assert lookup.status_code == 303 and lookup.location.endswith("/stamps/serial/3.svg")


def test_a_manager_activates_a_range_and_voids_a_torn_stamp(app, client):
    with app.app_context():
        farm = make_farm(20)
    login(client, farm.manager_id)
    form = client.get(f"/manage/{farm.producer_id}/stamps/activate?batch_id={farm.batch_id}")
    assert f'<option selected value="{farm.batch_id}">' in form.get_data(as_text=True) or (
        f'value="{farm.batch_id}" selected' in form.get_data(as_text=True)
    )
    data = {"first": "1", "last": "13", "batch_id": str(farm.batch_id)}
    asked = client.post(f"/manage/{farm.producer_id}/stamps/activate", data=data)
    assert asked.status_code == 200  # first the count and the lot, to confirm
    assert "Kích hoạt 13 tem cho lô" in _text(asked)
    assert set(_states(app, farm.producer_id).values()) == {"new"}  # nothing yet
    done = client.post(f"/manage/{farm.producer_id}/stamps/activate", data={**data, "confirm": "1"})
    assert done.status_code == 303
    assert "Đã kích hoạt 13 tem" in _text(client.get(done.location))
    voided = client.post(
        f"/manage/{farm.producer_id}/stamps/void", data={"first": "7", "reason": "Tem bị rách"}
    )
    assert voided.status_code == 303
    states = _states(app, farm.producer_id)
    assert [s for s in range(1, 21) if states[s] == "active"] == [*range(1, 7), *range(8, 14)]
    assert states[7] == "void"
    with app.app_context():
        actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"stamps.activate", "stamps.void"} <= actions
    lot_page = client.get(f"/manage/{farm.producer_id}/stamps/lot/{farm.batch_id}")
    assert "1–6: đang dùng" in _text(lot_page) and "7: đã hủy" in _text(lot_page)


def test_an_overlapping_activation_is_refused_on_the_page_and_changes_nothing(app, client):
    with app.app_context():
        farm = make_farm(20)
        stamps.activate_range(farm.producer_id, 1, 10, farm.batch_id)
        db.session.commit()
    login(client, farm.manager_id)
    before = _states(app, farm.producer_id)
    response = client.post(
        f"/manage/{farm.producer_id}/stamps/activate",
        data={"first": "5", "last": "20", "batch_id": str(farm.batch_id), "confirm": "1"},
    )
    assert response.status_code == 422
    text = _text(response)
    assert "5–10" in text and "Không có tem nào bị thay đổi" in text
    assert 'value="5"' in response.get_data(as_text=True)
    assert _states(app, farm.producer_id) == before
    bad = client.post(f"/manage/{farm.producer_id}/stamps/void", data={"first": "3", "reason": ""})
    assert bad.status_code == 422 and 'id="reason-error"' in bad.get_data(as_text=True)
    assert _states(app, farm.producer_id) == before


def test_members_see_runs_but_cannot_print_or_activate(app, client):
    with app.app_context():
        farm = make_farm(5)
        member = make_user(name="Thành viên")
        from cooperatives.models import Producer

        add_member(member, db.session.get(Producer, farm.producer_id), "member")
        member_id = member.id
        db.session.commit()
    login(client, member_id)
    assert client.get(f"/manage/{farm.producer_id}/stamps").status_code == 200
    assert client.get(f"/manage/{farm.producer_id}/stamps/new").status_code == 403
    assert (
        client.post(
            f"/manage/{farm.producer_id}/stamps/{farm.run_id}/sheets.pdf", data={"layout": "5x13"}
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"/manage/{farm.producer_id}/stamps/activate",
            data={"first": "1", "last": "5", "batch_id": str(farm.batch_id)},
        ).status_code
        == 403
    )
    assert set(_states(app, farm.producer_id).values()) == {"new"}


def test_signed_out_visitors_do_not_reach_stamp_pages(app, client):
    with app.app_context():
        farm = make_farm(2)
    response = client.get(f"/manage/{farm.producer_id}/stamps")
    assert response.status_code in (302, 303, 404)


def test_another_producers_member_gets_404_on_every_stamp_route(app, client):
    with app.app_context():
        theirs = make_farm(5)
        mine_manager = make_user(name="Quản lý khác")
        mine = make_producer(manager=mine_manager)
        make_batch(make_product(mine), lot_code="MINE-1")
        db.session.commit()
        manager_id = mine_manager.id
    login(client, manager_id)
    pid, run, lot = theirs.producer_id, theirs.run_id, theirs.batch_id
    from flask import url_for

    routes = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("stamps.")]
    assert len(routes) >= 9
    values = {"producer_id": pid, "run_id": run, "batch_id": lot, "serial": 1}
    for rule in routes:
        with app.test_request_context():
            path = url_for(rule.endpoint, **{k: values[k] for k in rule.arguments})
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            data = {
                "first": "1",
                "last": "5",
                "batch_id": str(lot),
                "reason": "x" * 5,
                "quantity": "5",
                "layout": "5x13",
            }
            response = client.open(
                path,
                method=method,
                data=data if method == "POST" else None,
                query_string={"serial": 1} if method == "GET" else None,
            )
            assert response.status_code == 404, (method, path, response.status_code)
    assert set(_states(app, pid).values()) == {"new"}
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(StampRun)) == 1


def test_a_form_post_without_csrf_token_is_refused_and_saves_nothing(app):
    with app.app_context():
        farm = make_farm(5)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        client = app.test_client()
        login(client, farm.manager_id)
        response = client.post(
            f"/manage/{farm.producer_id}/stamps/activate",
            data={"first": "1", "last": "5", "batch_id": str(farm.batch_id)},
        )
        assert response.status_code == 400
        created = client.post(f"/manage/{farm.producer_id}/stamps/new", data={"quantity": "10"})
        assert created.status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert set(_states(app, farm.producer_id).values()) == {"new"}
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(StampRun)) == 1


def test_the_run_page_asks_for_the_lot_and_its_two_forms_have_their_own_ids(app, client):
    with app.app_context():
        farm = make_farm(2000)
        make_batch(db.session.get(Product, farm.product_id), lot_code="CP-NEWEST")
        db.session.commit()
    login(client, farm.manager_id)
    html = client.get(f"/manage/{farm.producer_id}/stamps/{farm.run_id}").get_data(as_text=True)
    ids = re.findall(r' id="([^"]+)"', html)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for name in ("first", "last", "batch_id"):
        assert f'for="activate-{name}"' in html and f'id="activate-{name}"' in html
    select = re.search(r'<select id="activate-batch_id".*?</select>', html, re.S)[0]
    assert "selected" not in select  # the newest lot is not chosen for anyone
    assert 'class="custom-size"' in html  # shown by CSS only when "custom" is ticked
    empty = client.post(
        f"/manage/{farm.producer_id}/stamps/activate",
        data={"first": "1", "last": "2000", "batch_id": "", "confirm": "1"},
    )
    assert empty.status_code == 422
    asked = client.post(
        f"/manage/{farm.producer_id}/stamps/activate",
        data={"first": "1", "last": "2000", "batch_id": str(farm.batch_id)},
    )
    assert "Kích hoạt 2.000 tem cho lô" in _text(asked)
    assert set(_states(app, farm.producer_id).values()) == {"new"}
