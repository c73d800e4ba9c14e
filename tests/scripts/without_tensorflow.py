"""``python tests/scripts/without_tensorflow.py COMMAND ...``: ``python -m syrac COMMAND ...`` on a
machine where TensorFlow and Keras cannot be imported (any import of them raises ImportError),
as on a machine with only ONNX Runtime or LiteRT installed."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


class _NotInstalled:
    """A meta path finder that refuses TensorFlow, Keras and the ONNX converter."""

    BLOCKED = ("tensorflow", "keras", "tf2onnx", "tf_keras")

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.BLOCKED:
            raise ImportError(f"No module named {name!r} (blocked by {__file__})")
        return None


sys.meta_path.insert(0, _NotInstalled())

from syrac.__main__ import main  # noqa: E402

if __name__ == "__main__":
    status = main(sys.argv[1:])
    assert not any(name.split(".")[0] in _NotInstalled.BLOCKED for name in sys.modules)
    sys.exit(status)
