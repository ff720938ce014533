import io

import pytest
from PIL import Image

from core.errors import Invalid
from core.images import image_path, store_image


def _jpeg_with_gps(width=800, height=600, orientation=6) -> bytes:
    image = Image.new("RGB", (width, height), (200, 120, 30))
    exif = Image.Exif()
    exif[0x0112] = orientation  # rotate 90° on display
    exif[0x010F] = "PhoneMaker"
    gps = {1: "N", 2: (21.0, 1.0, 2.0), 3: "E", 4: (105.0, 20.0, 3.0)}
    exif[0x8825] = gps
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def test_photo_keeps_no_metadata_and_is_turned_upright(app):
    with app.app_context():
        stored = store_image(io.BytesIO(_jpeg_with_gps()))
        with Image.open(image_path(stored.key, "full")) as full:
            assert full.format == "WEBP"
            assert not full.getexif()
            assert "exif" not in full.info and "xmp" not in full.info
            assert full.size[1] > full.size[0]
        assert (stored.width, stored.height) == (600, 800)  # orientation applied
        with Image.open(image_path(stored.key, "thumb")) as thumb:
            assert max(thumb.size) == 160


def test_a_text_file_is_not_a_photo(app):
    with app.app_context(), pytest.raises(Invalid):
        store_image(io.BytesIO(b"hello, I am not a picture"))


def test_gif_is_refused(app):
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, "GIF")
    out.seek(0)
    with app.app_context(), pytest.raises(Invalid):
        store_image(out)


def test_decompression_bomb_is_refused(app):
    out = io.BytesIO()
    Image.new("1", (20000, 20000)).save(out, "PNG")  # tiny file, 400 megapixels
    out.seek(0)
    with app.app_context(), pytest.raises(Invalid) as caught:
        store_image(out)
    assert caught.value.code == "bomb"


def test_oversized_upload_is_refused(app):
    with app.app_context(), pytest.raises(Invalid) as caught:
        store_image(io.BytesIO(_jpeg_with_gps()), max_bytes=1000)
    assert caught.value.code == "too_large"


def test_unknown_media_paths_are_404(client):
    assert client.get("/media/../../etc/passwd/full.webp").status_code == 404
    assert client.get("/media/abc/huge.webp").status_code == 404
