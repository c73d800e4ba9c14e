"""What every step shares: errors, parameters, annotations, images, files and progress.

Modules, one job each:

- ``errors``: :class:`~syrac.common.errors.SyracError` and the one-line report of the commands;
- ``config``: parameter files, ``--set`` overrides and their validation;
- ``keras_names``: the loss and initializer names Keras knows, checked without importing it;
- ``numbers``: numbers as people type them (``5e-5``, ``.5``, ``1_000``), in YAML and options,
  and the types of seeds and counts of things;
- ``annotations``: reading and checking ``annotations.json`` (ranking and count sets);
- ``image_files``: what an image file is and whether it can be used, and its pixels, without
  TensorFlow (Pillow, tifffile);
- ``images``: decoding image files to [0, 1] RGB with TensorFlow, inside the pipelines;
- ``files``: the one JSON reader, atomic writer, timestamp and unique-path rule;
- ``output_folders``: output folders created by every command, removed again on refusal;
- ``folder_lock``: one folder, one process (``flock``), telling a killed writer's folder from a
  live one's;
- ``validation_split``: the one rule that draws a validation split;
- ``shards``: ``--shard i/n`` (or the scheduler's index) and the share of a job it takes;
- ``progress``: progress bars on long work (Keras' where Keras is loaded, a plain one elsewhere).
"""
