"""Shared arrangements for the read-replica tests: an app with a replica, engines told apart by
the statements each runs, a product with OCOP stars, its pages."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import event

from cooperatives.models import OcopCertificate, Product
from core import replica as replica_module
from core.db import db, unit_of_work
from core.i18n import local_today
from tests.factories import make_certificate, make_producer, make_product, make_user
from wsgi import create_app

STARS = "★★★★"


def replica_app(primary_url: str, replica_url: str, tmp_path, **config):
    return create_app(
        {
            "APP_ENV": "testing",
            "SECRET_KEY": "test-secret-key-that-is-long-enough-for-tests",
            "SQLALCHEMY_DATABASE_URI": primary_url,
            "DATABASE_REPLICA_URL": replica_url,
            "WTF_CSRF_ENABLED": False,
            "PUBLIC_BASE_URL": "https://choque.test",
            "REDIS_URL": "",
            "PAGE_CACHE": "local",
            "PAGE_CACHE_EPOCH_FILE": str(tmp_path / "page-epoch"),
            "REPLICA_WATERMARK_FILE": str(tmp_path / "replica-lsn"),
            **config,
        }
    )


@contextmanager
def served_by(app) -> Iterator[dict[str, int]]:
    """Statements each engine ran in the block, the replica's position check left out."""
    counts = {"primary": 0, "replica": 0}
    with app.app_context():
        engines = {"primary": db.engine, "replica": replica_module.replica(app).engine}

    def counter(name):
        def count(_conn, _cursor, statement, *_args):
            if "pg_last_wal_replay_lsn" not in statement:
                counts[name] += 1

        return count

    listeners = {name: counter(name) for name in engines}
    for name, engine in engines.items():
        event.listen(engine, "before_cursor_execute", listeners[name])
    try:
        yield counts
    finally:
        for name, engine in engines.items():
            event.remove(engine, "before_cursor_execute", listeners[name])


def arrange(app) -> dict:
    with app.app_context(), unit_of_work():
        producer = make_producer(name="HTX Cam Cao Phong")
        product = make_product(producer, name="Cam Cao Phong loại 1", price=250000)
        make_certificate(product, decision_date=local_today() - timedelta(days=30))
        manager = make_user(name="Chị Lan")
        return {
            "product": product.id,
            "manager": manager.id,
            "pages": [f"/p/{product.slug}", f"/c/{producer.slug}", "/"],
        }


def revoke_and_rename(app, product_id: int, name: str) -> None:
    with app.app_context(), unit_of_work():
        for certificate in db.session.scalars(db.select(OcopCertificate)):
            certificate.status = "revoked"
        db.session.get(Product, product_id).name_vi = name


def html(app, path: str) -> str:
    response = app.test_client().get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def dispose(app) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
        found = replica_module.replica(app)
        if found is not None:
            found.engine.dispose()
