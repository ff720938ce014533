"""EPCIS 2.0 export: validates against GS1's official JSON schema, with and without a GTIN."""

from __future__ import annotations

import json
from datetime import date
from functools import cache
from pathlib import Path

from jsonschema import Draft7Validator, FormatChecker

from core.db import db
from tests.conftest import login
from tests.factories import add_member, make_batch, make_producer, make_product, make_user
from traceability.lots.epcis import EPCIS_CONTEXT, epcis_document
from traceability.lots.events import correct_event, record_event

DATA = Path(__file__).parent / "data"
GTIN = "08931234567897"  # 8931234567897 padded to GTIN-14


@cache
def validator() -> Draft7Validator:
    schema = json.loads((DATA / "EPCIS-JSON-Schema.json").read_text())
    return Draft7Validator(schema, format_checker=FormatChecker())


def assert_valid(document: dict) -> None:
    errors = sorted(validator().iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


def test_the_validator_accepts_gs1_examples_and_checks_formats():
    for name in (
        "example-object-digital-link.jsonld",
        "example-transformation-digital-link.jsonld",
    ):
        assert_valid(json.loads((DATA / name).read_text()))
    bad = json.loads((DATA / "example-transformation-digital-link.jsonld").read_text())
    bad["epcisBody"]["eventList"][0]["ilmd"] = {"bestBeforeDate": "2014-12-10"}  # no namespace
    assert list(validator().iter_errors(bad))
    bad["epcisBody"]["eventList"][0]["ilmd"] = {}
    bad["epcisBody"]["eventList"][0]["eventID"] = "not a uri"
    assert list(validator().iter_errors(bad))


def _journey(batch_id: int) -> None:
    record_event(batch_id, "inspecting", details={"result": "pass", "inspector": "Chi cục BVTV"})
    record_event(
        batch_id, "packing", details={"packaging": "thùng 10 kg", "quantity": "4800", "unit": "kg"}
    )
    record_event(batch_id, "shipping", details={"destination": "Hà Nội", "carrier": "Viettel Post"})


def test_a_lot_of_a_product_with_a_gtin_uses_gs1_digital_link(ctx):
    product = make_product(make_producer(), name="Cam Cao Phong loại 1", gtin=GTIN)
    batch = make_batch(
        product,
        "CP-2026-11A",
        quantity="5000",
        produced_on=date(2026, 11, 10),
        best_before=date(2026, 12, 10),
        standards=["VietGAP"],
        latitude="20.7234",
        longitude="105.3311",
    )
    _journey(batch.id)
    document = epcis_document(batch.id)
    assert_valid(document)
    assert document["@context"][0] == EPCIS_CONTEXT
    assert document["schemaVersion"] == "2.0" and document["type"] == "EPCISDocument"
    events = document["epcisBody"]["eventList"]
    lot = f"https://choque.test/01/{GTIN}/10/CP-2026-11A"
    assert [e["quantityList"][0]["epcClass"] for e in events] == [lot] * 4
    harvest = events[0]
    assert (harvest["type"], harvest["action"], harvest["bizStep"]) == (
        "ObjectEvent",
        "ADD",
        "commissioning",
    )
    assert harvest["quantityList"][0] == {"epcClass": lot, "quantity": 5000, "uom": "KGM"}
    assert harvest["eventTime"] == "2026-11-10T00:00:00+07:00"
    assert harvest["ilmd"]["cbvmda:bestBeforeDate"] == "2026-12-10"
    assert harvest["ilmd"]["cbvmda:lotNumber"] == "CP-2026-11A"
    assert harvest["ilmd"]["choque:standards"] == ["VietGAP"]
    assert all("ilmd" not in e for e in events[1:])  # lot attributes only on the ADD event
    assert events[1]["disposition"] == "conformant"
    assert events[3]["bizStep"] == "shipping" and events[3]["choque:destination"] == "Hà Nội"
    assert document["choque:chainHead"] == batch.chain_head
    assert events[-1]["choque:hash"] == batch.chain_head


def test_a_lot_without_gtin_gets_a_platform_uri_even_with_odd_characters(ctx):
    product = make_product(make_producer(), name="Rau cải", gtin=None)
    batch = make_batch(product, "HH/2026%11", quantity="35.5", unit="bó")
    _journey(batch.id)
    document = epcis_document(batch.id)
    assert_valid(document)
    quantity = document["epcisBody"]["eventList"][0]["quantityList"][0]
    assert quantity == {
        "epcClass": f"https://choque.test/id/producer/{batch.producer_id}/lot/HH%2F2026%2511",
        "quantity": 35.5,
    }  # "bó" has no UN/CEFACT code: counted


def test_a_packed_lot_exports_a_transformation_from_its_parents(ctx):
    producer = make_producer()
    raw_product = make_product(producer, name="Cam Cao Phong (xô)", gtin=GTIN)
    packed_product = make_product(producer, name="Cam Cao Phong hộp quà")
    raw = make_batch(raw_product, "CP-2026-11A", quantity="5000")
    other = make_batch(raw_product, "CP-2026-11B", quantity="800")
    gift = make_batch(
        packed_product,
        "HQ-2026-01",
        quantity="120",
        unit="hộp",
        parents=[raw, other],
        parent_quantities={raw.id: "300"},
        best_before=date.today(),
    )
    record_event(gift.id, "shipping", details={"destination": "Hà Nội"})
    document = epcis_document(gift.id)
    assert_valid(document)
    transformation = document["epcisBody"]["eventList"][0]
    assert transformation["type"] == "TransformationEvent" and "action" not in transformation
    assert transformation["inputQuantityList"] == [
        {
            "epcClass": f"https://choque.test/01/{GTIN}/10/CP-2026-11A",
            "quantity": 300,
            "uom": "KGM",
        },
        {"epcClass": f"https://choque.test/01/{GTIN}/10/CP-2026-11B"},
    ]
    assert transformation["outputQuantityList"][0]["quantity"] == 120
    assert "cbvmda:bestBeforeDate" in transformation["ilmd"]
    classes = document["epcisHeader"]["epcisMasterData"]["vocabularyList"][0]
    names = {c["id"]: c["attributes"][0]["attribute"] for c in classes["vocabularyElementList"]}
    assert names[f"https://choque.test/01/{GTIN}/10/CP-2026-11A"] == "Cam Cao Phong (xô)"


def test_corrections_and_recalls_are_declared_in_the_document(ctx):
    from traceability.lots.recalls import recall_batch

    batch = make_batch(make_product(make_producer()), "CP-2026-10B", produced_on=date(2026, 10, 20))
    wrong = record_event(batch.id, "shipping", details={"destination": "Hà Nam"})
    fixed = correct_event(batch.id, wrong.id, reason="Nhầm tỉnh", details={"destination": "Hà Nội"})
    mistake = record_event(batch.id, "storing")
    correct_event(batch.id, mistake.id, reason="Ghi nhầm", retract=True)
    recall_batch(
        batch.id, reason="Kiểm nghiệm dư lượng không đạt", actor_id=None, actor_role="manager"
    )
    document = epcis_document(batch.id)
    assert_valid(document)
    by_id = {e["eventID"]: e for e in document["epcisBody"]["eventList"]}
    assert len(by_id) == 5  # the retraction record itself is not an EPCIS event
    declared = by_id[f"urn:uuid:{wrong.event_uuid}"]["errorDeclaration"]
    assert declared["reason"] == "incorrect_data"
    assert declared["correctiveEventIDs"] == [f"urn:uuid:{fixed.event_uuid}"]
    assert by_id[f"urn:uuid:{mistake.event_uuid}"]["errorDeclaration"]["reason"] == "did_not_occur"
    recall = document["epcisBody"]["eventList"][-1]
    assert (recall["bizStep"], recall["disposition"]) == ("holding", "recalled")


def test_an_unusual_time_zone_offset_is_kept(ctx):
    batch = make_batch(make_product(make_producer()), "TZ-1", produced_on=date(2026, 11, 1))
    from traceability.lots.event_kinds import time_from_form

    record_event(
        batch.id,
        "receiving",
        event_time=time_from_form("2026-11-02", "09:15", "+09:00"),
        tz_offset="+09:00",
    )
    document = epcis_document(batch.id)
    assert_valid(document)
    received = document["epcisBody"]["eventList"][1]
    assert received["eventTime"] == "2026-11-02T09:15:00+09:00"
    assert received["eventTimeZoneOffset"] == "+09:00"


# ---- the endpoint -----------------------------------------------------------------------------


def _lots(app) -> dict:
    with app.app_context():
        producer = make_producer()
        member = make_user()
        add_member(member, producer, "member")
        outsider = make_user()
        add_member(outsider, make_producer(), "manager")
        public = make_batch(make_product(producer, status="published"), "PUB-1")
        draft = make_batch(make_product(producer, status="draft"), "DRAFT-1")
        db.session.commit()
        return {
            "public": public.id,
            "draft": draft.id,
            "member": member.id,
            "outsider": outsider.id,
        }


def test_the_epcis_endpoint_answers_json_ld_publicly_for_published_products(app, client):
    ids = _lots(app)
    response = client.get(f"/api/v1/batches/{ids['public']}/epcis")
    assert response.status_code == 200
    assert response.mimetype == "application/ld+json"
    assert_valid(response.get_json(force=True))
    body = client.get(f"/api/v1/batches/{ids['public']}").get_json()
    assert body["lot_code"] == "PUB-1" and body["status"] == "active"
    assert body["events"][0]["kind"] == "harvesting" and "notes" not in body


def test_a_draft_products_lot_is_visible_to_its_members_only(app, client):
    ids = _lots(app)
    for path in ("/epcis", "", "/verify"):
        anonymous = client.get(f"/api/v1/batches/{ids['draft']}{path}")
        assert anonymous.status_code == 404 and anonymous.mimetype == "application/problem+json"
    login(client, ids["outsider"])
    assert client.get(f"/api/v1/batches/{ids['draft']}/epcis").status_code == 404
    login(client, ids["member"])
    response = client.get(f"/api/v1/batches/{ids['draft']}/epcis")
    assert response.status_code == 200 and "private" in response.headers["Cache-Control"]
    assert "notes" in client.get(f"/api/v1/batches/{ids['draft']}").get_json()
    unknown = client.get("/api/v1/batches/987654/epcis")
    assert unknown.status_code == 404 and unknown.mimetype == "application/problem+json"
