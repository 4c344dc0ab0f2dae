"""Live quality scores: every eval_every steps, best.pt beside the latest, read back from disk and on resume."""

from __future__ import annotations

import json
import math

import pytest
import torch
from conftest import tiny_image_config, tiny_toy_config

from ganplay.checkpoints import BEST_CHECKPOINT_NAME, load_checkpoint
from ganplay.live_eval import FD_METRIC, TOY_METRIC, cost_share, summary
from ganplay.run_files import EVALS_FILE, snapshot_from_disk
from ganplay.runs import Run


def _rows(folder) -> list[dict]:
    return [json.loads(line) for line in (folder / EVALS_FILE).read_text().splitlines()]


def _train(folder, cfg) -> Run:
    run = Run(folder, cfg)
    run.start()
    assert run.wait(120)
    assert run.snapshot().error == ""
    return run


def test_toy_run_scores_every_eval_every_and_keeps_the_best(tmp_path):
    run = _train(tmp_path / "toy", tiny_toy_config(steps=40, eval_every=10))
    rows = _rows(tmp_path / "toy")
    assert [r["step"] for r in rows] == [10, 20, 30, 40]
    for row in rows:
        assert 0 <= row["mode_score"] <= 1 and row["num_modes"] == 8 and {"seconds", "cost"} <= set(row)
        assert math.isclose(row["mode_score"], row["modes_covered"] / 8 * row["high_quality"])
    best = max(rows, key=lambda r: r["mode_score"])  # the first of equal scores: later ties are not better
    snap = run.snapshot()
    assert snap.eval_metric == TOY_METRIC and snap.best["step"] == best["step"]
    assert load_checkpoint(tmp_path / "toy" / BEST_CHECKPOINT_NAME).step == best["step"]
    assert snapshot_from_disk(tmp_path / "toy").best["step"] == best["step"]
    assert "modes" in summary(rows[-1]) and 0 < cost_share(rows) < 1
    # 1 s of scoring in a 10 s stretch, then 1 s in 20 s: 2 s of 30
    assert math.isclose(cost_share([{"seconds": 1.0, "cost": 0.1}, {"seconds": 1.0, "cost": 0.05}]), 2 / 30)


def test_image_run_scores_in_classifier_features_with_a_floor(tmp_path):
    run = _train(tmp_path / "digits", tiny_image_config(steps=4, eval_every=2, conditional=True))
    rows = _rows(tmp_path / "digits")
    assert [r["step"] for r in rows] == [2, 4]
    for row in rows:
        # four steps of a tiny G are far from real digits; two sets of real ones are close
        assert row["fd"] > 5 * row["fd_floor"] > 0
        assert 1 <= row["classes_covered"] <= 10 and 0 <= row["conditional_accuracy"] <= 1
    snap = run.snapshot()
    assert snap.eval_metric == FD_METRIC and snap.best["fd"] == min(r["fd"] for r in rows)
    assert "500 samples" in snap.eval_note and "FD" in summary(rows[-1])


def test_resume_keeps_earlier_scores_and_the_best(tmp_path):
    folder = tmp_path / "toy"
    _train(folder, tiny_toy_config(steps=20, eval_every=10, checkpoint_every=10))
    before = _rows(folder)
    resumed = Run(folder, tiny_toy_config(steps=30, eval_every=10, checkpoint_every=10), resume=True).start()
    assert resumed.wait(120)
    after = _rows(folder)
    assert after[:2] == before and after[2]["step"] == 30
    best = max(after, key=lambda r: r["mode_score"])
    assert resumed.snapshot().best["step"] == best["step"]


def test_no_evaluator_or_eval_off_says_why(tmp_path, monkeypatch):
    from ganplay import evaluator_lookup

    monkeypatch.setattr(evaluator_lookup, "EVALUATOR_DIR", tmp_path / "none")
    run = _train(tmp_path / "digits", tiny_image_config(steps=2, eval_every=1))
    snap = run.snapshot()
    assert snap.eval_metric is None and snap.evals == [] and "no evaluator for mnist-bundled" in snap.eval_note
    assert not (tmp_path / "digits" / BEST_CHECKPOINT_NAME).exists()
    off = _train(tmp_path / "off", tiny_toy_config(steps=2, eval_every=0)).snapshot()
    assert off.eval_metric is None and "off" in off.eval_note


@pytest.mark.parametrize(
    "metric, old, new, better",
    [
        (FD_METRIC, None, 3.0, True),
        (FD_METRIC, 3.0, 2.0, True),
        (FD_METRIC, 2.0, 3.0, False),
        (FD_METRIC, 2.0, float("nan"), False),
        (TOY_METRIC, 0.5, 0.6, True),
        (TOY_METRIC, 0.5, 0.5, False),
    ],
)
def test_better_respects_direction_and_refuses_nan(metric, old, new, better):
    assert metric.better(new, old) is better


def test_fixed_noise_makes_the_score_repeatable(tmp_path):
    run = Run(tmp_path / "toy", tiny_toy_config(steps=2, eval_every=1))
    run.prepare()
    run.advance()
    first = run.score()
    torch.manual_seed(123)  # the score must not depend on the global RNG
    assert run.score() == first


def test_eval_bench_times_training_and_scoring_apart(capsys):
    from ganplay.bench import run_eval_bench

    result = run_eval_bench("quick-cpu-demo", eval_every=20, windows=2, device="cpu")
    assert 0 < result["cost"] <= result["worst_cost"] < 1 and "share of training time" in capsys.readouterr().out


def test_setting_up_live_eval_leaves_the_global_rng_alone():
    """Runs start in threads at once; a draw from the global RNG in one would shift another's initial weights."""
    from ganplay.evaluators import load_evaluator
    from ganplay.live_eval import evaluator_path_for

    before = torch.get_rng_state()
    load_evaluator(evaluator_path_for("mnist-bundled"))
    assert torch.equal(torch.get_rng_state(), before)


def test_reference_digits_are_scored_once_per_process_and_again_for_a_retrained_evaluator(tmp_path):
    import os
    import shutil

    from ganplay import live_eval
    from ganplay.data import load_dataset

    data = load_dataset("mnist-bundled", download=False)
    path = tmp_path / "mnist.pt"
    shutil.copyfile(live_eval.evaluator_path_for("mnist-bundled"), path)
    first = live_eval._reference(data, path)
    assert live_eval._reference(data, path) is first  # a second run starts without rescoring
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))  # as if retrained
    again = live_eval._reference(data, path)
    assert again is not first and again[2] == first[2]  # scored anew, to the same floor
