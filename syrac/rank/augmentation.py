"""The authors' augmentation stack as Keras 3 layers, without tensorflow-addons.

Applied during pre-training only, to each side of a pair separately (one call per side of a
batch), in this order (docs/DESIGN.md §4), with strengths divided by the augmentation factor ``f``.
Each stage reproduces, in distribution, the layer the authors ran on TF 2.8 / Keras 2 (the same
in TF 2.15): what is drawn once per call, once per image or once per pixel, where values are
clipped, the fill and the interpolation.

    stage            drawn                     clipped to                 fill, interpolation
    ---------------  ------------------------  -------------------------  --------------------------
    1 flip           per image (p = 0.5)       no                         (mirror)
    2 zoom out       per image, one factor     no                         constant 0 (black),
                     for both axes                                        bilinear
    3 blur           one coin per call:        no                         reflect padding,
                     the whole batch or none                              4 taps at -1, 0, 1, 2
    4 colour affine  per image (3x3 matrix)    [0, 1]                     -
    5 contrast       ONE FACTOR PER CALL,      [0, 255]: below 0 only;    - (mean per image and
                     U(1 - 0.6/f, 1 + 0.6/f)   values above 1 go on to    channel over H and W)
                                               the noise stage
    6 noise          per pixel                 [0, 1]                     -

The authors' layers: 1 ``RandomFlip("horizontal")``, 2 ``RandomZoom((0, 0.6/f),
fill_mode="constant")``, 3 ``tfa.image.gaussian_filter2d`` (4 taps, sigma ``1/f``) behind a
coin of p = 0.5, 4 and 6 their own layers (brightness ``0.4/f``, jitter ``0.15/f``; noise
``0.1/f``), 5 ``RandomContrast(0.6/f)``, which calls ``tf.image.random_contrast`` with one
scalar factor and clips to [0, 255].

Keras 3's ``RandomContrast(a)`` differs in stage 5 on three counts: it draws one factor per
image, from U(1, 1 + a) (it only ever raises contrast; Keras 2 drew U(1 - a, 1 + a)), and it
clips to its ``value_range`` at once. It stays available, exactly as this project used it before,
as ``contrast_draw="per_image"`` (``contrast_draw: per_image`` in a parameter file); the
default, ``"per_call"``, is the authors' (:class:`BatchContrast`). Keras 3's ``RandomFlip`` and
``RandomZoom`` draw per image, with the zoom matrix, fill and interpolation of Keras 2, so
stages 1 and 2 use them as they are.

Every layer is the identity when ``training`` is false. Every draw comes from a Keras seed
generator owned by its layer (``seed=None`` seeds it from the global seed when the layer is
created), so ``keras.utils.set_random_seed`` makes a run repeatable, and the generators' states
are variables: a backup that saves them (:mod:`syrac.rank.callbacks`) lets a resumed run draw
exactly what the unbroken run would have drawn. The layers work eagerly, in ``tf.function`` and
inside ``tf.data``.
"""

import keras
import tensorflow as tf


def gaussian_taps(kernel_size, sigma):
    """Return the normalised 1-D Gaussian weights and their offsets.

    Offsets run from ``-kernel_size // 2 + 1`` to ``kernel_size // 2``: for 4 taps, -1, 0, 1, 2.
    """
    offsets = tf.range(-kernel_size // 2 + 1, kernel_size // 2 + 1, dtype=tf.float32)
    weights = tf.exp(-tf.square(offsets) / (2.0 * float(sigma) ** 2))
    return weights / tf.reduce_sum(weights), offsets


@keras.saving.register_keras_serializable(package="syrac")
class ReflectGaussianBlur(keras.layers.Layer):
    """Gaussian blur with an even or odd kernel and reflect padding, applied at random.

    With probability ``rate`` (a single draw per call) every image of the batch is blurred by a
    separable ``kernel_size`` x ``kernel_size`` Gaussian of standard deviation ``sigma``. Padding
    before the kernel is ``(kernel_size - 1) // 2`` and the rest after, mirrored at the border,
    so a constant image stays constant.

    Args:
        kernel_size: taps per axis (the authors used 4).
        sigma: standard deviation in pixels (the authors used ``1 / f``).
        rate: probability of blurring a batch.
        seed: seed of the layer's generator (``None``: from the global seed).

    Example:
        >>> ReflectGaussianBlur(4, 0.5, rate=1.0)(images, training=True)
    """

    def __init__(self, kernel_size=4, sigma=0.5, rate=0.5, seed=None, **kwargs):
        super().__init__(**kwargs)
        if int(kernel_size) != kernel_size or kernel_size < 1:
            raise ValueError(
                f"kernel_size must be a positive integer. Received: kernel_size={kernel_size}"
            )
        if not sigma > 0:
            raise ValueError(f"sigma must be positive. Received: sigma={sigma}")
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate must be in [0, 1]. Received: rate={rate}")
        self.kernel_size = int(kernel_size)
        self.sigma = float(sigma)
        self.rate = float(rate)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def blur(self, images):
        """Blur every image of the batch, deterministically."""
        weights, _ = gaussian_taps(self.kernel_size, self.sigma)
        weights = tf.cast(weights, images.dtype)
        before = (self.kernel_size - 1) // 2
        after = self.kernel_size - 1 - before
        padded = tf.pad(
            images, [[0, 0], [before, after], [before, after], [0, 0]], mode="REFLECT"
        )
        channels = tf.shape(images)[-1]
        kernel = weights[:, tf.newaxis] * weights[tf.newaxis, :]
        kernel = tf.tile(kernel[:, :, tf.newaxis, tf.newaxis], [1, 1, channels, 1])
        return tf.nn.depthwise_conv2d(padded, kernel, [1, 1, 1, 1], "VALID")

    def call(self, images, training=True):
        if not training:
            return images
        apply = keras.random.uniform([], seed=self.seed_generator) < self.rate
        return tf.cond(apply, lambda: self.blur(images), lambda: tf.identity(images))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {"kernel_size": self.kernel_size, "sigma": self.sigma, "rate": self.rate,
             "seed": self.seed}
        )
        return config


