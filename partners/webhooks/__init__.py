"""Outgoing webhooks to partners, signed per the Standard Webhooks spec.

models   endpoints (URL + encrypted secret) and the delivery log (one row per event × endpoint)
signing  whsec_ secrets, their encryption at rest, the webhook-* headers
outbox   signal receivers → delivery rows, written in the unit of work of the change
delivery claim (lease), build the payload at send time, POST, retry with backoff, replay
"""

EVENTS = (
    "product.updated",
    "product.removed",
    "stock.changed",
    "order.status_changed",
    "lot.recalled",
)
# Bursts of these make one pending delivery per product per endpoint (payload built at send time).
COALESCED = ("product.updated", "stock.changed")
