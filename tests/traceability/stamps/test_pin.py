"""The scratch-off PIN: genuine the first time, 'already verified' after, nothing revealed by
wrong guesses, and rate limits per address and per stamp."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from core.db import db
from tests.traceability.stamps.test_stamps_support import make_farm
from traceability import stamps
from traceability.models import Stamp


def _farm(app, **options):
    with app.app_context():
        farm = make_farm(10, pin=True, **options)
        stamps.activate_range(farm.producer_id, 1, 5, farm.batch_id)
        stamps.void_range(farm.producer_id, 5, 5, "tem bị rách")
        db.session.commit()
        pins = {serial: stamps.stamp_pin(farm.run_id, serial) for serial in farm.codes}
    return farm, pins


def _text(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split())


def _wrong(pin: str) -> str:
    return f"{(int(pin) + 1) % 1_000_000:06d}"


def test_the_scan_page_offers_the_pin_check_on_stamps_with_a_pin(app, client):
    farm, _pins = _farm(app)
    html = client.get(f"/s/{farm.codes[1]}").get_data(as_text=True)
    assert f'action="/s/{farm.codes[1]}/pin"' in html
    assert 'inputmode="numeric"' in html and 'name="csrf_token"' in html


def test_the_first_right_pin_says_genuine_then_already_verified_with_the_date(app, client):
    farm, pins = _farm(app)
    url = f"/s/{farm.codes[2]}/pin"
    first = client.post(url, data={"pin": pins[2]})
    assert first.status_code == 200
    assert "Hàng chính hãng — xác thực lần đầu" in _text(first)
    again = client.post(url, data={"pin": f" {pins[2]} "})
    text = _text(again)
    assert re.search(r"Mã đã được xác thực lúc \d\d:\d\d \d\d/\d\d/\d{4}", text)
    assert "xác thực lần đầu" not in text
    with app.app_context():
        stamp = db.session.scalar(select(Stamp).where(Stamp.code == farm.codes[2]))
        assert stamp.pin_verified_at is not None
        assert stamp.scan_count == 0  # checking a PIN is not a scan


def test_a_wrong_pin_reveals_nothing_and_records_nothing(app, client):
    farm, pins = _farm(app)
    wrong = client.post(f"/s/{farm.codes[2]}/pin", data={"pin": _wrong(pins[2])})
    assert wrong.status_code == 200
    assert "Mã PIN không đúng / không có trong hệ thống" in _text(wrong)
    # Another stamp's PIN is just as wrong.
    other = client.post(f"/s/{farm.codes[2]}/pin", data={"pin": pins[3]})
    assert "Mã PIN không đúng / không có trong hệ thống" in _text(other)
    with app.app_context():
        assert (
            db.session.scalar(select(Stamp.pin_verified_at).where(Stamp.code == farm.codes[2]))
            is None
        )
    right = client.post(f"/s/{farm.codes[2]}/pin", data={"pin": pins[2]})
    assert "xác thực lần đầu" in _text(right)


def test_a_stamp_without_pin_answers_like_a_wrong_pin(app, client):
    with app.app_context():
        farm = make_farm(3)
        stamps.activate_range(farm.producer_id, 1, 3, farm.batch_id)
        db.session.commit()
    response = client.post(f"/s/{farm.codes[1]}/pin", data={"pin": "123456"})
    assert "Mã PIN không đúng / không có trong hệ thống" in _text(response)


@pytest.mark.parametrize("serial", [5, 8])
def test_a_right_pin_on_a_void_or_unactivated_stamp_is_not_confirmed(app, client, serial):
    farm, pins = _farm(app)
    response = client.post(f"/s/{farm.codes[serial]}/pin", data={"pin": pins[serial]})
    text = _text(response)
    assert "không xác thực được" in text
    assert "xác thực lần đầu" not in text and "Tem chính hãng" not in text
    with app.app_context():
        assert (
            db.session.scalar(select(Stamp.pin_verified_at).where(Stamp.code == farm.codes[serial]))
            is None
        )


@pytest.mark.parametrize("pin", ["", "12345", "1234567", "abcdef", "12 34 56 78"])
def test_malformed_pins_are_refused_next_to_the_field(app, client, pin):
    farm, _pins = _farm(app)
    response = client.post(f"/s/{farm.codes[1]}/pin", data={"pin": pin})
    assert response.status_code == 422
    assert 'id="pin-error"' in response.get_data(as_text=True)


def test_a_pin_for_an_unknown_code_is_not_in_our_system(client):
    response = client.post("/s/ZZZZZZZZZZZZZ/pin", data={"pin": "123456"})
    assert response.status_code == 404
    assert "Mã không có trong hệ thống" in _text(response)


def _verified(app, code: str):
    with app.app_context():
        return db.session.scalar(select(Stamp.pin_verified_at).where(Stamp.code == code))


def test_a_stranger_who_knows_a_code_cannot_lock_its_buyer_out(app, client):
    farm, pins = _farm(app)
    url = f"/s/{farm.codes[2]}/pin"
    stranger = {"REMOTE_ADDR": "198.51.100.7"}
    statuses = [
        client.post(url, data={"pin": _wrong(pins[2])}, environ_base=stranger).status_code
        for _ in range(6)
    ]
    assert statuses == [200] * 5 + [429]
    # The stranger waits, even with the right PIN…
    assert client.post(url, data={"pin": pins[2]}, environ_base=stranger).status_code == 429
    assert _verified(app, farm.codes[2]) is None
    # …but the buyer, from another address, verifies the stamp.
    buyer = client.post(url, data={"pin": pins[2]}, environ_base={"REMOTE_ADDR": "192.0.2.9"})
    assert buyer.status_code == 200
    assert "Hàng chính hãng — xác thực lần đầu" in _text(buyer)


def test_guessing_from_many_addresses_is_stopped_per_stamp(app, client):
    farm, pins = _farm(app)
    url = f"/s/{farm.codes[2]}/pin"
    statuses = [
        client.post(
            url, data={"pin": _wrong(pins[2])}, environ_base={"REMOTE_ADDR": f"198.51.100.{i}"}
        ).status_code
        for i in range(31)
    ]
    assert statuses == [200] * 30 + [429]
    blocked = client.post(url, data={"pin": pins[2]}, environ_base={"REMOTE_ADDR": "192.0.2.9"})
    assert blocked.status_code == 429
    assert _verified(app, farm.codes[2]) is None
    # Other stamps are not affected.
    other = client.post(
        f"/s/{farm.codes[3]}/pin", data={"pin": pins[3]}, environ_base={"REMOTE_ADDR": "192.0.2.9"}
    )
    assert other.status_code == 200


@pytest.mark.parametrize(
    "spelling",
    [
        lambda code: code + "-" * 27 + "Z",  # the view reads 40 characters: the same stamp
        lambda code: code.lower(),
        lambda code: f"{code[:4]}-{code[4:8]}-{code[8:]}",
        lambda code: f"{code[:4]}.{code[4:8]}.{code[8:]}",
    ],
)
def test_the_pin_limit_holds_on_the_stamp_whatever_the_url_looks_like(app, client, spelling):
    farm, pins = _farm(app)
    code = farm.codes[2]
    for _ in range(5):
        client.post(f"/s/{code}/pin", data={"pin": _wrong(pins[2])})
    sidestep = client.post(f"/s/{spelling(code)}/pin", data={"pin": pins[2]})
    assert sidestep.status_code == 429
    assert _verified(app, code) is None


def test_guessing_is_stopped_per_address_across_stamps(app, client):
    farm, pins = _farm(app)
    statuses = []
    for i in range(11):
        serial = 1 + i % 4
        response = client.post(f"/s/{farm.codes[serial]}/pin", data={"pin": _wrong(pins[serial])})
        statuses.append(response.status_code)
    assert statuses[:10] == [200] * 10
    assert statuses[10] == 429


def test_a_pin_post_without_csrf_token_is_refused_and_verifies_nothing(app):
    farm, pins = _farm(app)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        client = app.test_client()
        response = client.post(f"/s/{farm.codes[2]}/pin", data={"pin": pins[2]})
        assert response.status_code == 400
        page = client.get(f"/s/{farm.codes[2]}").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        accepted = client.post(
            f"/s/{farm.codes[2]}/pin", data={"pin": pins[2], "csrf_token": token}
        )
        assert "xác thực lần đầu" in _text(accepted)
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
