"""SYRAC: Synthesize, Rank, and Count -- a TensorFlow 2.21 / Keras 3 reproduction.

The packages follow the method's steps, each with one job, in layers (a package imports only
from layers below it; ``tests/test_layout.py`` checks it):

- ``common``: what every step shares: errors, parameters, numbers, annotations, images, files,
  output folders, folder locks, the validation-split rule, progress bars;
- ``synth``: Synthesize, the two diffusion datasets (``python -m syrac synth``);
- ``prepare``: real benchmark downloads and unlabelled images to datasets
  (``python -m syrac prepare``);
- ``rank``: Rank, pre-training the siamese encoder (``train_wrapper.py``, ``syrac train``);
- ``toy_world``: a generated toy crowd world with the three datasets SYRAC needs;
- ``count``: Count, the non-negative linear probe and patch-wise counting
  (``finetune_wrapper.py``, ``syrac finetune``, ``syrac count``, ``syrac export``);
- ``table``, ``demo``: the results table from a recipe, and the whole method on the toy world;
- ``cli``, ``__main__``: the command lines.

``import syrac`` is enough for ``keras.models.load_model`` to read every ``.keras`` file the
project writes: the modules of its Keras classes (the siamese ranker, the augmentation layers,
the input scaling, the patch counter) are imported as soon as Keras is (at once if it already
is), so that a command that never needs Keras, such as ``python -m syrac prepare --help``, does
not pay the seconds TensorFlow takes to import.
"""

import importlib
import importlib.abc
import importlib.machinery
import sys

__version__ = "0.5.0"

KERAS_CLASS_MODULES = (
    "syrac.rank.input_scaling",
    "syrac.rank.augmentation",
    "syrac.rank.ranking_model",
    "syrac.count.counter",
)


def _half_imported_syrac_modules(besides):
    return [name for name, module in list(sys.modules.items())
            if name.startswith("syrac.") and name != besides
            and getattr(getattr(module, "__spec__", None), "_initializing", False)]


class _KerasClassRegistration(importlib.abc.MetaPathFinder):
    """Imports :data:`KERAS_CLASS_MODULES` once Keras is imported and no ``syrac`` module is
    half imported (importing them from inside a half-imported module could ask it for names
    it has not defined yet); checked again after each ``syrac`` module finishes importing."""

    def find_spec(self, fullname, path, target=None):
        if fullname != "keras" and not fullname.startswith("syrac."):
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _ThenRegister(spec.loader, self)
        return spec

    def register_when_ready(self, just_imported):
        if "keras" not in sys.modules or _half_imported_syrac_modules(just_imported):
            return
        if self in sys.meta_path:
            sys.meta_path.remove(self)
            for name in KERAS_CLASS_MODULES:
                importlib.import_module(name)


class _ThenRegister(importlib.abc.Loader):
    """A module's own loader, then :meth:`_KerasClassRegistration.register_when_ready`."""

    def __init__(self, loader, registration):
        self.loader, self.registration = loader, registration

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        self.registration.register_when_ready(module.__name__)

    def __getattr__(self, name):  # get_source, get_filename, ... of the real loader
        return getattr(self.loader, name)


_registration = _KerasClassRegistration()
sys.meta_path.insert(0, _registration)
_registration.register_when_ready("syrac")