@keras.saving.register_keras_serializable(package="syrac")
class RandomColourAffine(keras.layers.Layer):
    """Per-image random colour transform: a brightness-scaled identity plus jitter.

    Each image's pixels are multiplied by ``I * (1 + b) + J`` with ``b ~ U(-brightness,
    brightness)`` and each entry of the 3x3 ``J ~ U(-jitter, jitter)``, then clipped to [0, 1].

    Args:
        brightness: half-width of the brightness scale's range (authors: ``0.4 / f``).
        jitter: half-width of each matrix entry's jitter (authors: ``0.15 / f``).
        seed: seed of the layer's generator (``None``: from the global seed).
    """

    def __init__(self, brightness=0.0, jitter=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if brightness < 0 or jitter < 0:
            raise ValueError(
                "brightness and jitter must be >= 0. "
                f"Received: brightness={brightness}, jitter={jitter}"
            )
        self.brightness = float(brightness)
        self.jitter = float(jitter)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=True):
        if not training:
            return images
        batch = tf.shape(images)[0]
        scales = 1.0 + keras.random.uniform(
            [batch, 1, 1, 1], -self.brightness, self.brightness, dtype=images.dtype,
            seed=self.seed_generator,
        )
        jitter = keras.random.uniform(
            [batch, 1, 3, 3], -self.jitter, self.jitter, dtype=images.dtype,
            seed=self.seed_generator,
        )
        transforms = tf.eye(3, batch_shape=[batch, 1], dtype=images.dtype) * scales + jitter
        return tf.clip_by_value(tf.matmul(images, transforms), 0.0, 1.0)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"brightness": self.brightness, "jitter": self.jitter, "seed": self.seed})
        return config


@keras.saving.register_keras_serializable(package="syrac")
class UniformNoise(keras.layers.Layer):
    """Add independent U(-intensity, intensity) noise to every pixel, then clip to [0, 1].

    Args:
        intensity: the noise bound (authors: ``0.1 / f``).
        seed: seed of the layer's generator (``None``: from the global seed).
    """

    def __init__(self, intensity=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if intensity < 0:
            raise ValueError(f"intensity must be >= 0. Received: intensity={intensity}")
        self.intensity = float(intensity)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=True):
        if not training:
            return images
        noise = keras.random.uniform(
            tf.shape(images), -self.intensity, self.intensity, dtype=images.dtype,
            seed=self.seed_generator,
        )
        return tf.clip_by_value(images + noise, 0.0, 1.0)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"intensity": self.intensity, "seed": self.seed})
        return config


