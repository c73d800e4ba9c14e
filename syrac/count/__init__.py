"""The "Count" step of SYRAC: a non-negative linear probe on the frozen encoder, patch-wise.

``finetune_wrapper.py --experiment finetuning/unsupervised/noisy_synth_regress`` runs it
(docs/DESIGN.md §1 steps 4-5, §4).

Modules, one job each:

- ``step``: the step's orchestration for one request: checks, fit, evaluation, in order;
- ``request``: :class:`CountRequest`, what one step is asked to do, checked by option name;
- ``settings``: which input shape and scaling apply (parameters, run folder, ``--set``);
- ``evaluated_split``: the split to evaluate, its items and their metadata, checked first;
- ``core``: the two computations every driver shares: ``fit_probe`` and ``evaluate``;
- ``probe_folder``: one encoder's probe folder (probe, archive, results, figures, journal);
- ``results``: one evaluation's results file and figures, in order;
- ``pending_run``: the journal that lets a killed step, run again, finish the same run;
- ``checkpoint_files``: what an encoder checkpoint path holds, told without loading it;
- ``encoder_loading``: the frozen encoder from a ``.keras`` checkpoint or a TF SavedModel;
- ``batch_sizes``: the forward passes' batch sizes, ``auto`` chosen for the device;
- ``features``: encoder features of whole images (the probe's inputs);
- ``probe``: the non-negative least-squares count head, saved and loaded;
- ``patches``: the N x N grid of patches, each resized back to the input shape;
- ``evaluation``: counting benchmark images patch by patch and summing;
- ``metrics``: MAE, the authors' MSE (no root), RMSE, NAE, R² and rank accuracy;
- ``breakdowns``: the official breakdowns (count ranges, NWPU-Crowd levels and illumination,
  JHU-Crowd++ weather);
- ``submission``: NWPU-Crowd's submission file (``id count`` per hidden test image);
- ``figures``: error by count range, predicted vs true, patch grids, comparison plots;
- ``counter``: one Keras model that counts (scaling, encoder, head, grid), and its exports;
- ``runtimes``: that counter run by TensorFlow, ONNX Runtime or LiteRT, behind one call;
- ``count_map``: where the count lies, from the counts of overlapping windows (``count --map``);
- ``media``: which files ``count`` counts (images and videos, by content) and which it names;
- ``video``: a video's frames to count, sampled by time or by number, decoded in a stream;
- ``counting``: one image or one video counted into a run;
- ``count_run``: a ``count`` run's folder, ``counts.csv`` and ``counts.json``;
- ``count_figures``: the pictures ``count`` draws (grids, count over time, contact sheets);
- ``report``: ``index.html``, one page per ``count`` run;
- ``command``: ``python -m syrac count``, any images and videos with a trained model;
- ``export``: ``python -m syrac export``, the counter as ``.keras``, a TF SavedModel, ONNX or
  LiteRT.
"""
