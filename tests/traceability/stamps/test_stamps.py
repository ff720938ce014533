"""Stamp runs: codes, serials, PINs, URLs; activation and voiding."""

from __future__ import annotations

import math
import re
import threading
import time
from collections import Counter

import pytest
from sqlalchemy import func, select

from core.db import db
from core.errors import Conflict, Invalid
from tests.factories import make_batch, make_producer, make_product
from tests.traceability.stamps.test_stamps_support import make_farm
from traceability import stamps
from traceability.models import Stamp, StampRun

# ------------------------------------------------------------------------------------ codes


def test_codes_use_only_unambiguous_characters_and_carry_at_least_60_bits():
    codes = stamps.random_codes(5_000)
    assert len(set(codes)) == 5_000
    assert all(re.fullmatch(r"[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{13}", c) for c in codes)
    assert not set("01OIL") & set("".join(codes))
    assert stamps.CODE_LENGTH * math.log2(len(stamps.ALPHABET)) >= 60
    # Every character of the alphabet is used, roughly evenly, in every position.
    counts = Counter(c[0] for c in codes)
    assert set(counts) == set(stamps.ALPHABET)
    assert max(counts.values()) < 2 * min(counts.values())


def test_typed_codes_are_found_whatever_the_case_or_separators():
    assert stamps.normalize_code("abcd-efgh-jkmnp") == "ABCDEFGHJKMNP"
    assert stamps.normalize_code(" ABCD EFGH JKMNP ") == "ABCDEFGHJKMNP"
    assert stamps.normalize_code("ABCD-EFGH-JKMN0") is None  # 0 is not in the alphabet
    assert stamps.normalize_code("ABC") is None
    assert stamps.normalize_code("") is None
    assert stamps.grouped_code("ABCDEFGHJKMNP") == "ABCD-EFGH-JKMNP"


# ------------------------------------------------------------------------------------- runs


def test_a_run_holds_unique_stamps_with_sequential_serials_across_runs(ctx):
    producer = make_producer()
    first = stamps.create_run(producer.id, 30)
    second = stamps.create_run(producer.id, 20)
    other = stamps.create_run(make_producer().id, 5)
    assert (first.first_serial, first.last_serial) == (1, 30)
    assert (second.first_serial, second.last_serial) == (31, 50)
    assert (other.first_serial, other.last_serial) == (1, 5)  # serials are per producer
    serials = list(
        db.session.scalars(
            select(Stamp.serial).where(Stamp.producer_id == producer.id).order_by(Stamp.serial)
        )
    )
    assert serials == list(range(1, 51))
    assert db.session.scalar(select(func.count(func.distinct(Stamp.code)))) == 55
    states = set(db.session.scalars(select(Stamp.state)))
    assert states == {"new"}


@pytest.mark.parametrize("quantity", [0, -5, 100_001, "abc", None, 10**12])
def test_oversized_or_empty_runs_are_refused_and_nothing_is_created(ctx, quantity):
    producer = make_producer()
    with pytest.raises(Invalid) as error:
        stamps.create_run(producer.id, quantity)
    assert "100.000" in str(error.value)
    assert db.session.scalar(select(func.count()).select_from(StampRun)) == 0


def test_a_run_cannot_be_bound_to_another_producers_product_or_lot(ctx):
    mine, theirs = make_producer(), make_producer()
    their_product = make_product(theirs)
    their_lot = make_batch(their_product)
    with pytest.raises(Invalid):
        stamps.create_run(mine.id, 5, product_id=their_product.id)
    with pytest.raises(Invalid):
        stamps.create_run(mine.id, 5, batch_id=their_lot.id)


def test_100000_stamps_are_created_in_one_run(ctx):
    producer = make_producer()
    run = stamps.create_run(producer.id, 100_000, with_pin=True)
    count = db.session.scalar(select(func.count()).where(Stamp.run_id == run.id))
    assert count == 100_000
    assert run.last_serial == 100_000


@pytest.mark.postgres_only
def test_two_runs_ordered_at_once_never_share_a_serial(app):
    with app.app_context():
        producer_id = make_producer().id
        db.session.commit()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def order() -> None:
        try:
            with app.app_context():
                barrier.wait()
                stamps.create_run(producer_id, 2_000)
                db.session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=order) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with app.app_context():
        ranges = sorted(
            db.session.execute(
                select(StampRun.first_serial, StampRun.last_serial).where(
                    StampRun.producer_id == producer_id
                )
            ).all()
        )
        assert ranges == [(1, 2_000), (2_001, 4_000)]


# ------------------------------------------------------------------------------------- PINs


