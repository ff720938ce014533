"""A community helper always sees whose data they are entering, on every page of that producer."""

from core.db import db
from tests.conftest import login
from tests.factories import add_member, make_producer, make_user


def test_helper_sees_acting_banner_on_every_producer_area(app, client):
    with app.app_context():
        household = make_producer(name="Hộ Nguyễn Văn A", manager=make_user())
        helper = make_user(name="Tuấn")
        add_member(helper, household, "helper")
        db.session.commit()
        producer_id, helper_id = household.id, helper.id
    login(client, helper_id)
    for path in ("", "/products", "/ocop", "/batches", "/stamps"):
        page = client.get(f"/manage/{producer_id}{path}")
        assert page.status_code == 200, path
        assert "Bạn đang nhập thay cho Hộ Nguyễn Văn A" in page.get_data(as_text=True), path


def test_manager_sees_no_helper_banner(app, client):
    with app.app_context():
        manager = make_user()
        producer = make_producer(name="HTX Cam", manager=manager)
        db.session.commit()
        producer_id, manager_id = producer.id, manager.id
    login(client, manager_id)
    page = client.get(f"/manage/{producer_id}/products")
    assert "Bạn đang nhập thay cho" not in page.get_data(as_text=True)
