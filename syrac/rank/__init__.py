"""The "Rank" step of SYRAC: pre-training a siamese encoder so that more people score higher.

``train_wrapper.py --experiment training/baseline`` runs it (docs/DESIGN.md §1 step 3, §4).

Modules, one job each:

- ``augmentation``: the authors' augmentation stack, stage by stage as their Keras 2 layers drew it;
- ``input_scaling``: [0, 1] images to the backbone's input range (the authors' ResNet v2 quirk);
- ``backbones``: the encoder, a ResNet50 (or VGG16) with global average pooling, any weights;
  and ``tiny_cnn``, a two-stage network for tests and smoke runs;
- ``ranking_model``: the siamese ranker (both sides encoded together, ranking decoder, loss);
- ``pipeline``: the ``tf.data`` schedule of ranking pairs, a pure function of (seed, epoch);
- ``training``: one run's ``fit`` with its callbacks, resumed from the last backup;
- ``callbacks``: encoder checkpoints, resumable backups, early stopping that replays history;
- ``epoch_log``: each epoch's ``results.csv`` row and TensorBoard scalars, written once;
- ``resume``: what a backup adds to the weights (random generators, metric totals) and the
  folder taken back to the last backup before a resume;
- ``preemption``: SIGTERM / SIGUSR1 make a run back up at once and exit 75;
- ``run_folder``: the authors' run-folder layout, owned by :class:`RunFolder` (checkpoints by
  epoch, ``results.csv`` rows, status, the backup), matching a run to resume, the run lock;
- ``request``: :class:`PretrainRequest`, what one run is asked to do (every driver builds one);
- ``pretraining``: a run from its request (pick or create the folder, then train);
- ``distribution``: the ``tf.distribute`` strategy (default or mirrored) and this worker's
  place in a cluster, as one value;
- ``multi_worker``: several machines from ``TF_CONFIG``: the cluster checked, the start-up
  bounded, the chief's run folder shared, the backup every worker holds, worker folders;
- ``multi_worker_fixes``: the two narrow workarounds that let Keras's ``fit`` run on several
  workers (keras-team/keras#20585);
- ``precision``: mixed precision (float16 / bfloat16) with float32 where it matters, float32
  checkpoints.
"""
