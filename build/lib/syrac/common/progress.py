"""Progress bars for the long loops (feature extraction, evaluation, data preparation).

Keras is imported when a bar is made, not when this module is imported, so that commands which
only check their inputs first (``python -m syrac prepare``, ``demo``) fail fast without loading
TensorFlow.
"""


def progress_bar(total, unit_name, enabled=True):
    """Return a ``keras.utils.Progbar`` over ``total`` items named ``unit_name``.

    ``enabled=False`` gives a silent bar (``verbose=0``), so callers need no branches. The bar
    redraws at most twice a second: runs are long and their logs are often kept.
    """
    import keras

    return keras.utils.Progbar(
        total, verbose=1 if enabled else 0, interval=0.5, unit_name=unit_name
    )
