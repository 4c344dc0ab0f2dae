"""The plain-words guides and verdicts: one per loss, thresholds that say where a score stands."""

from __future__ import annotations

import pytest

from ganplay.guides import curve_guide
from ganplay.live_eval import FD_METRIC, TOY_METRIC, verdict, verdict_scale
from ganplay.losses import LOSSES


@pytest.mark.parametrize("loss", LOSSES.names())
def test_every_loss_has_a_guide_with_healthy_and_bad_shapes(loss):
    guide = curve_guide(loss)
    assert "**Healthy:**" in guide and "**Bad shapes:**" in guide and "D(G(z))" in guide
    probability = "average probability" in guide
    assert probability == LOSSES.get(loss).probabilistic  # D's outputs explained as what they are for this loss


def test_the_nsgan_guide_states_the_equilibrium_values():
    assert "2 ln 2 = 1.39" in curve_guide("nsgan") and "ln 2 = 0.69" in curve_guide("nsgan")
    with pytest.raises(ValueError, match="no guide for loss 'bogus'"):
        curve_guide("bogus")


@pytest.mark.parametrize(
    "fd, words",
    [
        (264.1, "16.1x the floor: digit shapes forming, few clean ones"),
        (23.7, "1.4x the floor: close to real digits"),
        (1271.9, "77.6x the floor: blobs and noise, no digits yet"),
    ],
)
def test_fd_verdicts_say_where_a_score_stands(fd, words):
    assert verdict({"fd": fd, "fd_floor": 16.4}) == words


def test_toy_verdicts_name_the_missing_clusters():
    row = dict(num_modes=8, high_quality=0.97)
    assert verdict({**row, "modes_covered": 8}) == "all 8 clusters, 97% of points on them: solved"
    assert verdict({**row, "modes_covered": 6}) == "6 of 8 clusters: misses 2 (mode collapse?)"
    assert verdict({**row, "modes_covered": 0, "high_quality": 0.0}).startswith("no cluster reached yet")
    assert "up to 1.6x: close to real digits" in verdict_scale(FD_METRIC)
    assert "90%" in verdict_scale(TOY_METRIC)


def test_a_worst_possible_score_is_never_better():
    assert not TOY_METRIC.better(0.0, None) and TOY_METRIC.better(0.1, None)
    assert FD_METRIC.better(1000.0, None)
