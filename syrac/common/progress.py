"""Progress bars for the long loops (feature extraction, evaluation, data preparation, counting).

Where Keras is already imported the bar is ``keras.utils.Progbar``; elsewhere (counting with
ONNX Runtime or LiteRT, where TensorFlow may not even be installed) it is :class:`PlainBar`,
the same line without Keras. Nothing is imported here, so commands which only check their
inputs first (``python -m syrac prepare``, ``demo``) fail fast without loading TensorFlow.
"""

import sys
import time


class PlainBar:
    """``done/total unit [=====>    ] elapsed`` on standard error, redrawn at most twice a
    second and once at the end; ``enabled=False`` draws nothing."""

    def __init__(self, total, unit_name, enabled=True, width=30, stream=None):
        self.total, self.unit_name, self.enabled, self.width = total, unit_name, enabled, width
        self.stream = stream or sys.stderr
        self.start = self.last_drawn = time.monotonic()

    def update(self, done):
        now = time.monotonic()
        if not self.enabled or (now - self.last_drawn < 0.5 and done < self.total):
            return
        self.last_drawn = now
        filled = int(self.width * done / max(self.total, 1))
        arrow = "=" * max(filled - 1, 0) + (">" if filled < self.width else "=") if filled else ""
        self.stream.write(f"\r{done}/{self.total} {self.unit_name} "
                          f"[{arrow:<{self.width}}] {now - self.start:.0f}s")
        if done >= self.total:
            self.stream.write("\n")
        self.stream.flush()


def progress_bar(total, unit_name, enabled=True):
    """A bar over ``total`` items named ``unit_name``, with ``update(done)``.

    ``enabled=False`` gives a silent bar, so callers need no branches. The bar redraws at most
    twice a second: runs are long and their logs are often kept.
    """
    keras = sys.modules.get("keras")
    if keras is None:
        return PlainBar(total, unit_name, enabled)
    return keras.utils.Progbar(
        total, verbose=1 if enabled else 0, interval=0.5, unit_name=unit_name
    )
