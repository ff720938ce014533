"""Bank statements: columns chosen once then remembered, malformed rows listed with their line
numbers while good rows import, exact amounts pay orders through the ledger, partial and over
payments flagged, unmatched lines kept, and a second upload (even a concurrent one) applies
nothing twice. A producer's manager reconciles only its own orders."""

from __future__ import annotations

import io
import re
import threading
from datetime import date

import pytest
from sqlalchemy import func, select

from core.db import db, unit_of_work
from shop.orders.models import Order, OrderStatus
from shop.payments import reconciliation_csv as statement_csv
from shop.payments import reconciliation_statements as statements
from shop.payments.models import LedgerEntry, PaymentEvent, PaymentStatus
from shop.payments.reconciliation import refs_in
from shop.payments.reconciliation_models import BankTransfer, StatementUpload, TransferStatus
from shop.payments.services import payments_of
from shop.payments.verify import first_disagreement
from tests.conftest import login
from tests.factories import make_user
from tests.shop.helpers import order_of, stocked_product

HEADER = "Ngày giao dịch;Số tham chiếu;Số tiền ghi nợ;Số tiền ghi có;Số dư;Nội dung giao dịch"
MAPPING = {
    "date": "Ngày giao dịch",
    "reference": "Số tham chiếu",
    "debit": "Số tiền ghi nợ",
    "credit": "Số tiền ghi có",
    "description": "Nội dung giao dịch",
}


def _vnd(amount: int) -> str:
    return f"{amount:,}".replace(",", ".")


def _statement(rows: list[str]) -> bytes:
    """A Vietcombank-like export: BOM, account lines before the header, `;`, 1.500.000."""
    lines = [
        "SAO KÊ TÀI KHOẢN;;;;;",
        "Số tài khoản: 1000123456;;;;;",
        HEADER,
        *rows,
    ]
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")


def _world(app):
    """Producer A with two VietQR orders (one to pay exactly, one short), producer B."""
    with app.app_context():
        manager_a = make_user(name="Quản lý A")
        producer_a, _product, variant, _b = stocked_product(price=150000, manager=manager_a)
        manager_b = make_user(name="Quản lý B")
        producer_b, _pb, variant_b, _bb = stocked_product(price=90000, manager=manager_b)
        paid = order_of((variant.id, 2), payment_method="vietqr")
        short = order_of((variant.id, 1), payment_method="vietqr")
        other = order_of((variant_b.id, 1), payment_method="vietqr")
        db.session.commit()
        return {
            "a": producer_a.id,
            "b": producer_b.id,
            "manager_a": manager_a.id,
            "manager_b": manager_b.id,
            "paid": (paid.id, paid.ref, paid.total_vnd),
            "short": (short.id, short.ref, short.total_vnd),
            "other": (other.id, other.ref, other.total_vnd),
        }


def _rows(w) -> list[str]:
    _id, ref, total = w["paid"]
    _sid, short_ref, short_total = w["short"]
    spaced = ref.replace("-", " ").lower()  # the buyer's bank lower-cased it and lost the hyphen
    return [
        f"30/11/2026 09:15:02;FT26334001;;{_vnd(total)};9.000.000;MBVCB.123 {spaced} chuyen tien",
        f"30/11/2026 09:20:00;FT26334002;;{_vnd(short_total - 10000)};;{short_ref}",
        "30/11/2026 10:00:00;FT26334003;;500.000;;tien hang thang 11",
        "30/11/2026 11:00:00;FT26334004;200.000;;;Phi dich vu",
        "31/02/2026;FT26334005;;100.000;;ngay sai",
        "30/11/2026;FT26334006;;một trăm;;so tien sai",
    ]


def _upload(client, producer_id, data: bytes, bank="vietcombank"):
    return client.post(
        f"/manage/{producer_id}/transfers/statements",
        data={"bank": bank, "statement": (io.BytesIO(data), "saoke-vcb.csv")},
        content_type="multipart/form-data",
    )


def _upload_id(response) -> int:
    return int(re.search(r"upload=([0-9]+)", response.headers["Location"]).group(1))


