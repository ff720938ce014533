"""A PDF written page by page: each page's content is compressed and handed out as soon as it is
drawn, so a run of 100,000 labels never sits in memory (reportlab's canvas keeps every page
until it saves). What stays is one byte offset per object for the cross-reference table and
one number per page for the page tree: a few bytes a page.

Text uses TrueType subsets of the bundled fonts made once, before the first page, from the
characters the labels can hold (their title, captions, code alphabet, digits): one byte per
character, widths and a ToUnicode map as reportlab writes them, so the text can be searched and
copied (Vietnamese included).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from pathlib import Path

PAGE_SIZE = (595.2756, 841.8898)  # A4 in points
_CATALOG, _PAGES, _INFO, _RESOURCES = 1, 2, 3, 4
_FIRST_FREE = 5
_LEVEL = 6  # zlib: nearly the size of level 9 at a third of its time


class EmbeddedFont:
    """A subset of a TrueType font holding `characters` (at most 255), one byte each."""

    def __init__(self, path: Path, resource: str, tag: str, characters: Iterable[str]) -> None:
        from reportlab.pdfbase.ttfonts import TTFontFace

        chars = sorted({c for c in characters if c >= " "})
        if len(chars) > 255:
            raise ValueError("a label font subset holds at most 255 characters")
        self.face = TTFontFace(str(path))
        self.resource = resource
        self.base_name = f"{tag}+{self.face.name.decode('latin-1')}"
        self.subset = [0, *[ord(c) for c in chars]]  # code 0: the missing glyph
        self.codes = {c: index for index, c in enumerate(chars, start=1)}

    def encode(self, text: str) -> bytes:
        """The text as a PDF hex string in this subset's codes (unknown characters: code 0)."""
        return b"<" + bytes(self.codes.get(c, 0) for c in text).hex().encode() + b">"

    def objects(self, first: int) -> list[tuple[int, bytes]]:
        """The font, its descriptor, the font file and the ToUnicode map, numbered from
        `first` (the font itself)."""
        from reportlab.pdfbase.ttfonts import FF_NONSYMBOLIC, FF_SYMBOLIC, makeToUnicodeCMap

        face = self.face
        font_id, descriptor_id, file_id, cmap_id = first, first + 1, first + 2, first + 3
        widths = " ".join(str(face.getCharWidth(code)) for code in self.subset)
        font = (
            f"<< /Type /Font /Subtype /TrueType /Name /{self.resource} "
            f"/BaseFont /{self.base_name} /FirstChar 0 /LastChar {len(self.subset) - 1} "
            f"/Widths [{widths}] /FontDescriptor {descriptor_id} 0 R "
            f"/ToUnicode {cmap_id} 0 R >>"
        ).encode()
        flags = (face.flags & ~FF_NONSYMBOLIC) | FF_SYMBOLIC
        bbox = " ".join(str(v) for v in face.bbox)
        descriptor = (
            f"<< /Type /FontDescriptor /FontName /{self.base_name} /Flags {flags} "
            f"/FontBBox [{bbox}] /ItalicAngle {face.italicAngle} /Ascent {face.ascent} "
            f"/Descent {face.descent} /CapHeight {face.capHeight} /StemV {face.stemV} "
            f"/MissingWidth {face.defaultWidth} /FontFile2 {file_id} 0 R >>"
        ).encode()
        program = face.makeSubset(self.subset)
        cmap = makeToUnicodeCMap(self.base_name, self.subset).encode("latin-1")
        return [
            (font_id, font),
            (descriptor_id, descriptor),
            (file_id, _stream(program, f"/Length1 {len(program)}")),
            (cmap_id, _stream(cmap)),
        ]


def _stream(data: bytes, extra: str = "") -> bytes:
    packed = zlib.compress(data, _LEVEL)
    head = f"<< /Length {len(packed)} /Filter /FlateDecode {extra}>>\nstream\n".encode()
    return head + packed + b"\nendstream"


def _text_string(text: str) -> bytes:
    """A document-information string in UTF-16 (any language)."""
    return b"<feff" + text.encode("utf-16-be").hex().encode() + b">"


class PdfStream:
    """Bytes of one PDF, in order: `start()`, then `page(content)` for each page, then
    `finish()`; what each returns is written or sent at once."""

    def __init__(self, fonts: list[EmbeddedFont], *, title: str, creator: str) -> None:
        self.fonts = fonts
        self.title = title
        self.creator = creator
        self.position = 0
        self.offsets: dict[int, int] = {}
        self.kids: list[int] = []
        self.next_id = _FIRST_FREE

    def _object(self, number: int, body: bytes) -> bytes:
        chunk = b"%d 0 obj\n%s\nendobj\n" % (number, body)
        self.offsets[number] = self.position
        self.position += len(chunk)
        return chunk

    def _chunk(self, data: bytes) -> bytes:
        self.position += len(data)
        return data

    def start(self) -> bytes:
        out = [self._chunk(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")]
        info = b"<< /Title %s /Creator %s /Producer %s >>" % (
            _text_string(self.title),
            _text_string(self.creator),
            _text_string(self.creator),
        )
        out.append(self._object(_INFO, info))
        entries = []
        for font in self.fonts:
            objects = font.objects(self.next_id)
            entries.append(f"/{font.resource} {self.next_id} 0 R")
            self.next_id += len(objects)
            out.extend(self._object(number, body) for number, body in objects)
        resources = f"<< /Font << {' '.join(entries)} >> /ProcSet [/PDF /Text] >>"
        out.append(self._object(_RESOURCES, resources.encode()))
        return b"".join(out)

    def page(self, content: bytes) -> bytes:
        contents, page = self.next_id, self.next_id + 1
        self.next_id += 2
        self.kids.append(page)
        width, height = PAGE_SIZE
        body = (
            f"<< /Type /Page /Parent {_PAGES} 0 R /MediaBox [0 0 {width} {height}] "
            f"/Resources {_RESOURCES} 0 R /Contents {contents} 0 R >>"
        ).encode()
        return self._object(contents, _stream(content)) + self._object(page, body)

    def finish(self) -> bytes:
        kids = " ".join(f"{kid} 0 R" for kid in self.kids)
        out = [
            self._object(
                _PAGES, f"<< /Type /Pages /Kids [{kids}] /Count {len(self.kids)} >>".encode()
            ),
            self._object(_CATALOG, f"<< /Type /Catalog /Pages {_PAGES} 0 R >>".encode()),
        ]
        xref_at = self.position
        size = self.next_id
        table = [f"xref\n0 {size}\n0000000000 65535 f \n"]
        for number in range(1, size):
            table.append(f"{self.offsets[number]:010d} 00000 n \n")
        table.append(
            f"trailer\n<< /Size {size} /Root {_CATALOG} 0 R /Info {_INFO} 0 R >>\n"
            f"startxref\n{xref_at}\n%%EOF\n"
        )
        out.append("".join(table).encode())
        return b"".join(out)
