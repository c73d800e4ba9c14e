"""``syrac synth noisy-counts`` killed at any instant and run again ends as the unbroken job
(see ``test_synth_removal_kill_sweep.py`` for what is compared)."""

import pytest

from tests.conftest import count_arguments
from tests.resume.synth_sweeps import sweep


@pytest.mark.slow
def test_noisy_counts_killed_after_every_kind_of_write_ends_as_the_unbroken_job(tmp_path, preset):
    sweep(tmp_path, lambda data_dir: count_arguments(data_dir, preset, "out", "--batch-size", "1"))