def test_a_manager_reconciles_a_statement_and_its_columns_are_remembered(app, client):
    w = _world(app)
    login(client, w["manager_a"])
    data = _statement(_rows(w))
    response = _upload(client, w["a"], data)
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Chọn các cột của sao kê" in page
    for header in MAPPING.values():  # the Vietnamese headers were recognised and proposed
        assert re.search(f'<option value="{header}" selected>', page), header
    upload_id = _upload_id(response)
    response = client.post(
        f"/manage/{w['a']}/transfers/statement", data={"upload": upload_id, **MAPPING}
    )
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Đơn đã thanh toán: 1" in page
    assert "Cần người xử lý (thiếu, thừa, đơn đã hủy): 1" in page
    assert "Chưa khớp đơn nào: 1" in page
    assert "Dòng 8: Ngày không hợp lệ." in page  # line numbers as a spreadsheet shows them
    assert "Dòng 9: Số tiền không hợp lệ." in page
    with app.app_context():
        paid = db.session.get(Order, w["paid"][0])
        assert payments_of(paid.id)[0].status == PaymentStatus.PAID
        assert {s.status for s in paid.sub_orders} == {OrderStatus.CONFIRMED}
        short = db.session.get(Order, w["short"][0])
        assert payments_of(short.id)[0].status == PaymentStatus.PENDING
        statuses = dict(db.session.execute(select(BankTransfer.txn_key, BankTransfer.status)).all())
        assert statuses == {
            "FT26334001": TransferStatus.MATCHED,
            "FT26334002": TransferStatus.PARTIAL,
            "FT26334003": TransferStatus.UNMATCHED,
        }
        assert first_disagreement() is None
        entries = db.session.scalar(select(func.count()).select_from(LedgerEntry))
    listing = client.get(f"/manage/{w['a']}/transfers").get_data(as_text=True)
    assert "tien hang thang 11" in listing and "Chuyển thiếu" in listing

    # The same statement again: the remembered columns import it at once, nothing twice.
    response = _upload(client, w["a"], data)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Đã nhập từ trước, bỏ qua: 3" in page and "Đơn đã thanh toán: 0" in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == entries
        assert db.session.scalar(select(func.count()).select_from(BankTransfer)) == 3


def test_a_line_naming_another_producers_order_stays_unmatched_and_reveals_nothing(app, client):
    w = _world(app)
    login(client, w["manager_b"])
    _id, ref, total = w["paid"]  # producer A's order
    data = _statement([f"30/11/2026;FT1;;{_vnd(total)};;{ref}"])
    response = _upload(client, w["b"], data)
    upload_id = _upload_id(response)
    client.post(f"/manage/{w['b']}/transfers/statement", data={"upload": upload_id, **MAPPING})
    with app.app_context():
        assert payments_of(w["paid"][0])[0].status == PaymentStatus.PENDING
        transfer = db.session.scalar(select(BankTransfer))
        assert transfer.status == TransferStatus.UNMATCHED and transfer.order_id is None
        transfer_id = transfer.id
    # A's manager cannot see or resolve B's upload and transfer.
    login(client, w["manager_a"])
    assert client.get(f"/manage/{w['a']}/transfers/statement?upload={upload_id}").status_code == 404
    response = client.post(
        f"/manage/{w['a']}/transfers/resolve", data={"transfer_id": transfer_id, "note": "xong"}
    )
    assert response.status_code == 404
    assert "FT1" not in client.get(f"/manage/{w['a']}/transfers").get_data(as_text=True)
    # The platform admin uploading the same statement matches it (it sees every order), once.
    admin = _admin(app)
    login(client, admin)
    response = client.post(
        "/admin/transfers/statements",
        data={"bank": "vietcombank", "statement": (io.BytesIO(data), "vcb.csv")},
        content_type="multipart/form-data",
    )
    client.post("/admin/transfers/statement", data={"upload": _upload_id(response), **MAPPING})
    with app.app_context():
        assert payments_of(w["paid"][0])[0].status == PaymentStatus.PAID
        assert db.session.scalar(select(func.count()).select_from(BankTransfer)) == 1


