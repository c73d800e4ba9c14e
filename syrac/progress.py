"""Progress bars for the long loops of the count step (feature extraction, evaluation)."""

import keras


def progress_bar(total, unit_name, enabled=True):
    """Return a ``keras.utils.Progbar`` over ``total`` items named ``unit_name``.

    ``enabled=False`` gives a silent bar (``verbose=0``), so callers need no branches. The bar
    redraws at most twice a second: runs are long and their logs are often kept.
    """
    return keras.utils.Progbar(
        total, verbose=1 if enabled else 0, interval=0.5, unit_name=unit_name
    )