def test_pins_are_reproducible_for_printing_but_stored_only_as_keyed_hashes(app):
    with app.app_context():
        farm = make_farm(20, pin=True)
        rows = db.session.execute(
            select(Stamp.serial, Stamp.code, Stamp.pin_hash).where(Stamp.run_id == farm.run_id)
        ).all()
        pins = {serial: stamps.stamp_pin(farm.run_id, serial) for serial, _c, _h in rows}
        assert all(re.fullmatch(r"\d{6}", pin) for pin in pins.values())
        assert len(set(pins.values())) > 15  # not one PIN for all
        for serial, code, stored in rows:
            assert stored == stamps.pin_hash(code, pins[serial])
            assert pins[serial] not in stored
            # The hash needs the key: a plain SHA-256 of the PIN is not what is stored.
            import hashlib

            assert stored != hashlib.sha256(pins[serial].encode()).hexdigest()
            assert stored != stamps.pin_hash(code, pins[serial], key=b"another key")


# ------------------------------------------------------------------------------------- URLs


def test_code_urls_are_written_in_upper_case_for_the_qr_alphanumeric_mode():
    assert stamps.code_url("https://choque.vn", "ABCDEFGHJKMNP") == (
        "HTTPS://CHOQUE.VN/S/ABCDEFGHJKMNP"
    )
    assert stamps.code_url("http://127.0.0.1:8000/", "ABCDEFGHJKMNP") == (
        "HTTP://127.0.0.1:8000/S/ABCDEFGHJKMNP"
    )
    # A base with a path keeps its case (paths are case-sensitive).
    assert stamps.code_url("https://x.vn/ChoQue", "ABCDEFGHJKMNP") == (
        "https://x.vn/ChoQue/s/ABCDEFGHJKMNP"
    )


def test_digital_link_urls_are_used_when_the_run_is_bound_to_a_lot_of_a_gtin_product(app):
    with app.app_context():
        bound = make_farm(3, gtin="8931234567897", bind_lot=True)
        run = db.session.get(StampRun, bound.run_id)
        assert (run.dl_gtin, run.dl_lot) == ("08931234567897", "CP-2026-11A")
        assert stamps.stamp_url(run, 2, bound.codes[2]) == (
            "HTTPS://CHOQUE.TEST/01/08931234567897/10/CP-2026-11A/21/2"
        )
        unbound = make_farm(3, gtin="8930000000019", lot_code="CP-2026-12")
        run = db.session.get(StampRun, unbound.run_id)
        assert run.dl_gtin is None
        assert stamps.stamp_url(run, 2, unbound.codes[2]) == (
            f"HTTPS://CHOQUE.TEST/S/{unbound.codes[2]}"
        )


def test_lots_with_lower_case_or_reserved_characters_keep_an_exact_encoded_link():
    url = stamps.stamp_dl_url("https://choque.vn", "08931234567897", "lô/1", 7)
    assert url == "https://choque.vn/01/08931234567897/10/l%C3%B4%2F1/21/7"


# ------------------------------------------------------------------------------- activation


def _states(producer_id: int) -> dict[int, tuple[str, int | None]]:
    rows = db.session.execute(
        select(Stamp.serial, Stamp.state, Stamp.batch_id).where(Stamp.producer_id == producer_id)
    )
    return {serial: (state, batch_id) for serial, state, batch_id in rows}


def test_a_range_is_activated_for_a_lot_of_the_same_producer(app):
    with app.app_context():
        farm = make_farm(10)
        result = stamps.activate_range(farm.producer_id, 2, 6, farm.batch_id, farm.manager_id)
        db.session.commit()
        assert result.count == 5
        states = _states(farm.producer_id)
        assert [s for s in range(1, 11) if states[s][0] == "active"] == [2, 3, 4, 5, 6]
        assert all(states[s][1] == farm.batch_id for s in range(2, 7))
        assert states[1] == ("new", None)


def test_an_overlapping_activation_is_refused_whole_naming_the_conflict(app):
    with app.app_context():
        farm = make_farm(10)
        stamps.activate_range(farm.producer_id, 1, 4, farm.batch_id)
        db.session.commit()
        before = _states(farm.producer_id)
        with pytest.raises(Conflict) as error:
            stamps.activate_range(farm.producer_id, 3, 8, farm.batch_id)
        db.session.rollback()
        assert "3–4" in str(error.value) and "kích hoạt" in str(error.value)
        assert _states(farm.producer_id) == before


def test_void_stamps_and_unknown_serials_block_an_activation(app):
    with app.app_context():
        farm = make_farm(10)
        stamps.void_range(farm.producer_id, 5, 5, "tem bị rách")
        db.session.commit()
        before = _states(farm.producer_id)
        with pytest.raises(Conflict, match="5"):
            stamps.activate_range(farm.producer_id, 1, 10, farm.batch_id)
        db.session.rollback()
        with pytest.raises(Conflict, match="11–15"):
            stamps.activate_range(farm.producer_id, 8, 15, farm.batch_id)
        db.session.rollback()
        assert _states(farm.producer_id) == before