def _admin(app) -> int:
    with app.app_context():
        admin = make_user(name="Quản trị", admin=True)
        db.session.commit()
        return admin.id


def test_flagged_transfers_are_resolved_by_a_person_with_a_note(app, client):
    w = _world(app)
    login(client, w["manager_a"])
    _sid, short_ref, short_total = w["short"]
    response = _upload(
        client, w["a"], _statement([f"30/11/2026;FT9;;{_vnd(short_total + 5000)};;{short_ref}"])
    )
    client.post(
        f"/manage/{w['a']}/transfers/statement", data={"upload": _upload_id(response), **MAPPING}
    )
    with app.app_context():
        transfer = db.session.scalar(select(BankTransfer))
        assert transfer.status == TransferStatus.OVER
        assert payments_of(w["short"][0])[0].status == PaymentStatus.PENDING
    url = f"/manage/{w['a']}/transfers/resolve"
    refused = client.post(url, data={"transfer_id": transfer.id, "note": "ok"})
    assert refused.status_code == 422  # too short: asked again, what was typed still there
    assert 'value="ok"' in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(BankTransfer, transfer.id).status == TransferStatus.OVER
    client.post(url, data={"transfer_id": transfer.id, "note": "Đã hoàn 5.000 ₫, FT777"})
    with app.app_context():
        done = db.session.get(BankTransfer, transfer.id)
        assert done.status == TransferStatus.RESOLVED and "FT777" in done.note


def test_a_missing_column_choice_is_asked_again_with_the_choices_kept(app, client):
    w = _world(app)
    login(client, w["manager_a"])
    response = _upload(client, w["a"], _statement(_rows(w)))
    upload_id = _upload_id(response)
    partial = {**MAPPING, "description": ""}
    response = client.post(
        f"/manage/{w['a']}/transfers/statement", data={"upload": upload_id, **partial}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Chọn cột nội dung chuyển khoản." in page
    assert '<option value="Số tiền ghi có" selected>' in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(BankTransfer)) == 0
        assert db.session.get(StatementUpload, upload_id).status == "pending"


@pytest.mark.parametrize(
    "raw",
    [b"", b"\x00\x01\x02", "chỉ một dòng".encode(), b'"unterminated\n' + b"x\n" * 10],
)
def test_an_unreadable_file_is_refused_and_nothing_is_kept(app, client, raw):
    w = _world(app)
    login(client, w["manager_a"])
    response = _upload(client, w["a"], raw)
    assert response.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(StatementUpload)) == 0


def test_a_member_who_is_not_a_manager_cannot_reconcile(app, client):
    from cooperatives.models import Membership

    w = _world(app)
    with app.app_context():
        member = make_user(name="Thành viên")
        db.session.add(Membership(user_id=member.id, producer_id=w["a"], role="member"))
        db.session.commit()
        member_id = member.id
    login(client, member_id)
    assert client.get(f"/manage/{w['a']}/transfers").status_code == 403
    assert client.get(f"/manage/{w['a']}/settlement").status_code == 403
    assert client.get("/admin/transfers").status_code == 403


def test_a_file_over_2_mb_is_refused_before_it_is_read(app):
    with app.test_request_context(), pytest.raises(statement_csv.StatementError):
        statement_csv.decode(b"a" * (statement_csv.MAX_BYTES + 1))


