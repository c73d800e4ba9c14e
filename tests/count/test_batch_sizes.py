"""Batch sizes of the Count step: ``auto`` resolved for the device, numbers kept as given."""

import numpy as np
import pytest

from syrac.common.config import load_params, parse_overrides
from syrac.common.errors import SyracError
from syrac.count.batch_sizes import (
    CPU_BATCH_SIZES,
    GPU_MAX_BATCH,
    auto_batch_size,
    device_kind,
    resolved_batch_sizes,
)
from syrac.count.features import extract_features
from syrac.fixtures import make_count_set
from syrac.common.annotations import load_count_set
from syrac.rank.backbones import build_encoder


def tiny_params(*overrides):
    params, _ = load_params("config", "tiny", parse_overrides(list(overrides)))
    return params


def test_auto_is_the_default_and_resolves_to_the_cpu_sizes_here():
    params, _ = load_params("config", "baseline", {})
    assert params["probe_batch_size"] == "auto" and params["eval_batch_size"] == "auto"
    assert device_kind() == "cpu"  # the test machines have no GPU
    assert resolved_batch_sizes(params) == CPU_BATCH_SIZES


def test_gpu_batches_shrink_with_the_input_size_and_are_capped():
    assert auto_batch_size("eval_batch_size", [640, 853, 3], "gpu") == 16
    assert auto_batch_size("eval_batch_size", [1280, 1706, 3], "gpu") == 4
    assert auto_batch_size("probe_batch_size", [96, 128, 3], "gpu") == GPU_MAX_BATCH
    assert auto_batch_size("eval_batch_size", [8000, 8000, 3], "gpu") == 1


def test_numbers_override_auto_on_any_device():
    params = tiny_params("eval_batch_size=5", "probe_batch_size=auto")
    assert resolved_batch_sizes(params, device="gpu") == {
        "probe_batch_size": auto_batch_size("probe_batch_size", params["input_shape"], "gpu"),
        "eval_batch_size": 5,
    }
    assert resolved_batch_sizes(params, device="cpu")["eval_batch_size"] == 5


@pytest.mark.parametrize("text", ["eval_batch_size=0", "eval_batch_size=big",
                                  "probe_batch_size=2.5", "probe_batch_size=-1"])
def test_nonsense_batch_sizes_are_refused_by_name(text):
    with pytest.raises(SyracError, match=text.split("=")[0]):
        tiny_params(text)


def test_features_do_not_depend_on_the_batch_size(tmp_path):
    make_count_set(str(tmp_path), "synth", images=7, size=(32, 48))
    paths = [path for path, _ in load_count_set(str(tmp_path), "synth")]
    encoder = build_encoder("tiny_cnn", [32, 48, 3], None)
    one = extract_features(encoder, paths, [32, 48, 3], 1, progress=False)
    four = extract_features(encoder, paths, [32, 48, 3], 4, progress=False)
    assert one.shape == (7, 16)
    np.testing.assert_allclose(one, four, rtol=1e-4, atol=1e-5)
