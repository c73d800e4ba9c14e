"""``python -m syrac prepare``: raw benchmark downloads and unlabelled images to datasets.

Every public crowd-counting benchmark ships its own layout and ground-truth format; the authors
never said how they prepared theirs. One command per benchmark turns the raw download into
``DATA/<name>/annotations.json`` (docs/DESIGN.md §3 and §6), the way the wrappers read it.

Modules, one job each:

- ``command``: the command line (``parser``, ``run``) and the list of datasets.
- ``items``: what a converter hands back (raw images with their points, per split).
- ``folders`` / ``matching`` / ``matfiles``: finding the raw folders (and their common
  variants), pairing each image with its ground-truth file, reading MATLAB ground truth.
- ``shanghaitech``, ``ucf_qnrf``, ``ucf_cc_50``, ``jhu_crowd``, ``nwpu_crowd``, ``mall``: one
  converter per dataset family, each stating the raw layout it reads.
- ``splits``: validation carved from train (seeded, recorded), numbered folds and frame ranges.
- ``image_facts`` / ``outside``: image sizes and grayscale files; points outside their image.
- ``benchmark``: the conversion steps shared by all benchmarks, in order.
- ``writer``: writing a dataset folder beside its place and moving it in at the end, so a
  failure leaves nothing half-written.
- ``summary``: the table printed at the end.
- ``intra_rank``: ranking pairs from unlabelled images by nested crops (Liu et al., CVPR 2018).
- ``raw_fixtures``: tiny raw downloads in each benchmark's exact layout, for tests and trials.
"""
