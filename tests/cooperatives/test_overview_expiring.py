"""A manager sees, on the producer's overview, that certificates are about to lapse."""

from datetime import timedelta

from core.db import db
from core.i18n import local_today
from tests.conftest import login
from tests.factories import make_certificate, make_producer, make_product, make_user

WARNING = "sẽ hết hạn trong 90 ngày tới"


def _overview(app, client, decision_days_ago: int) -> str:
    with app.app_context():
        manager = make_user()
        producer = make_producer(manager=manager)
        product = make_product(producer)
        make_certificate(product, decision_date=local_today() - timedelta(days=decision_days_ago))
        db.session.commit()
        producer_id, manager_id = producer.id, manager.id
    login(client, manager_id)
    return client.get(f"/manage/{producer_id}").get_data(as_text=True)


def test_overview_warns_when_a_certificate_lapses_within_90_days(app, client):
    # Signed 3 years minus 30 days ago: valid for 30 more days.
    page = _overview(app, client, decision_days_ago=3 * 365 - 30)
    assert f"1 giấy chứng nhận {WARNING}" in page


def test_overview_is_quiet_when_certificates_run_for_long(app, client):
    page = _overview(app, client, decision_days_ago=30)
    assert WARNING not in page
