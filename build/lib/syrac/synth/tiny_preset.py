"""A tiny, randomly initialised Stable Diffusion 3, saved as a local keras-hub preset.

It has the real architecture (MMDiT, VAE, CLIP-L and CLIP-G text encoders, no T5) at toy widths,
so the real commands run against it end to end on a CPU in seconds: tests and the throughput
benchmark use it. Its images are noise; only the plumbing is real.

The CLIP tokenizer needs a vocabulary and BPE merges, and keras-hub ships none offline, so a
small one is built here: every printable character (alone and word-final), plus the words of the
default prompts assembled by merges. Words outside it still tokenize, character by character.

The preset is laid out like keras-hub's published Stable Diffusion 3 presets (backbone
``config.json`` and weights, ``preprocessor.json`` for the text-to-image preprocessor, one
``clip_l_*`` / ``clip_g_*`` config pair per text encoder, ``assets/``), so loading it exercises
the same path as a real preset.
"""

import os
import string

import keras_hub
from keras_hub.src.models.vae.vae_backbone import (
    VAEBackbone,  # not exported by keras_hub.models
)

from syrac.synth.prompts import default_words

SEQUENCE_LENGTH = 32


def tiny_vocabulary(words=None):
    """Return ``(vocabulary, merges)`` for a CLIP tokenizer that knows ``words`` whole.

    Every intermediate token of a word's merges is in the vocabulary, as keras-hub requires.
    """
    vocabulary, merges = {}, []

    def add(token):
        vocabulary.setdefault(token, len(vocabulary))

    for character in string.printable.strip():
        add(character)
        add(character + "</w>")
    for word in words if words is not None else default_words():
        parts = list(word)
        parts[-1] += "</w>"
        while len(parts) > 1:
            rule = f"{parts[0]} {parts[1]}"
            if rule not in merges:
                merges.append(rule)
            add(parts[0] + parts[1])
            parts = [parts[0] + parts[1]] + parts[2:]
    add("<|endoftext|>")
    add("<|startoftext|>")
    return vocabulary, merges


def build_tiny_preset(folder, image_size=(32, 32)):
    """Build a tiny random Stable Diffusion 3 and save it as a keras-hub preset in ``folder``.

    Args:
        folder: the preset folder to create (``--preset folder`` then loads it).
        image_size: ``(height, width)`` recorded in the preset; the commands override it with
            ``--size`` (any multiple of 16 up to 512).

    Returns:
        ``folder``.
    """
    models = keras_hub.models
    vocabulary, merges = tiny_vocabulary()
    clip_l_tokenizer = models.CLIPTokenizer(
        vocabulary, merges, pad_with_end_token=True, config_file="clip_l_tokenizer.json"
    )
    clip_g_tokenizer = models.CLIPTokenizer(
        vocabulary, merges, config_file="clip_g_tokenizer.json"
    )
    preprocessor = models.StableDiffusion3TextToImagePreprocessor(
        models.CLIPPreprocessor(
            clip_l_tokenizer, sequence_length=SEQUENCE_LENGTH,
            config_file="clip_l_preprocessor.json",
        ),
        models.CLIPPreprocessor(
            clip_g_tokenizer, sequence_length=SEQUENCE_LENGTH,
            config_file="clip_g_preprocessor.json",
        ),
    )

    def text_encoder(width, activation, name):
        # Two layers: the backbone reads the second-to-last layer's output.
        return models.CLIPTextEncoder(
            vocabulary_size=len(vocabulary), embedding_dim=width, hidden_dim=width,
            num_layers=2, num_heads=2, intermediate_dim=2 * width,
            intermediate_activation=activation, intermediate_output_index=-2,
            max_sequence_length=SEQUENCE_LENGTH, dtype="float32", name=name,
        )

    backbone = models.StableDiffusion3Backbone(
        mmdit_patch_size=2,
        mmdit_hidden_dim=32,
        mmdit_num_layers=1,
        mmdit_num_heads=2,
        mmdit_position_size=32,
        mmdit_qk_norm=None,
        mmdit_dual_attention_indices=None,
        # Four stages: the 8x down-sampling the backbone assumes. Group norms need 32 filters.
        vae=VAEBackbone([32] * 4, [1] * 4, [32] * 4, [1] * 4, sampler_method="sample",
                        name="vae"),
        clip_l=text_encoder(16, "quick_gelu", "clip_l"),
        clip_g=text_encoder(32, "gelu", "clip_g"),
        image_shape=(int(image_size[0]), int(image_size[1]), 3),
        dtype="float32",
    )
    os.makedirs(folder, exist_ok=True)
    backbone.save_to_preset(folder)
    preprocessor.save_to_preset(folder)
    return folder
