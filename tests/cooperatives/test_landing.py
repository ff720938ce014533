"""Each role lands on its own work after signing in, never on "you manage no producer"."""

from __future__ import annotations

from core.db import db
from tests.conftest import login
from tests.factories import add_member, make_council_member, make_producer, make_user


def _land(client, user_id: int) -> str:
    login(client, user_id)
    response = client.get("/manage/start")
    assert response.status_code == 302
    return response.headers["Location"]


def test_a_council_member_lands_on_the_evaluations_waiting(app, client):
    with app.app_context():
        member = make_council_member()
        db.session.commit()
        member_id = member.id
    assert _land(client, member_id) == "/council"
    page = client.get("/manage").get_data(as_text=True)
    assert "Bạn chưa quản lý cơ sở nào" not in page
    assert 'href="/council"' in page


def test_a_manager_of_one_producer_lands_on_it(app, client):
    with app.app_context():
        manager = make_user()
        producer = make_producer(manager=manager)
        db.session.commit()
        manager_id, producer_id = manager.id, producer.id
    assert _land(client, manager_id) == f"/manage/{producer_id}"


def test_a_helper_lands_on_the_households_they_help(app, client):
    with app.app_context():
        helper = make_user()
        for name in ("Hộ Nguyễn Văn A", "Hộ Lê Thị B"):
            add_member(helper, make_producer(name=name, kind="ho"), "helper")
        db.session.commit()
        helper_id = helper.id
    assert _land(client, helper_id) == "/manage"
    page = client.get("/manage").get_data(as_text=True)
    assert "Các hộ bạn hỗ trợ" in page
    assert "Hộ Nguyễn Văn A" in page and "Hộ Lê Thị B" in page
