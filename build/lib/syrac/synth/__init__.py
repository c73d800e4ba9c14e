"""The "Synthesize" step of SYRAC: the two synthetic datasets, made with Stable Diffusion 3.

``python -m syrac synth remove-people`` regenerates real crowd images with their people removed
(a ranking set: the real image holds more people than its copy); ``python -m syrac synth
noisy-counts`` prompts for images of N people (a count set labelled with the asked N). Both run
as long, resumable, shardable GPU jobs through keras-hub (docs/DESIGN.md §1, §3, §5).

Modules, one job each:

- :mod:`~syrac.synth.command`: the command line (parse, plan, run, merge);
- :mod:`~syrac.synth.presets`: finding and loading a keras-hub preset, offline errors;
- :mod:`~syrac.synth.diffusion`: batched text-to-image, image-to-image and inpainting with one
  seed per image;
- :mod:`~syrac.synth.prompts`: default prompts, count templates, scenes and viewpoints;
- :mod:`~syrac.synth.sizing`: image sizes, resizing to the model and back, masks;
- :mod:`~syrac.synth.image_io`: source and mask discovery, reading, atomic image writing;
- :mod:`~syrac.synth.items`: work items, per-item seeds, shards;
- :mod:`~syrac.synth.removal` and :mod:`~syrac.synth.counting`: the two kinds of job;
- :mod:`~syrac.synth.generation`: the batched, resumable generation loop;
- :mod:`~syrac.synth.manifest`: one JSON-lines manifest per shard;
- :mod:`~syrac.synth.job`: ``job.json``, the train/val split, ``annotations.json`` and merging;
- :mod:`~syrac.synth.tiny_preset`: a tiny random Stable Diffusion 3 preset for tests and
  benchmarks.
"""