def bilinear_zoom(images, zooms):
    """Zoom each image about its centre by ``zooms[b]`` (> 1: out), black fill, bilinear.

    Output pixel (x, y) samples the input at ``(z x + (W - 1)(1 - z) / 2, z y + (H - 1)(1 - z) / 2)``
    and each of the four neighbours outside the image reads 0: Keras's zoom matrix and
    ``ImageProjectiveTransformV3``'s constant fill, written with gathers so that XLA compiles it.
    """
    images = tf.convert_to_tensor(images)
    shape = tf.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    dtype = images.dtype
    z = tf.reshape(tf.cast(zooms, tf.float32), [-1, 1, 1])
    h, w = tf.cast(height, tf.float32), tf.cast(width, tf.float32)
    xs = tf.range(w)[tf.newaxis, tf.newaxis, :]
    ys = tf.range(h)[tf.newaxis, :, tf.newaxis]
    source_x = z * xs + (w - 1.0) / 2.0 * (1.0 - z) + tf.zeros_like(ys)
    source_y = z * ys + (h - 1.0) / 2.0 * (1.0 - z) + tf.zeros_like(xs)
    x0, y0 = tf.floor(source_x), tf.floor(source_y)
    x1, y1 = x0 + 1.0, y0 + 1.0
    batch_index = tf.broadcast_to(tf.range(batch)[:, tf.newaxis, tf.newaxis], tf.shape(source_x))

    def read(y, x):
        inside = (y >= 0.0) & (y <= h - 1.0) & (x >= 0.0) & (x <= w - 1.0)
        yi = tf.cast(tf.clip_by_value(y, 0.0, h - 1.0), tf.int32)
        xi = tf.cast(tf.clip_by_value(x, 0.0, w - 1.0), tf.int32)
        values = tf.gather_nd(images, tf.stack([batch_index, yi, xi], axis=-1))
        return tf.where(inside[..., tf.newaxis], values, tf.zeros_like(values))

    def weight(value):
        return tf.cast(value, dtype)[..., tf.newaxis]

    top = weight(x1 - source_x) * read(y0, x0) + weight(source_x - x0) * read(y0, x1)
    bottom = weight(x1 - source_x) * read(y1, x0) + weight(source_x - x0) * read(y1, x1)
    return weight(y1 - source_y) * top + weight(source_y - y0) * bottom


@keras.saving.register_keras_serializable(package="syrac")
class ZoomOut(keras.layers.RandomZoom):
    """``keras.layers.RandomZoom`` whose transform XLA can compile.

    The draws are RandomZoom's own (same seed generator, same factors per image), so a run
    gives the same images as with RandomZoom, to float rounding; only the resampling is
    :func:`bilinear_zoom` instead of ``ImageProjectiveTransformV3``, which XLA cannot compile.
    Other fill modes or interpolations fall back to RandomZoom's transform.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # RandomZoom declares itself not XLA-compilable, which keeps Keras from compiling any
        # model holding it; this subclass's transform compiles.
        self.supports_jit = True

    def _zoom_inputs(self, inputs, transformation, interpolation):
        if (transformation is None or self.fill_mode != "constant" or self.fill_value != 0
                or interpolation != "bilinear" or self.data_format != "channels_last"):
            return super()._zoom_inputs(inputs, transformation, interpolation)
        heights, widths = transformation["height_zoom"], transformation["width_zoom"]
        if widths is not heights:
            return super()._zoom_inputs(inputs, transformation, interpolation)
        unbatched = len(inputs.shape) == 3
        images = inputs[tf.newaxis] if unbatched else inputs
        zoomed = bilinear_zoom(images, tf.reshape(heights, [-1]))
        return zoomed[0] if unbatched else zoomed


CONTRAST_DRAWS = ("per_call", "per_image")


@keras.saving.register_keras_serializable(package="syrac")
class BatchContrast(keras.layers.Layer):
    """Random contrast with one factor per call, as Keras 2's ``RandomContrast`` drew it.

    One ``c ~ U(1 - factor, 1 + factor)`` is drawn per call and every image of the batch gets
    ``(x - mean) * c + mean``, the mean taken per image and channel over height and width
    (``tf.image.adjust_contrast``). The result is clipped to ``[0, clip_max]`` only: with the
    authors' ``clip_max=255``, values of [0, 1] images that rise above 1 are kept, and the next
    stage (the noise) clips them.

    Args:
        factor: half-width of the factor's range (authors: ``0.6 / f``), in [0, 1).
        clip_max: upper clip (Keras 2: 255, the RGB range).
        seed: seed of the layer's generator (``None``: from the global seed).
    """

    def __init__(self, factor=0.0, clip_max=255.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= factor < 1.0:
            raise ValueError(f"factor must be in [0, 1). Received: factor={factor}")
        self.factor = float(factor)
        self.clip_max = float(clip_max)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=True):
        if not training:
            return images
        contrast = keras.random.uniform([], 1.0 - self.factor, 1.0 + self.factor,
                                        seed=self.seed_generator)
        adjusted = tf.image.adjust_contrast(images, tf.cast(contrast, images.dtype))
        return tf.clip_by_value(adjusted, 0.0, self.clip_max)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"factor": self.factor, "clip_max": self.clip_max, "seed": self.seed})
        return config


def contrast_stage(strength, contrast_draw, seed=None):
    """Stage 5: the authors' per-call contrast, or Keras 3's per-image one clipped to [0, 1]."""
    if contrast_draw == "per_call":
        return BatchContrast(strength, seed=seed, name="contrast")
    if contrast_draw == "per_image":
        return keras.layers.RandomContrast(strength, value_range=(0, 1), seed=seed,
                                           name="contrast")
    raise ValueError(
        f"contrast_draw must be one of {list(CONTRAST_DRAWS)}. "
        f"Received: contrast_draw={contrast_draw!r}"
    )


def augmentation_strengths(factor):
    """The authors' strengths for augmentation factor ``f`` (their ``augment_config``)."""
    factor = float(factor)
    return {
        "zoom_out": 0.6 / factor,
        "blur_sigma": 1.0 / factor,
        "brightness": 0.4 / factor,
        "jitter": 0.15 / factor,
        "contrast": 0.6 / factor,
        "noise": 0.1 / factor,
    }


