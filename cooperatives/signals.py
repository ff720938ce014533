"""Signals the packages above subscribe to (the shop stops selling a product that is no longer
published, or whose OCOP stars are gone). Cooperatives never imports them: it announces.

All are sent inside the unit of work that made the change (receivers add rows; the caller
commits, and a rollback undoes the receivers' work too). sender: "cooperatives".
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# A published product left the shop window (back to draft, or archived).
# kwargs: product_id (int), producer_id (int), status (str: the new status), by_id (int | None).
product_unpublished = _signals.signal("product-unpublished")

# A product was archived (from draft or published). Same kwargs as product_unpublished.
product_archived = _signals.signal("product-archived")

# A council revoked a certificate: its stars are gone at once.
# kwargs: certificate_id (int), product_id (int), producer_id (int), reason (str),
# revoked_by_id (int | None).
certificate_revoked = _signals.signal("certificate-revoked")

# The daily `flask ocop expire` marked a certificate whose validity ended (the stars stopped
# showing at midnight already: the validity rule is by date).
# kwargs: certificate_id (int), product_id (int), producer_id (int), valid_until (date).
certificate_lapsed = _signals.signal("certificate-lapsed")

SENDER = "cooperatives"
