"""Compressed GS1 Digital Link URIs (GS1 Digital Link 1.1 compression): `https://host/<data>`
where <data> is a bit string in GS1's URI-safe Base64 alphabet.

The bit string is a sequence of elements. Each element starts with 8 bits read as two hex
digits h1 h2:
- both 0–9: a GS1 Application Identifier whose length (2, 3 or 4 digits) is given by its first
  two digits; further digits follow as 4 bits each; then its value in the AI's format;
- an optimisation code (0A…3F, 9A…9D, A0…A9, C0…CD): a fixed sequence of AIs, values only;
- h1 = F: a non-GS1 key=value pair (7 bits key length with h2's 4 bits, key in 6-bit Base64,
  then a 3-bit encoding, 7 bits value length and the value).
Values: fixed-length numeric parts as binary integers of ceil(n·log2 10) bits; variable-length
numeric parts with a length field of ceil(log2 max) bits first; alphanumeric parts with a 3-bit
encoding (0 digits as one integer, 1 lower-case hex, 2 upper-case hex, 3 URI-safe Base64,
4 ASCII 7-bit), a length field when variable, then the characters. The last Base64 character
is padded with zero bits; fewer than 9 bits left end the data.

Only the AIs this resolver can use are known (GTIN and its qualifiers and common data
attributes); any other AI makes the data undecodable here (the caller answers 404).
Written from the specification as we know it; validated against the two examples published
with GS1's compression prototype and by round trips with `compress` (tests/core).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

SAFE_BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_DIGITS = frozenset("0123456789")
_ALL_DIGITS = re.compile("[0-9]+")
_HEX = "0123456789ABCDEF"
MAX_DATA = 400  # characters: far more than any printable link

# AI → its parts: ("N", fixed length) | ("N", -max) | ("X", -max) (negative: variable length)
FORMATS: dict[str, tuple[tuple[str, int], ...]] = {
    "00": (("N", 18),),
    "01": (("N", 14),),
    "02": (("N", 14),),
    "10": (("X", -20),),
    "11": (("N", 6),),
    "12": (("N", 6),),
    "13": (("N", 6),),
    "15": (("N", 6),),
    "16": (("N", 6),),
    "17": (("N", 6),),
    "20": (("N", 2),),
    "21": (("X", -20),),
    "22": (("X", -20),),
    "235": (("X", -28),),
    "30": (("N", -8),),
    "37": (("N", -8),),
    "91": (("X", -90),),
    "7003": (("N", 10),),
    **{f"31{d}{x}": (("N", 6),) for d in "0" for x in "012345"},
    **{f"32{d}{x}": (("N", 6),) for d in "0" for x in "012345"},
    **{f"392{x}": (("N", -15),) for x in "0123456789"},
}
# Total digits of an AI from its first two (GS1's table P, the ranges we may meet).
AI_LENGTH = {
    **{f"{n:02d}": 2 for n in (0, 1, 2, 10, 11, 12, 13, 15, 16, 17, 20, 21, 22, 30, 37)},
    **{f"{n}": 2 for n in range(90, 100)},
    **{f"{n}": 3 for n in (23, 24, 25, 40, 41, 42, 71)},
    **{f"{n}": 4 for n in (31, 32, 33, 34, 35, 36, 39, 43, 70, 72, 80, 81, 82)},
}
OPTIMISATIONS: dict[str, tuple[str, ...]] = {
    "0A": ("01", "22"),
    "0B": ("01", "10"),
    "0C": ("01", "21"),
    "0D": ("01", "17"),
    "0E": ("01", "7003"),
    "0F": ("01", "30"),
    "1A": ("01", "10", "21", "17"),
    "1B": ("01", "15"),
    "1C": ("01", "11"),
    "1D": ("01", "16"),
    "1E": ("01", "91"),
    "1F": ("01", "10", "15"),
    **{f"2{c}": ("01", f"310{i}") for i, c in enumerate("ABCDEF")},
    **{f"3{c}": ("01", f"320{i}") for i, c in enumerate("ABCDEF")},
    **{f"A{i}": ("01", f"392{i}") for i in range(10)},
}


class CompressionError(ValueError):
    """The data is not a compressed GS1 Digital Link this resolver can read."""


@dataclass(frozen=True)
class Decompressed:
    elements: tuple[tuple[str, str], ...]  # (AI, value) in the order found
    other: tuple[tuple[str, str], ...]  # non-GS1 key=value pairs


def value_bits(digits: int) -> int:
    return math.ceil(digits * math.log2(10) + 0.01) if digits else 0


def length_bits(maximum: int) -> int:
    return math.ceil(math.log2(maximum) + 0.01)


# ---------------------------------------------------------------------------- decompress


class _Bits:
    def __init__(self, bits: str) -> None:
        self.bits = bits
        self.at = 0

    def left(self) -> int:
        return len(self.bits) - self.at

    def take(self, n: int) -> str:
        if n < 0 or n > self.left():
            raise CompressionError("the data ends in the middle of a value")
        chunk = self.bits[self.at : self.at + n]
        self.at += n
        return chunk

    def number(self, n: int) -> int:
        return int(self.take(n), 2) if n else 0


def _chars(bits: _Bits, encoding: int, count: int) -> str:
    if encoding == 0:
        value = bits.number(value_bits(count))
        text = str(value).zfill(count)
        if len(text) != count:
            raise CompressionError("a numeric value is longer than its length")
        return text
    if encoding in (1, 2):
        text = "".join(_HEX[bits.number(4)] for _ in range(count))
        return text.lower() if encoding == 1 else text
    if encoding == 3:
        return "".join(SAFE_BASE64[bits.number(6)] for _ in range(count))
    if encoding == 4:
        return "".join(chr(bits.number(7)) for _ in range(count))
    raise CompressionError("unknown value encoding")


def _value(bits: _Bits, ai: str) -> str:
    parts = FORMATS.get(ai)
    if parts is None:
        raise CompressionError(f"AI {ai} is not supported by this resolver")
    out = []
    for kind, length in parts:
        if kind == "N" and length > 0:
            out.append(str(bits.number(value_bits(length))).zfill(length))
            if len(out[-1]) != length:
                raise CompressionError("a numeric value is longer than its length")
        elif kind == "N":
            count = bits.number(length_bits(-length))
            if count > -length:
                raise CompressionError("a value is longer than its AI allows")
            out.append(_chars(bits, 0, count) if count else "")
        else:
            encoding = bits.number(3)
            count = bits.number(length_bits(-length)) if length < 0 else length
            if count > abs(length):
                raise CompressionError("a value is longer than its AI allows")
            out.append(_chars(bits, encoding, count))
    return "".join(out)


def decompress(data: str) -> Decompressed:
    """The AIs and other pairs in `data` (the path segment after the host). Raises
    CompressionError when it is not a compressed link we can read."""
    if not data or len(data) > MAX_DATA or any(ch not in SAFE_BASE64 for ch in data):
        raise CompressionError("not URI-safe Base64")
    bits = _Bits("".join(f"{SAFE_BASE64.index(ch):06b}" for ch in data))
    elements: list[tuple[str, str]] = []
    other: list[tuple[str, str]] = []
    while bits.left() > 8:
        h1, h2 = _HEX[bits.number(4)], _HEX[bits.number(4)]
        head = h1 + h2
        if h1 in _DIGITS and h2 in _DIGITS:
            size = AI_LENGTH.get(head)
            if size is None:
                raise CompressionError(f"no AI begins with {head}")
            ai = head
            for _ in range(size - 2):
                digit = bits.number(4)
                if digit > 9:
                    raise CompressionError("an AI must be all digits")
                ai += str(digit)
            elements.append((ai, _value(bits, ai)))
        elif head in OPTIMISATIONS:
            for ai in OPTIMISATIONS[head]:
                elements.append((ai, _value(bits, ai)))
        elif h1 == "F":
            key_length = int(f"{_HEX.index(h2):04b}" + bits.take(3), 2)
            key = "".join(SAFE_BASE64[bits.number(6)] for _ in range(key_length))
            encoding = bits.number(3)
            count = bits.number(7)
            other.append((key, _chars(bits, encoding, count)))
        else:
            raise CompressionError(f"unknown optimisation code {head}")
    if not elements:
        raise CompressionError("no GS1 identifier in the data")
    return Decompressed(tuple(elements), tuple(other))


# ------------------------------------------------------------------------------ compress


def _encoding(text: str) -> int:
    if _ALL_DIGITS.fullmatch(text):
        return 0
    if all(ch in "0123456789ABCDEF" for ch in text):
        return 2
    if all(ch in "0123456789abcdef" for ch in text):
        return 1
    if all(ch in SAFE_BASE64 for ch in text):
        return 3
    return 4


def _encode_chars(text: str, encoding: int) -> str:
    if encoding == 0:
        return f"{int(text):0{value_bits(len(text))}b}"
    if encoding in (1, 2):
        return "".join(f"{_HEX.index(ch.upper()):04b}" for ch in text)
    if encoding == 3:
        return "".join(f"{SAFE_BASE64.index(ch):06b}" for ch in text)
    return "".join(f"{ord(ch):07b}" for ch in text)


def _encode_value(ai: str, value: str) -> str:
    out, at = [], 0
    for kind, length in FORMATS[ai]:
        if kind == "N" and length > 0:
            part, at = value[at : at + length], at + length
            out.append(f"{int(part):0{value_bits(length)}b}")
        elif kind == "N":
            part, at = value[at:], len(value)
            out.append(f"{len(part):0{length_bits(-length)}b}")
            out.append(f"{int(part):0{value_bits(len(part))}b}" if part else "")
        else:
            part, at = value[at:], len(value)
            encoding = _encoding(part)
            out.append(f"{encoding:03b}")
            out.append(f"{len(part):0{length_bits(-length)}b}")
            out.append(_encode_chars(part, encoding))
    return "".join(out)


def compress(
    elements: list[tuple[str, str]],
    other: list[tuple[str, str]] | None = None,
    *,
    optimise: bool = False,
) -> str:
    """The data part of a compressed link (elements in the order given; with `optimise`, a
    leading run of AIs matching an optimisation code is written with that code)."""
    bits = []
    rest = list(elements)
    if optimise:
        ais = tuple(ai for ai, _ in rest)
        best = max(
            (code for code, seq in OPTIMISATIONS.items() if ais[: len(seq)] == seq),
            key=lambda code: len(OPTIMISATIONS[code]),
            default=None,
        )
        if best is not None:
            bits.append("".join(f"{_HEX.index(ch):04b}" for ch in best))
            for ai, value in rest[: len(OPTIMISATIONS[best])]:
                bits.append(_encode_value(ai, value))
            rest = rest[len(OPTIMISATIONS[best]) :]
    for ai, value in rest:
        bits.append("".join(f"{int(ch):04b}" for ch in ai))
        bits.append(_encode_value(ai, value))
    for key, value in other or []:
        bits.append("1111" + f"{len(key):07b}")
        bits.append("".join(f"{SAFE_BASE64.index(ch):06b}" for ch in key))
        encoding = _encoding(value)
        bits.append(f"{encoding:03b}{len(value):07b}" + _encode_chars(value, encoding))
    joined = "".join(bits)
    joined += "0" * (-len(joined) % 6)
    return "".join(SAFE_BASE64[int(joined[i : i + 6], 2)] for i in range(0, len(joined), 6))
