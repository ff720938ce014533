"""Signals other packages subscribe to (the shop finds the buyers of a recalled lot).

Traceability sits below the shop: it never imports it, it announces.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# Sent inside the unit of work that recalled the lots (receivers add rows; the caller commits).
# sender: the traceability package name; kwargs: batch_ids (list[int], the origin first),
# origin_id (int), reason (str), recalled_by_id (int | None).
batch_recalled = _signals.signal("batch-recalled")
