"""Stamps: runs and codes, printing, activation, scans, the scan page, the public views, the
GS1 Digital Link resolver, forms and CLI.

What other packages may call is re-exported here: `from traceability import stamps;
stamps.create_run(…)`. Modules: `codes` (codes, PINs, URLs), `runs`, `activation`, `printing/`,
`scans`, `scan_cache`, `scan_page`, `public_views`, `resolver`, `views`, `forms`, `cli`, `demo`.
"""

from traceability.stamps.activation import RangeResult, activate_range, void_range
from traceability.stamps.codes import (
    ALPHABET,
    CHUNK,
    CODE_LENGTH,
    MAX_RANGE,
    MAX_RUN,
    PIN_DIGITS,
    code_url,
    grouped_code,
    normalize_code,
    pin_hash,
    pin_key,
    pin_matches,
    random_codes,
    stamp_dl_url,
    stamp_pin,
    stamp_url,
)
from traceability.stamps.runs import (
    LotStamps,
    check_quantity,
    create_run,
    get_run,
    get_stamp,
    lots_to_stamp,
    run_lot,
    runs_of,
    sample_url,
    stamp_with_url,
    stamps_of_lot,
    state_counts,
)

__all__ = [
    "stamps_of_lot",
    "stamp_with_url",
    "sample_url",
    "run_lot",
    "lots_to_stamp",
    "ALPHABET",
    "CHUNK",
    "CODE_LENGTH",
    "MAX_RANGE",
    "MAX_RUN",
    "PIN_DIGITS",
    "LotStamps",
    "RangeResult",
    "activate_range",
    "check_quantity",
    "code_url",
    "create_run",
    "get_run",
    "get_stamp",
    "grouped_code",
    "normalize_code",
    "pin_hash",
    "pin_key",
    "pin_matches",
    "random_codes",
    "runs_of",
    "state_counts",
    "stamp_dl_url",
    "stamp_pin",
    "stamp_url",
    "void_range",
]
