"""The N x N evaluation patches: geometry, content, order, and refused grid sizes."""

import numpy as np
import pytest
import tensorflow as tf

from syrac.common.errors import SyracError
from syrac.count.patches import check_grid, patch_boxes, patchify, image_counts

HEIGHT, WIDTH = 33, 47  # odd sizes: every N below leaves remainder pixels


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    return rng.uniform(0, 1, size=(2, HEIGHT, WIDTH, 3)).astype(np.float32)


def expected_patch(image, n, row, col):
    """Patch (row, col) computed independently: crop by hand, resize back bilinearly."""
    patch_height, patch_width = HEIGHT // n, WIDTH // n
    crop = image[
        row * patch_height : (row + 1) * patch_height,
        col * patch_width : (col + 1) * patch_width,
    ]
    return tf.image.resize(crop, [HEIGHT, WIDTH], method="bilinear").numpy()


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_shape_and_content_of_every_patch(images, n):
    patches = patchify(images, n).numpy()
    assert patches.shape == (2 * n * n, HEIGHT, WIDTH, 3)
    assert patches.dtype == np.float32
    for b in range(2):
        for row in range(n):
            for col in range(n):
                np.testing.assert_allclose(
                    patches[b * n * n + row * n + col],
                    expected_patch(images[b], n, row, col),
                    atol=1e-6,
                )


def test_one_patch_is_the_image_itself(images):
    np.testing.assert_allclose(patchify(images, 1).numpy(), images, atol=1e-6)


def test_single_image_without_batch_axis(images):
    np.testing.assert_allclose(
        patchify(images[0], 2).numpy(), patchify(images[:1], 2).numpy(), atol=0
    )


def test_remainder_pixels_are_dropped():
    n = 4  # 33 // 4 = 8 rows used of 33, 47 // 4 = 11 columns used of 47
    image = np.zeros((1, HEIGHT, WIDTH, 3), np.float32)
    image[:, 32:, :, :] = 100.0  # the last row lies outside the 4 x 8 rows kept
    image[:, :, 44:, :] = 100.0  # the last 3 columns lie outside the 4 x 11 columns kept
    assert float(tf.reduce_max(patchify(image, n))) == 0.0


def test_patch_order_is_row_major():
    # Each patch region holds a constant equal to its row-major index.
    n = 3
    patch_height, patch_width = HEIGHT // n, WIDTH // n
    image = np.zeros((HEIGHT, WIDTH, 3), np.float32)
    for row in range(n):
        for col in range(n):
            image[
                row * patch_height : (row + 1) * patch_height,
                col * patch_width : (col + 1) * patch_width,
            ] = row * n + col
    patches = patchify(image, n).numpy()
    np.testing.assert_allclose(patches.mean(axis=(1, 2, 3)), np.arange(n * n), atol=1e-5)


def test_boxes_describe_the_grid():
    assert patch_boxes(HEIGHT, WIDTH, 2) == [
        (0, 0, 16, 23), (0, 23, 16, 23), (16, 0, 16, 23), (16, 23, 16, 23)
    ]


def test_works_inside_tf_data(images):
    dataset = tf.data.Dataset.from_tensor_slices(images).map(
        lambda image: patchify(image, 3), num_parallel_calls=tf.data.AUTOTUNE
    )
    mapped = np.concatenate([batch.numpy() for batch in dataset])
    np.testing.assert_allclose(mapped, patchify(images, 3).numpy(), atol=1e-6)


@pytest.mark.parametrize("n", [0, -1, 1.5, "2", True, None])
def test_non_positive_or_non_integer_n_is_refused(images, n):
    with pytest.raises(SyracError, match=f"positive integer.*N={n!r}"):
        patchify(images, n)


@pytest.mark.parametrize("n", [34, 48, 1000])
def test_n_larger_than_the_image_is_refused(images, n):
    with pytest.raises(SyracError, match=f"--N {n} is too large for the input shape 33x47"):
        patchify(images, n)


def test_largest_valid_n_gives_one_pixel_patches():
    assert check_grid(33, HEIGHT, WIDTH) == 33
    assert check_grid(np.int64(2), HEIGHT, WIDTH) == 2
    assert patchify(np.zeros((1, HEIGHT, WIDTH, 3), np.float32), 33).shape[0] == 33 * 33


def test_image_counts_sum_each_images_patches_for_arrays_and_tensors():
    patch_counts = np.arange(8, dtype=np.float64)  # two images of 2 x 2 patches
    for given in (patch_counts, patch_counts.reshape(8, 1), tf.constant(patch_counts)):
        counts, grid = image_counts(given, 2)
        np.testing.assert_array_equal(np.asarray(counts), [0 + 1 + 2 + 3, 4 + 5 + 6 + 7])
        np.testing.assert_array_equal(np.asarray(grid), patch_counts.reshape(2, 4))
