import numpy as np
import pytest
import tensorflow as tf
import tifffile
from PIL import Image

from syrac.common.image_files import read_image
from syrac.common.images import decode_image, find_undecodable, sniff_format

_ROWS, _COLS = np.mgrid[0:20, 0:30]
# A smooth image, so that lossy JPEG and GIF's palette stay close to the original.
RGB = np.stack([_ROWS * 12, _COLS * 8, 255 - _ROWS * 6], -1).astype(np.uint8)


def _write_all(folder):
    paths = {}
    tf.io.write_file(str(folder / "a.jpg"), tf.io.encode_jpeg(RGB, quality=100))
    paths["jpeg"] = folder / "a.jpg"
    for kind, name, image in (("png", "a.png", RGB), ("gif", "a.gif", RGB), ("bmp", "a.bmp", RGB)):
        Image.fromarray(image).save(folder / name)
        paths[kind] = folder / name
    tifffile.imwrite(folder / "a.tif", RGB)
    paths["tiff"] = folder / "a.tif"
    return paths


def test_every_format_decodes_to_three_channels_in_unit_range(tmp_path):
    for kind, path in _write_all(tmp_path).items():
        assert sniff_format(str(path)) == kind
        image = decode_image(tf.constant(str(path))).numpy()
        assert image.shape == (20, 30, 3) and image.dtype == np.float32
        tolerance = 0.1 if kind in ("jpeg", "gif") else 1e-6
        np.testing.assert_allclose(image, RGB / 255.0, atol=tolerance, err_msg=kind)


def test_resize_to_input_shape(tmp_path):
    path = _write_all(tmp_path)["png"]
    assert decode_image(tf.constant(str(path)), (32, 48)).shape == (32, 48, 3)


def test_grayscale_rgba_and_16_bit(tmp_path):
    gray = RGB[..., 0]
    Image.fromarray(gray).save(tmp_path / "g.png")
    Image.fromarray(np.dstack([RGB, np.full((20, 30), 9, np.uint8)])).save(tmp_path / "rgba.png")
    deep = (np.arange(600, dtype=np.uint16).reshape(20, 30) * 109)
    tf.io.write_file(str(tmp_path / "d.png"), tf.io.encode_png(deep[..., None]))
    tifffile.imwrite(tmp_path / "d.tif", deep)
    tifffile.imwrite(tmp_path / "planar.tif", np.moveaxis(RGB, -1, 0), photometric="rgb",
                     planarconfig="separate")

    g = decode_image(tf.constant(str(tmp_path / "g.png"))).numpy()
    np.testing.assert_allclose(g, np.repeat(gray[..., None] / 255.0, 3, -1), atol=1e-6)
    rgba = decode_image(tf.constant(str(tmp_path / "rgba.png"))).numpy()
    np.testing.assert_allclose(rgba, RGB / 255.0, atol=1e-6)
    for name in ("d.png", "d.tif"):
        image = decode_image(tf.constant(str(tmp_path / name))).numpy()
        np.testing.assert_allclose(image[..., 1], deep / 65535.0, atol=1e-6, err_msg=name)
    planar = decode_image(tf.constant(str(tmp_path / "planar.tif"))).numpy()
    np.testing.assert_allclose(planar, RGB / 255.0, atol=1e-6)


def test_decoding_inside_tf_data(tmp_path):
    paths = [str(p) for p in _write_all(tmp_path).values()]
    dataset = tf.data.Dataset.from_tensor_slices(paths).map(
        lambda p: decode_image(p, (16, 24)), num_parallel_calls=2)
    shapes = [image.shape for image in dataset]
    assert shapes == [(16, 24, 3)] * len(paths)


def test_truncated_image_is_found(tmp_path):
    paths = _write_all(tmp_path)
    data = paths["png"].read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 3])
    failures = find_undecodable([str(paths["jpeg"]), str(tmp_path / "cut.png")])
    assert [path for path, _ in failures] == [str(tmp_path / "cut.png")]
    with pytest.raises(tf.errors.OpError):
        decode_image(tf.constant(str(tmp_path / "cut.png")))


def test_the_reader_without_tensorflow_gives_tensorflows_pixels(tmp_path):
    """``read_image`` (Pillow, tifffile) equals ``decode_image`` (TensorFlow) exactly, every
    format and layout, except for JPEG, where TensorFlow's default inverse DCT is the fast
    integer one: there it equals TensorFlow's accurate-DCT decoding instead."""
    paths = {str(p) for p in _write_all(tmp_path).values()}
    test_grayscale_rgba_and_16_bit(tmp_path)
    paths |= {str(p) for p in tmp_path.glob("*") if p.suffix in (".png", ".tif")}
    for path in sorted(paths):
        pixels = read_image(path)
        assert pixels.dtype == np.float32 and pixels.shape == (20, 30, 3), path
        if path.endswith(".jpg"):
            accurate = tf.io.decode_jpeg(tf.io.read_file(path), channels=3,
                                         dct_method="INTEGER_ACCURATE")
            expected = tf.image.convert_image_dtype(accurate, tf.float32).numpy()
        else:
            expected = decode_image(tf.constant(path)).numpy()
        np.testing.assert_array_equal(pixels, expected, err_msg=path)
