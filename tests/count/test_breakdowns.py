"""The official breakdowns, checked figure by figure against sums worked out by hand."""

import math

import pytest

from syrac.count.breakdowns import breakdowns

# Six images, NWPU-Crowd style: true count, predicted, level, illumination.
#   true 0    -> predicted 2    (level 0, illumination 0)   error 2, left out of NAE
#   true 0    -> predicted 1    (level 0, illumination 1)   error 1, left out of NAE
#   true 40   -> predicted 50   (level 1, illumination 1)   error 10, relative 0.25
#   true 100  -> predicted 70   (level 1, illumination 2)   error 30, relative 0.30
#   true 400  -> predicted 500  (level 2, illumination 2)   error 100, relative 0.25
#   true 1000 -> predicted 900  (level 3, illumination 2)   error 100, relative 0.10
# Level 4 has no image; illumination 3 neither.
TRUE = [0, 0, 40, 100, 400, 1000]
PREDICTED = [2, 1, 50, 70, 500, 900]
NWPU = [{"level": level, "illumination": light}
        for level, light in [(0, 0), (0, 1), (1, 1), (1, 2), (2, 2), (3, 2)]]


def test_count_ranges_hold_for_every_benchmark():
    ranges = breakdowns(PREDICTED, TRUE)["count_ranges"]
    low, medium, high = (ranges[name] for name in
                         ("low (0-50)", "medium (51-500)", "high (>500)"))
    assert (low["n"], medium["n"], high["n"]) == (3, 2, 1)
    assert low["mae"] == pytest.approx((2 + 1 + 10) / 3)
    assert low["rmse"] == pytest.approx(math.sqrt((4 + 1 + 100) / 3))
    assert low["nae"] == pytest.approx(0.25) and low["empty_images"] == 2  # only the 40
    assert medium["mae"] == pytest.approx(65) and medium["nae"] == pytest.approx(0.275)
    assert high["mae"] == pytest.approx(100) and high["nae"] == pytest.approx(0.1)
    assert set(breakdowns(PREDICTED, TRUE)) == {"count_ranges"}  # no metadata, no more


def test_nwpu_levels_illumination_and_the_mean_of_level_maes():
    result = breakdowns(PREDICTED, TRUE, NWPU)
    levels = result["levels"]
    assert [levels[name]["n"] for name in levels] == [2, 2, 1, 1, 0]
    assert levels["level 0 (0)"]["mae"] == pytest.approx(1.5)
    assert levels["level 0 (0)"]["nae"] is None  # every image empty: undefined, not 0
    assert levels["level 1 (1-100)"]["mae"] == pytest.approx(20)
    assert levels["level 1 (1-100)"]["nae"] == pytest.approx(0.275)
    assert levels["level 4 (>5000)"] == {"n": 0, "mae": None, "rmse": None, "nae": None,
                                         "empty_images": 0}
    assert result["mean_level_mae"] == pytest.approx((1.5 + 20 + 100 + 100) / 4)
    assert result["mean_level_mae_over"] == 4  # the levels that have an image
    light = result["illumination"]
    assert [light[f"illumination {i}"]["n"] for i in range(4)] == [1, 2, 3, 0]
    assert light["illumination 1"]["mae"] == pytest.approx((1 + 10) / 2)
    assert light["illumination 2"]["rmse"] == pytest.approx(
        math.sqrt((30**2 + 100**2 + 100**2) / 3))
    assert "weather" not in result


def test_jhu_weather_none_and_adverse():
    metas = [{"weather": w, "scene": "street", "distractor": 0} for w in (0, 0, 1, 0, 3, 2)]
    weather = breakdowns(PREDICTED, TRUE, metas)["weather"]
    assert weather["none"]["n"] == 3 and weather["adverse"]["n"] == 3
    assert weather["none"]["mae"] == pytest.approx((2 + 1 + 30) / 3)
    assert weather["none"]["nae"] == pytest.approx(0.30)
    assert weather["adverse"]["mae"] == pytest.approx((10 + 100 + 100) / 3)
    assert weather["adverse"]["nae"] == pytest.approx((0.25 + 0.25 + 0.1) / 3)
    assert "levels" not in breakdowns(PREDICTED, TRUE, metas)


def test_count_range_boundaries_are_jhu_crowds():
    ranges = breakdowns([0, 0, 0, 0], [50, 51, 500, 501])["count_ranges"]
    assert [group["n"] for group in ranges.values()] == [1, 2, 1]  # 50 | 51, 500 | 501
