"""Uploaded photos: validated, EXIF-oriented, stripped of all metadata (farm GPS!), resized.

Stored as WebP variants under MEDIA_ROOT/<key>/{thumb,card,full}.webp. The storage interface is
small so object storage can stand behind it later.
"""

from __future__ import annotations

import io
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from flask import current_app, g, has_request_context
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import Invalid

try:  # HEIC from iPhones, when the optional decoder is installed
    from pillow_heif import register_heif_opener

    register_heif_opener()
    HEIC_SUPPORTED = True
except ImportError:  # pragma: no cover - depends on the platform wheel
    HEIC_SUPPORTED = False

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "MPO"} | ({"HEIF"} if HEIC_SUPPORTED else set())
MAX_PIXELS = 40_000_000  # a 40 MP photo is the largest a phone makes
# All the photos of one request together: decoding costs ~30 ms per megapixel of a worker's time.
MAX_REQUEST_PIXELS = 60_000_000
VARIANTS = {"thumb": 160, "card": 480, "full": 1280}


@dataclass(frozen=True)
class StoredImage:
    key: str
    width: int
    height: int


def _open_checked(stream: IO[bytes], max_bytes: int) -> Image.Image:
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise Invalid(
            _l("Ảnh quá lớn (tối đa %(mb)s MB).", mb=max_bytes // (1024 * 1024)), code="too_large"
        )
    if not data:
        raise Invalid(_l("Tệp ảnh trống."), code="empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in ACCEPTED_FORMATS:
                raise Invalid(_l("Chỉ nhận ảnh JPEG, PNG, WebP hoặc HEIC."), code="format")
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise Invalid(_l("Ảnh có quá nhiều điểm ảnh."), code="bomb")
            _charge_request_pixels(width * height)
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise Invalid(_l("Ảnh có quá nhiều điểm ảnh."), code="bomb") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise Invalid(_l("Tệp này không phải ảnh hoặc ảnh bị hỏng."), code="format") from exc
    return image


def _too_many_pixels() -> Invalid:
    return Invalid(
        _l(
            "Các ảnh gửi cùng lúc quá lớn (tổng hơn %(mp)d triệu điểm ảnh). "
            "Vui lòng gửi ít ảnh hơn mỗi lần.",
            mp=MAX_REQUEST_PIXELS // 1_000_000,
        ),
        code="too_many_pixels",
    )


def _charge_request_pixels(pixels: int) -> None:
    """Count the pixels decoded in this request; refuse past MAX_REQUEST_PIXELS."""
    if not has_request_context():
        return
    total = g.get("upload_pixels", 0) + pixels
    g.upload_pixels = total
    if total > MAX_REQUEST_PIXELS:
        raise _too_many_pixels()


def header_pixels(stream: IO[bytes]) -> int:
    """Width × height read from the image header only (nothing decoded); 0 if unreadable."""
    position = stream.tell()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            width, height = Image.open(stream).size
        return width * height
    except Exception:  # unreadable here: the full check refuses it with the right message
        return 0
    finally:
        stream.seek(position)


def check_request_pixels(streams: list[IO[bytes]]) -> None:
    """Refuse a batch of uploads whose headers add up past the budget, before decoding any."""
    if sum(header_pixels(stream) for stream in streams) > MAX_REQUEST_PIXELS:
        raise _too_many_pixels()


def _clean(image: Image.Image) -> Image.Image:
    """Apply EXIF orientation, then copy pixels only: no EXIF, GPS, XMP or ICC text survives."""
    image = ImageOps.exif_transpose(image)
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert(
            "RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB"
        )
    clean = Image.new(image.mode, image.size)
    clean.paste(image)
    return clean


def media_root() -> Path:
    return Path(current_app.config["MEDIA_ROOT"])


def store_image(stream: IO[bytes], *, max_bytes: int | None = None) -> StoredImage:
    """Validate and store an upload; raises Invalid with a message a farmer can act on."""
    if max_bytes is None:
        max_bytes = int(current_app.config["MAX_UPLOAD_MB"]) * 1024 * 1024
    image = _clean(_open_checked(stream, max_bytes))
    key = secrets.token_hex(12)
    folder = media_root() / key[:2] / key
    folder.mkdir(parents=True, exist_ok=True)
    for name, size in VARIANTS.items():
        variant = image.copy()
        variant.thumbnail((size, size), Image.Resampling.LANCZOS)
        variant.save(folder / f"{name}.webp", "WEBP", quality=80, method=4)
    return StoredImage(key=key, width=image.width, height=image.height)


def image_path(key: str, variant: str) -> Path | None:
    if variant not in VARIANTS or not key.isalnum():
        return None
    path = media_root() / key[:2] / key / f"{variant}.webp"
    return path if path.is_file() else None


def variant_size(width: int, height: int, variant: str) -> tuple[int, int]:
    """The pixel size a stored variant has, for width/height attributes that stop layout jumps."""
    limit = VARIANTS[variant]
    scale = min(1.0, limit / max(width, height, 1))
    return max(1, round(width * scale)), max(1, round(height * scale))


def delete_image(key: str) -> None:
    folder = media_root() / key[:2] / key
    if key.isalnum() and folder.is_dir():
        for file in folder.iterdir():
            file.unlink()
        folder.rmdir()