def test_another_producers_lot_or_stamps_cannot_be_used(app):
    with app.app_context():
        mine = make_farm(10)
        theirs = make_farm(30, lot_code="OTHER-1")
        with pytest.raises(Invalid):
            stamps.activate_range(mine.producer_id, 1, 5, theirs.batch_id)
        db.session.rollback()
        # Serials 11–30 exist only for the other producer: not in this producer's runs.
        with pytest.raises(Conflict, match="11–30"):
            stamps.activate_range(mine.producer_id, 1, 30, mine.batch_id)
        db.session.rollback()
        assert {s for s, _b in _states(mine.producer_id).values()} == {"new"}
        assert {s for s, _b in _states(theirs.producer_id).values()} == {"new"}


def test_stamps_printed_for_one_lot_cannot_be_activated_for_another(app):
    with app.app_context():
        farm = make_farm(5, gtin="8931234567897", bind_lot=True)
        product_id = farm.product_id
        from cooperatives.models import Product

        other_lot = make_batch(db.session.get(Product, product_id), lot_code="CP-2026-12B")
        db.session.commit()
        with pytest.raises(Conflict, match="lô khác"):
            stamps.activate_range(farm.producer_id, 1, 5, other_lot.id)
        db.session.rollback()
        stamps.activate_range(farm.producer_id, 1, 5, farm.batch_id)


@pytest.mark.parametrize("first,last", [(0, 5), (5, 2), ("a", 3), (None, 3), (1, 100_001 + 1)])
def test_malformed_ranges_are_refused(ctx, first, last):
    producer = make_producer()
    with pytest.raises(Invalid):
        stamps.activate_range(producer.id, first, last, 1)
    with pytest.raises(Invalid):
        stamps.void_range(producer.id, first, last, "tem bị rách")


def test_damaged_stamps_are_voided_with_a_reason(app):
    with app.app_context():
        farm = make_farm(10)
        stamps.activate_range(farm.producer_id, 1, 10, farm.batch_id)
        result = stamps.void_range(farm.producer_id, 3, 5, "Tem bị rách khi dán")
        db.session.commit()
        assert result.count == 3
        voided = db.session.scalars(
            select(Stamp).where(Stamp.producer_id == farm.producer_id, Stamp.state == "void")
        ).all()
        assert sorted(s.serial for s in voided) == [3, 4, 5]
        assert {s.void_reason for s in voided} == {"Tem bị rách khi dán"}
        with pytest.raises(Invalid):
            stamps.void_range(farm.producer_id, 6, 6, "")
        with pytest.raises(Conflict, match="đã bị hủy"):
            stamps.void_range(farm.producer_id, 5, 6, "lại rách")
        db.session.rollback()
        assert _states(farm.producer_id)[6][0] == "active"


def test_counts_by_state_per_run(app):
    with app.app_context():
        farm = make_farm(10)
        stamps.activate_range(farm.producer_id, 1, 6, farm.batch_id)
        stamps.void_range(farm.producer_id, 6, 7, "rách")
        db.session.commit()
        assert stamps.state_counts([farm.run_id]) == {
            farm.run_id: {"new": 3, "active": 5, "void": 2}
        }


@pytest.mark.postgres_only
def test_two_managers_activating_overlapping_ranges_never_double_assign_a_stamp(app):
    with app.app_context():
        farm = make_farm(400)
        from cooperatives.models import Product

        second_lot = make_batch(db.session.get(Product, farm.product_id), lot_code="CP-2026-11B")
        db.session.commit()
        lots = [farm.batch_id, second_lot.id]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def activate(first: int, last: int, lot: int) -> None:
        with app.app_context():
            try:
                barrier.wait()
                stamps.activate_range(farm.producer_id, first, last, lot)
                time.sleep(0.2)  # hold the row locks while the other one runs into them
                db.session.commit()
                outcomes.append("ok")
            except Conflict:
                db.session.rollback()
                outcomes.append("conflict")

    threads = [
        threading.Thread(target=activate, args=(1, 300, lots[0])),
        threading.Thread(target=activate, args=(200, 400, lots[1])),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "ok"]
    with app.app_context():
        states = _states(farm.producer_id)
        active = {s: b for s, (state, b) in states.items() if state == "active"}
        # Exactly one of the two ranges, whole, for exactly one lot.
        assert sorted(active) in (list(range(1, 301)), list(range(200, 401)))
        assert len(set(active.values())) == 1
