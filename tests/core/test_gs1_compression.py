"""Compressed GS1 Digital Links: our decoder against published and independently produced
vectors, and round trips through our encoder."""

from __future__ import annotations

import random
import string

import pytest

from core.gs1_compression import CompressionError, compress, decompress

# The two examples published with GS1's compression prototype (README of its Python port).
PUBLISHED = [
    ("ARHKVAdpQg", [("01", "09780345418913")]),
    (
        "AREjalurbiAUO-cgohCz45Z67b8A",
        [("01", "09421902960055"), ("10", "2010005828"), ("21", "xyz1234")],
    ),
]
# Produced by gs1-compression 0.1.3 (a Python port of GS1's prototype), without optimisations.
PRODUCED = [
    ("ARA-7iCtsg", [("01", "08931234567897")]),
    ("ARA-7iCtsiDWEf9tpt19rqA", [("01", "08931234567897"), ("10", "CP-2026-11A")]),
    (
        "ARA-7iCtsiDWEf9tpt19rqAQgg-i",
        [("01", "08931234567897"), ("10", "CP-2026-11A"), ("21", "2001")],
    ),
    (
        "ARA-7iCtsiDWEf9tpt19rqALoRv5C2j9lIbGL-nop8LA",
        [
            ("01", "08931234567897"),
            ("10", "CP-2026-11A"),
            ("17", "271231"),
            ("21", "H7KQ2MX9PRT4W"),
        ],
    ),
]


@pytest.mark.parametrize("data,elements", PUBLISHED + PRODUCED)
def test_known_compressed_links_decompress_and_compress_back(data, elements):
    assert list(decompress(data).elements) == elements
    assert compress(elements) == data


def test_random_links_round_trip_with_and_without_optimisation():
    rng = random.Random(7)
    alphabets = [
        string.digits,
        "0123456789ABCDEF",
        string.ascii_letters + "-_",
        "!%&()*+,-./:;<=>?",
    ]
    for _ in range(400):
        lot = "".join(rng.choice(rng.choice(alphabets)) for _ in range(rng.randint(1, 20)))
        serial = "".join(rng.choice(rng.choice(alphabets)) for _ in range(rng.randint(1, 20)))
        elements = [("01", "08931234567897"), ("10", lot), ("21", serial), ("17", "271200")]
        for optimise in (False, True):
            decoded = decompress(compress(elements, [("k1", "v1")], optimise=optimise))
            assert list(decoded.elements) == elements
            assert list(decoded.other) == [("k1", "v1")]


@pytest.mark.parametrize("data", ["", "A", "does-not-exist", "ARA-7iCt", "%%%%%%%%", "A" * 401])
def test_what_is_not_a_compressed_link_is_refused(data):
    with pytest.raises(CompressionError):
        decompress(data)
