"""Signals the shop sends (the partner API and webhooks above subscribe to them).

Sent inside the unit of work that made the change; receivers that talk to the outside world
should defer with core.db.after_commit.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# sender: "shop"; kwargs: variant_ids (list[int]), reason (str: receipt, allocation, release,
# adjustment, shipment, reservation, recall)
stock_changed = _signals.signal("stock-changed")

# sender: "shop"; kwargs: order_id, sub_order_id (int | None), old (str | None), new (str)
order_status_changed = _signals.signal("order-status-changed")
