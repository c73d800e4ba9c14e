"""Batched Stable Diffusion 3 generation where every image has its own seed.

keras-hub's ``generate()`` draws one noise tensor for the whole batch from one seed, so an
image would depend on which other images shared its batch: a resumed or sharded job would not
reproduce an uninterrupted one. Here each image's starting noise is drawn from its own seed and
the tasks' compiled ``generate_step`` functions (``make_generate_function()``) are called
directly with the stacked noises. Everything else (text encoding, noising to the strength's
starting step, guided denoising, VAE decoding) is keras-hub's.

Two further choices make an image a function of its seed alone: the VAE encodes images with its
posterior mean (``mode``) instead of a sample drawn from a shared random state, and the sampler's
sigma schedule is set once for the job's number of steps (keras-hub's compiled functions capture
it when they are first traced).

Images go in and come out as float32 ``(batch, height, width, 3)`` arrays in [0, 1] at the
model's size (:attr:`DiffusionModel.image_size`).
"""

import numpy as np
from keras import ops


class DiffusionModel:
    """A loaded Stable Diffusion 3 backbone and preprocessor, with the three generation modes.

    Args:
        backbone: a ``keras_hub.models.StableDiffusion3Backbone``.
        preprocessor: its ``StableDiffusion3TextToImagePreprocessor``.
        num_steps: diffusion steps of the schedule (image-to-image and inpainting run the last
            ``strength * num_steps`` of them).
        jit_compile: XLA-compile the generation functions (slow to compile, faster on a GPU).
        description: what was loaded, recorded with every image (preset, dtype).
    """

    def __init__(self, backbone, preprocessor, num_steps, jit_compile=False, description=None):
        self.backbone = backbone
        self.preprocessor = preprocessor
        self.num_steps = int(num_steps)
        self.jit_compile = bool(jit_compile)
        self.description = dict(description or {})
        backbone.vae.distribution_sampler.method = "mode"
        backbone.configure_scheduler(self.num_steps)
        self._functions = {}

    @property
    def image_size(self):
        """``(height, width)`` of the images the model takes and makes."""
        return int(self.backbone.image_shape[0]), int(self.backbone.image_shape[1])

    @property
    def latent_shape(self):
        return tuple(int(d) for d in self.backbone.latent_shape[1:])

    def _function(self, kind):
        """The compiled ``generate_step`` of the keras-hub task ``kind``, made on first use."""
        if kind not in self._functions:
            import keras_hub

            task_class = {
                "text_to_image": keras_hub.models.StableDiffusion3TextToImage,
                "image_to_image": keras_hub.models.StableDiffusion3ImageToImage,
                "inpaint": keras_hub.models.StableDiffusion3Inpaint,
            }[kind]
            task = task_class(backbone=self.backbone, preprocessor=self.preprocessor)
            task.jit_compile = self.jit_compile
            self._functions[kind] = task.make_generate_function()
        return self._functions[kind]

    def noises(self, seeds):
        """Standard normal starting latents, one per seed, each from its own generator."""
        return np.stack([
            np.random.default_rng(int(seed)).standard_normal(self.latent_shape).astype("float32")
            for seed in seeds
        ])

    def _token_ids(self, prompts, negative_prompts):
        if len(prompts) != len(negative_prompts):
            raise ValueError(
                f"one negative prompt per prompt. Received: {len(prompts)} prompts, "
                f"{len(negative_prompts)} negative prompts"
            )
        encode = self.preprocessor.generate_preprocess
        return encode(list(prompts)), encode(list(negative_prompts))

    @staticmethod
    def _guidance(guidance):
        # keras-hub skips classifier-free guidance for scales <= 1; so do we.
        return None if guidance <= 1.0 else ops.convert_to_tensor(float(guidance))

    def _starting_step(self, strength):
        if not 0.0 < strength <= 1.0:
            raise ValueError(f"strength must be in (0, 1]. Received: strength={strength}")
        return ops.convert_to_tensor(int(self.num_steps * (1.0 - strength)), "int32")

    @staticmethod
    def _to_unit(outputs):
        return np.clip((np.asarray(ops.convert_to_numpy(outputs), "float32") + 1.0) / 2.0, 0, 1)

    def _model_images(self, images):
        images = np.asarray(images, "float32")
        if images.shape[1:3] != self.image_size:
            raise ValueError(
                f"images must be {self.image_size}. Received: shape={images.shape}"
            )
        return images * 2.0 - 1.0

    def text_to_image(self, prompts, negative_prompts, seeds, guidance):
        """Images of ``prompts``, steered away from ``negative_prompts``."""
        function = self._function("text_to_image")
        outputs = function(
            self.noises(seeds), self._token_ids(prompts, negative_prompts),
            ops.convert_to_tensor(self.num_steps, "int32"), self._guidance(guidance),
        )
        return self._to_unit(outputs)

    def image_to_image(self, images, prompts, negative_prompts, seeds, strength, guidance):
        """Regenerate ``images`` (in [0, 1]) towards ``prompts`` with noise ``strength``."""
        function = self._function("image_to_image")
        outputs = function(
            self._model_images(images), self.noises(seeds),
            self._token_ids(prompts, negative_prompts), self._starting_step(strength),
            ops.convert_to_tensor(self.num_steps, "int32"), self._guidance(guidance),
        )
        return self._to_unit(outputs)

    def inpaint(self, images, masks, prompts, negative_prompts, seeds, strength, guidance):
        """Regenerate the parts of ``images`` where ``masks`` (batch, height, width) is 1."""
        function = self._function("inpaint")
        outputs = function(
            self._model_images(images), np.asarray(masks, "float32"), self.noises(seeds),
            self._token_ids(prompts, negative_prompts), self._starting_step(strength),
            ops.convert_to_tensor(self.num_steps, "int32"), self._guidance(guidance),
        )
        return self._to_unit(outputs)
