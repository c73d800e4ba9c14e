"""The ranking fixture every two-worker module trains on."""

import pytest

from syrac.fixtures import make_ranking_set


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("cluster_data")
    make_ranking_set(str(root), "rank", train_pairs=4, val_pairs=3)  # 3: a padded last batch
    return root