@keras.saving.register_keras_serializable(package="syrac")
class RankingAugmentation(keras.layers.Layer):
    """The full augmentation stack, in the authors' order, for augmentation factor ``f``.

    Args:
        factor: the augmentation factor ``f`` (``augment`` in the parameter file). ``0`` turns
            augmentation off: the layer is then the identity even in training.
        blur_kernel_size: taps of the blur kernel (authors: 4).
        blur_rate: probability of blurring a call's batch (authors: 0.5).
        contrast_draw: ``"per_call"`` (the authors' Keras 2 contrast: one factor per call, no
            upper clip) or ``"per_image"`` (Keras 3's ``RandomContrast``: one factor per image,
            clipped to [0, 1]).
        seed: seeds the six stages' generators (``seed``, ``seed + 1``, ...); None draws their
            seeds from Python's generator (``keras.utils.set_random_seed`` fixes them), which is
            what pre-training does.

    Example:
        >>> augment = RankingAugmentation(factor=2)
        >>> augmented = augment(images, training=True)   # images in [0, 1], NHWC
    """

    def __init__(self, factor=2.0, blur_kernel_size=4, blur_rate=0.5,
                 contrast_draw="per_call", seed=None, **kwargs):
        super().__init__(**kwargs)
        if factor < 0:
            raise ValueError(f"factor must be >= 0. Received: factor={factor}")
        self.factor = float(factor)
        self.blur_kernel_size = int(blur_kernel_size)
        self.blur_rate = float(blur_rate)
        self.contrast_draw = contrast_draw
        self.seed = seed
        contrast_stage(0.0, contrast_draw)  # refuse an unknown draw even when f = 0
        self.stages = []
        if self.factor > 0:
            strength = augmentation_strengths(self.factor)

            def stage_seed(index):
                return None if seed is None else seed + index

            self.stages = [
                keras.layers.RandomFlip("horizontal", seed=stage_seed(0), name="flip"),
                ZoomOut(
                    height_factor=(0.0, strength["zoom_out"]),
                    fill_mode="constant",
                    seed=stage_seed(1),
                    name="zoom_out",
                ),
                ReflectGaussianBlur(
                    self.blur_kernel_size,
                    strength["blur_sigma"],
                    rate=self.blur_rate,
                    seed=stage_seed(2),
                    name="blur",
                ),
                RandomColourAffine(
                    strength["brightness"], strength["jitter"], seed=stage_seed(3),
                    name="colour_affine"
                ),
                contrast_stage(strength["contrast"], contrast_draw, seed=stage_seed(4)),
                UniformNoise(strength["noise"], seed=stage_seed(5), name="noise"),
            ]

    def build(self, input_shape):
        for stage in self.stages:
            stage.build(input_shape)
        self.built = True

    def call(self, images, training=True):
        if not training:
            return images
        for stage in self.stages:
            images = stage(images, training=True)
        return images

    def stage_outputs(self, images):
        """Run the stack in training mode; return ``[(stage name, output), ...]`` in order.

        One call of the whole stack, with every intermediate kept: what the semantics tests
        and anyone inspecting a stage's draws need.
        """
        outputs = []
        for stage in self.stages:
            images = stage(images, training=True)
            outputs.append((stage.name, images))
        return outputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "factor": self.factor,
                "blur_kernel_size": self.blur_kernel_size,
                "blur_rate": self.blur_rate,
                "contrast_draw": self.contrast_draw,
                "seed": self.seed,
            }
        )
        return config
