"""SYRAC: Synthesize, Rank, and Count -- a TensorFlow 2.21 / Keras 3 reproduction.

The package is split into small modules with one job each:

- ``config``: hyper-parameter files, overrides and their validation.
- ``annotations``: reading and validating ``annotations.json`` files.
- ``images``: decoding any supported image file into a 3-channel [0, 1] tensor.
- ``pipeline``: ``tf.data`` pipelines for ranking pairs and counted images.
- ``augment``: the authors' augmentation stack as Keras 3 layers.
- ``preprocessing``: the input scaling applied before the encoder.
- ``encoders`` / ``ranking_model``: the siamese ranking network.
- ``training`` / ``run_folder`` / ``callbacks`` / ``distribution``: run folders, resumption,
  multi-device training.
- ``encoder_loading`` / ``features`` / ``probe``: the frozen encoder and the linear count probe.
- ``patches`` / ``evaluation`` / ``metrics`` / ``figures``: patch-wise counting and its report.
- ``toy_world`` / ``demo`` / ``comparison``: ``python -m syrac demo``, the whole method on a
  generated toy crowd world, and its comparison table.
- ``prepare``: ``python -m syrac prepare``, raw benchmark downloads to ``annotations.json``, and
  nested-crop ranking pairs.
- ``synth``: ``python -m syrac synth``, the two synthetic datasets from Stable Diffusion 3.
"""

__version__ = "0.1.0"
