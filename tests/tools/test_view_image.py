"""`view_image` and `-i` images: what the model receives for images of each size and format (spec agent-core 4.7;
the 2048 x 768 bounds are codex-rs's)."""

import base64
import io

import pytest
from PIL import Image

from codex_actors.tools.router import ToolError
from codex_actors.tools.view_image import fit_image, image_data_url


def encode(size: tuple[int, int], fmt: str, mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, "red" if mode != "P" else 1).save(out, fmt)
    return out.getvalue()


def decoded(url: str) -> tuple[str, Image.Image]:
    head, payload = url.split(",", 1)
    mime = head.removeprefix("data:").removesuffix(";base64")
    return mime, Image.open(io.BytesIO(base64.b64decode(payload)))


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_an_image_within_bounds_is_sent_byte_for_byte(tmp_path, fmt):
    data = encode((2048, 768), fmt)
    (tmp_path / "shot").write_bytes(data)  # no extension: the content decides
    url = image_data_url(str(tmp_path / "shot"))
    assert url == f"data:image/{fmt.lower()};base64," + base64.b64encode(data).decode()


def test_a_wide_png_is_scaled_to_the_width_bound_keeping_its_aspect_ratio(tmp_path):
    (tmp_path / "wide.png").write_bytes(encode((4096, 1000), "PNG"))
    mime, image = decoded(image_data_url(str(tmp_path / "wide.png")))
    assert (mime, image.format, image.size) == ("image/png", "PNG", (2048, 500))


def test_a_tall_jpeg_is_scaled_to_the_height_bound_and_stays_a_jpeg(tmp_path):
    (tmp_path / "tall.jpg").write_bytes(encode((1500, 3000), "JPEG"))
    mime, image = decoded(image_data_url(str(tmp_path / "tall.jpg")))
    assert (mime, image.format, image.size) == ("image/jpeg", "JPEG", (384, 768))


@pytest.mark.parametrize(("fmt", "mode"), [("GIF", "P"), ("BMP", "RGB"), ("TIFF", "CMYK")])
def test_other_formats_are_re_encoded_as_png_at_their_size(fmt, mode):
    mime, data = fit_image(encode((40, 30), fmt, mode))
    assert mime == "image/png"
    assert Image.open(io.BytesIO(data)).size == (40, 30)


def test_a_truncated_or_fake_image_is_refused_naming_the_path(tmp_path):
    (tmp_path / "cut.png").write_bytes(encode((64, 64), "PNG")[:60])
    (tmp_path / "fake.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 24)
    for name in ("cut.png", "fake.png"):
        path = str(tmp_path / name)
        with pytest.raises(ToolError, match=f"^`{path}` is not a supported image: "):
            image_data_url(path)
