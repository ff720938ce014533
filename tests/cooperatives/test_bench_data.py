"""`flask bench-data`: the synthetic catalog is consistent, real-looking and not doubled."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from cooperatives import bench_data
from cooperatives.models import OcopCertificate, Producer, Product, Variant
from cooperatives.ocop import PART_MAXIMA, stars_for_score
from core.db import db
from core.places import province, ward


def test_generates_the_asked_catalog_with_one_to_three_variants_each(app, ctx):
    summary = bench_data.generate(producers=7, products=120)
    assert "7 producers, 120 products" in summary
    assert db.session.scalar(select(func.count()).select_from(Producer)) == 7
    assert db.session.scalar(select(func.count()).select_from(Product)) == 120
    per_product = db.session.execute(
        select(Variant.product_id, func.count()).group_by(Variant.product_id)
    ).all()
    assert len(per_product) == 120
    assert {n for _id, n in per_product} <= {1, 2, 3}
    slugs = db.session.scalars(select(Producer.slug)).all()
    assert all(s.startswith("bench-") for s in slugs)


def test_producers_sit_in_real_2025_communes_of_their_province(app, ctx):
    bench_data.generate(producers=20, products=20)
    for producer in db.session.scalars(select(Producer)):
        commune = ward(producer.ward_code)
        assert commune is not None and commune.province_code == producer.province_code
        assert province(producer.province_code) is not None


def test_certificates_follow_the_ocop_rules(app, ctx):
    bench_data.generate(producers=10, products=1_500)
    certificates = db.session.scalars(select(OcopCertificate)).all()
    assert {c.status for c in certificates} == {"valid", "expired", "revoked"}
    today = date.today()
    for c in certificates:
        assert stars_for_score(c.total_score) == c.stars
        assert c.score_a + c.score_b + c.score_c == c.total_score
        maxima = PART_MAXIMA[c.rule_set]
        assert all(
            part <= top for part, top in zip((c.score_a, c.score_b, c.score_c), maxima, strict=True)
        )
        assert (c.valid_until < today) == (c.status == "expired")
        assert c.rule_set == ("148/2023" if c.decision_date >= date(2023, 2, 24) else "1048/2019")


def test_a_second_run_adds_nothing(app, ctx):
    bench_data.generate(producers=3, products=10)
    summary = bench_data.generate(producers=3, products=10)
    assert "already present" in summary
    assert db.session.scalar(select(func.count()).select_from(Product)) == 10