@pytest.mark.parametrize(
    ("text", "refs"),
    [
        ("CQ-7K3M9P2X", ["CQ-7K3M9P2X"]),
        ("thanh toan cq 7k3m-9p2x", ["CQ-7K3M9P2X"]),
        ("MBVCB.1234.CQ7K3M9P2X.CT tu 0123", ["CQ-7K3M9P2X"]),
        ("Cq-7k3m 9p2x và CQ-22222222", ["CQ-7K3M9P2X", "CQ-22222222"]),
        ("CQ-7K3M9P2", []),  # one character short
        ("CQ-7K3M0P2X", []),  # 0 is never in a reference
        ("chuyen tien hang", []),
    ],
)
def test_order_references_are_found_whatever_the_bank_did_to_them(text, refs):
    assert refs_in(text) == refs


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("1.500.000", 1500000),
        ("1,500,000", 1500000),
        ("1,500,000.00", 1500000),
        ("1.500.000,00", 1500000),
        ("+1 500 000 VND", 1500000),
        ("150000", 150000),
        ("150.000 đ", 150000),
        ("-250.000", -250000),
        ("1.500,50", None),
        ("１５００", None),
        ("abc", None),
        ("", None),
    ],
)
def test_amounts_as_banks_write_them(text, amount):
    assert statement_csv.parse_amount(text) == amount


def test_dates_as_banks_write_them():
    assert statement_csv.parse_date("30/11/2026 09:15:02") == date(2026, 11, 30)
    assert statement_csv.parse_date("2026-11-30T09:15:02") == date(2026, 11, 30)
    assert statement_csv.parse_date("1.2.2026") == date(2026, 2, 1)
    assert statement_csv.parse_date("31/02/2026") is None
    assert statement_csv.parse_date("٣٠/١١/٢٠٢٦") is None


def test_a_single_signed_amount_column_and_comma_separators_are_read(app):
    text = (
        "Date,Description,Amount,Reference\n"
        '2026-11-30,"CQ-7K3M9P2X, thanks","1,500,000",R1\n'
        "2026-11-30,ATM withdrawal,-200000,R2\n"
    )
    table = statement_csv.rows(text)
    _index, headers = statement_csv.find_header(table)
    mapping = statement_csv.guess_mapping(headers)
    assert mapping == {
        "date": "Date",
        "description": "Description",
        "amount": "Amount",
        "reference": "Reference",
    }
    with app.test_request_context():
        parsed = statement_csv.parse(text, mapping)
    assert [(x.amount_vnd, x.reference) for x in parsed.lines] == [(1500000, "R1")]
    assert parsed.money_out == 1 and parsed.errors == []


@pytest.mark.postgres_only
def test_the_same_statement_uploaded_twice_at_once_applies_once(app):
    w = _world(app)
    data = _statement(_rows(w))
    with app.app_context():
        ids = []
        for _n in range(2):
            with unit_of_work():
                kept = statements.start_upload(
                    uploader_id=w["manager_a"],
                    producer_id=w["a"],
                    bank="vietcombank",
                    filename="vcb.csv",
                    raw=data,
                )
                ids.append(kept.id)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(upload_id):
        try:
            with app.app_context():
                barrier.wait()
                with unit_of_work():
                    statements.import_upload(upload_id, w["a"], MAPPING, w["manager_a"])
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with app.app_context():
        uploads = list(db.session.scalars(select(StatementUpload).order_by(StatementUpload.id)))
        assert sum(u.applied for u in uploads) == 1
        assert sum(u.duplicates for u in uploads) == 3
        assert db.session.scalar(select(func.count()).select_from(BankTransfer)) == 3
        events = db.session.scalar(
            select(func.count()).select_from(PaymentEvent).where(PaymentEvent.source == "vietqr")
        )
        assert events == 2  # the exact payment and the flagged short one, each once
        assert first_disagreement() is None


def test_a_utf16_export_with_stray_nul_bytes_still_imports(app, client):
    """Excel's "Unicode text" export is UTF-16; a NUL byte would be refused by PostgreSQL."""
    w = _world(app)
    login(client, w["manager_a"])
    _id, ref, total = w["paid"]
    text = f"{HEADER}\r\n30/11/2026;FT7;;{_vnd(total)};;{ref}\x00\r\n"
    response = _upload(client, w["a"], text.encode("utf-16"))
    assert response.status_code == 303
    client.post(
        f"/manage/{w['a']}/transfers/statement", data={"upload": _upload_id(response), **MAPPING}
    )
    with app.app_context():
        assert payments_of(w["paid"][0])[0].status == PaymentStatus.PAID
