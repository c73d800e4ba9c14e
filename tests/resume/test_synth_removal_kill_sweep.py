"""``syrac synth remove-people`` killed at any instant and run again ends as the unbroken job:
the same images, one manifest record per image, nothing temporary left.

One image per batch (``--batch-size 1``): an image then goes through the same arithmetic
whatever was made before a kill, so the sweep can ask for identical bytes. (``noisy-counts`` is
swept in ``test_synth_counts_kill_sweep.py``, a module of its own so that the two run side by
side.)
"""

import pytest

from tests.conftest import removal_arguments
from tests.resume.synth_sweeps import sweep


@pytest.mark.slow
def test_remove_people_killed_after_every_kind_of_write_ends_as_the_unbroken_job(tmp_path, sources,
                                                                                preset):
    sweep(tmp_path, lambda data_dir: removal_arguments(sources, data_dir, preset, "out",
                                                       "--batch-size", "1"))
