"""The count map: windows of the patch size a quarter patch apart, spread, averaged, scaled."""

import json

import keras
import numpy as np
import pytest

from syrac.__main__ import main as syrac_main
from syrac.count.count_map import count_map, spread_counts, window_boxes
from syrac.count.counter import PatchCounter

SHAPE = (32, 48, 3)


@pytest.mark.parametrize("n", [1, 2, 4])
def test_windows_cover_the_grid_a_quarter_patch_apart(n):
    boxes = window_boxes(SHAPE[0], SHAPE[1], n)
    assert len(boxes) == (4 * n - 3) ** 2  # sides divide evenly: (4N - 3)^2 windows
    patch = (SHAPE[0] // n, SHAPE[1] // n)
    assert {(h, w) for _, _, h, w in boxes} == {patch}
    assert max(top + h for top, _, h, _ in boxes) == n * patch[0]
    assert max(left + w for _, left, _, w in boxes) == n * patch[1]


def test_spreading_averages_where_windows_overlap():
    # two 2x2 windows overlapping in one column of a 2x3 image: counts 4 and 8
    spread = spread_counts([4.0, 8.0], [(0, 0, 2, 2), (0, 1, 2, 2)], 2, 3)
    np.testing.assert_allclose(spread, [[1.0, 1.5, 2.0], [1.0, 1.5, 2.0]])


def _brightness_counter(n):
    """A real Keras counter whose 'people' are bright pixels: the encoder is the mean of the
    ReLU of the scaled image (ResNet v2 scaling maps black to -1, so black counts 0)."""
    inputs = keras.Input(SHAPE)
    features = keras.layers.GlobalAveragePooling2D()(keras.layers.ReLU()(inputs))
    encoder = keras.Model(inputs, features)
    return PatchCounter(encoder, n=n, image_shape=SHAPE, head_weights=[10.0, 10.0, 10.0])


def test_the_map_sums_to_the_count_and_finds_the_crowded_corner():
    counter = _brightness_counter(2)
    image = np.zeros((64, 96, 3), np.float32)
    image[:20, :28] = 1.0  # people in the top-left corner only
    total = float(counter(image[np.newaxis])["count"][0])
    density, windows = count_map(counter, image, total)
    assert density.shape == SHAPE[:2] and windows == 25
    assert density.sum() == pytest.approx(total, rel=1e-5)
    corner = density[:SHAPE[0] // 2, :SHAPE[1] // 2].sum()
    assert corner > 0.5 * total  # most of the mass where the people are (windows blur it)
    assert density[SHAPE[0] // 2:, SHAPE[1] // 2:].sum() < 0.05 * total


def test_count_with_map_saves_it_beside_each_figure(tmp_path, capsys):
    from PIL import Image

    counter = _brightness_counter(2)
    model = tmp_path / "counter.keras"
    counter(np.zeros((1, *SHAPE), np.float32))
    counter.save(model)
    image = np.zeros((64, 96, 3), np.uint8)
    image[32:, 48:] = 255  # the bottom-right quadrant
    Image.fromarray(image).save(tmp_path / "corner.png")
    assert syrac_main(["count", str(tmp_path / "corner.png"), "--model", str(model), "--map",
                       "--out", str(tmp_path / "out"), "--quiet"]) == 0
    (run,) = (tmp_path / "out").iterdir()
    (record,) = json.loads((run / "counts.json").read_text())["images"]
    density = np.load(record["map"])
    assert record["map_windows"] == 25 and record["map"].endswith(".map.npy")
    assert density.sum() == pytest.approx(record["count"], rel=1e-4)
    assert density[SHAPE[0] // 2:, SHAPE[1] // 2:].sum() > 0.5 * record["count"]
    assert density[:SHAPE[0] // 2, :SHAPE[1] // 2].sum() < 0.05 * record["count"]
    with pytest.raises(SystemExit):
        syrac_main(["count", str(tmp_path / "corner.png"), "--model", str(model), "--map",
                    "--map_stride", "0", "--out", str(tmp_path / "out2")])
    assert "--map_stride must be in (0, 1]" in capsys.readouterr().err
    assert not (tmp_path / "out2").exists()
