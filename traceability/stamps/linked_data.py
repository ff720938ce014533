"""What machines get for a stamp, a lot or a product: schema.org JSON-LD with GS1 terms, and
RFC 9264 linksets. Rendered from what the one scan path read (reading.StampReading) or from a
lot's trace summary; never reads a stamp on its own."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from cooperatives.models import OcopCertificate, Product
from core.urls import public_url
from traceability.stamps import resolver
from traceability.stamps.reading import StampReading
from traceability.stamps.scan_page import epcis_path, product_path


def stamp_jsonld(
    reading: StampReading, summary: Any = None, certificate: OcopCertificate | None = None
) -> dict[str, Any]:
    """schema.org JSON-LD of a stamp (with its lot's `summary` and certificate when it shows
    one)."""
    body: dict[str, Any] = {
        "@context": {"@vocab": "https://schema.org/", "gs1": resolver.GS1_VOC},
        "@type": "IndividualProduct",
    }
    facts = reading.facts
    if facts is None:
        body["additionalProperty"] = [_property("stampVerdict", reading.verdict.value)]
        return body
    body["@id"] = reading.link  # by its Digital Link: that link, never the code (a secret)
    body["serialNumber"] = facts.dl_serial or str(facts.serial)
    properties = [_property("stampVerdict", reading.verdict.value)]
    if reading.tally is not None:
        properties.append(_property("scanCount", reading.tally.count))
        if reading.tally.first_at:
            properties.append(_property("firstScannedAt", reading.tally.first_at.isoformat()))
        properties.append(_property("copyWarning", reading.tally.copy_warning))
    if summary is not None:
        lot = lot_fields(summary, certificate)
        properties += lot.pop("additionalProperty", [])
        body.update(lot)
    body["additionalProperty"] = properties
    return body


def _property(name: str, value: Any) -> dict[str, Any]:
    return {"@type": "PropertyValue", "propertyID": name, "value": value}


def lot_fields(summary: Any, certificate: OcopCertificate | None) -> dict[str, Any]:
    """schema.org fields of a lot (its product, producer, dates, origin, stars, recall)."""
    batch, product, producer = summary.batch, summary.product, summary.producer
    node = resolver.product_node(product, producer, public_url())
    fields: dict[str, Any] = {
        "name": product.name_vi,
        "isVariantOf": node,
        "manufacturer": node["manufacturer"],
        "gs1:hasBatchLotNumber": batch.lot_code,
        "productionDate": batch.produced_on.isoformat(),
        "countryOfOrigin": {"@type": "Country", "name": "VN"},
        "subjectOf": {
            "@type": "Dataset",
            "name": "EPCIS 2.0",
            "encodingFormat": "application/ld+json",
            "url": public_url() + epcis_path(batch.id),
        },
    }
    if product.gtin:
        fields["gtin"] = product.gtin
    if batch.best_before:
        fields["gs1:bestBeforeDate"] = batch.best_before.isoformat()
    if batch.expires_on:
        fields["gs1:expirationDate"] = batch.expires_on.isoformat()
    if summary.origin_text:
        fields["gs1:productionLocation"] = summary.origin_text
    if summary.standards:
        fields["gs1:certificationStandard"] = list(summary.standards)
    if certificate is not None:
        fields["hasCertification"] = {
            "@type": "Certification",
            "name": f"OCOP {certificate.stars}★",
            "certificationIdentification": certificate.decision_number,
            "issuedBy": {"@type": "Organization", "name": certificate.issuing_authority},
            "expires": certificate.valid_until.isoformat(),
        }
    if summary.recalled:
        fields["additionalProperty"] = [
            _property("recalled", True),
            _property("recallReason", summary.recall_reason or ""),
        ]
    return fields


def links(anchor: str, product: Product | None, batch_id: int | None) -> dict[str, Any]:
    """The linkset of a stamp page `/s/<code>` (GS1-valid: every link titled). Lots and GTINs
    have theirs from the resolver (resolver_views), level by level."""
    found = [
        resolver.Link(
            "verificationService",
            anchor,
            _("Kiểm tra tem: chính hãng, số lần quét, mã PIN"),
            "text/html",
            resolver.PAGE_LANGUAGES,
        )
    ]
    if product is not None:
        found.append(
            resolver.Link(
                "pip", public_url(product_path(product)), product.name_vi, "text/html", ("vi",)
            )
        )
    if batch_id is not None:
        found.append(
            resolver.Link(
                "epcis",
                public_url(epcis_path(batch_id)),
                _("Sự kiện EPCIS 2.0 của lô hàng"),
                "application/ld+json",
            )
        )
    description = product.name_vi if product is not None else _("Tem Chợ Quê")
    return resolver.linkset([resolver.Level(anchor, description, tuple(found))])
