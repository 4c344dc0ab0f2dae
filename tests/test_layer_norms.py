"""D's per-layer norms: the gradients read after a step are the last D update's, sigma is the largest singular
value of the weight D computes with (spectral norm's read leaves D untouched), one row per image snapshot,
and a resume cuts layers.jsonl back to its checkpoint so the resumed run has no duplicate rows."""

from __future__ import annotations

import errno
import math

import pytest
import torch
from conftest import tiny_image_config, tiny_toy_config

from ganplay import layer_norms
from ganplay.data import load_training_data
from ganplay.layer_norms import GRAD, LAYERS_FILE, SIGMA
from ganplay.run_state import RunState
from ganplay.runs import Run
from ganplay.trainer import GANTrainer


def trainer_for(**overrides) -> GANTrainer:
    cfg = tiny_image_config(**overrides)
    return GANTrainer(cfg, load_training_data(cfg, torch.device("cpu")), torch.device("cpu"))


@pytest.mark.parametrize("d_steps", [1, 3])
def test_gradients_after_a_step_are_those_of_the_last_d_update(d_steps):
    """Without batch norm every D parameter is in a conv or linear layer: the layers' gradient norms then make up
    exactly the |grad D| the trainer measured in its last D update, although the G update came after it."""
    trainer = trainer_for(d_norm="none", d_steps=d_steps)
    for _ in range(3):
        stats = trainer.train_step()
    row = layer_norms.layer_row(trainer.D, trainer.step)
    grads = [value for key, value in row.items() if key.startswith(GRAD)]
    assert len(grads) == len(layer_norms.measured_layers(trainer.D)) == 3 and min(grads) > 0
    assert math.sqrt(sum(g * g for g in grads)) == pytest.approx(float(stats["grad_norm_d"]), rel=1e-5)


def test_the_step_zero_row_has_sigmas_and_no_gradients():
    row = layer_norms.layer_row(trainer_for().D, 0)
    assert row["step"] == 0
    assert list(row) == ["step", "sigma/features.0", "sigma/features.2", "sigma/head"]  # BN layers have no sigma


def test_sigma_is_the_largest_singular_value_of_the_weight():
    trainer = trainer_for()
    trainer.train_step()
    row = layer_norms.layer_row(trainer.D, 1)
    for name, module in layer_norms.measured_layers(trainer.D):
        weight = module.weight.detach().double()
        assert row[SIGMA + name] == pytest.approx(float(torch.linalg.svdvals(weight.flatten(1))[0]), rel=1e-5)


def test_with_spectral_norm_sigma_is_after_normalisation_and_reading_it_changes_nothing():
    trainer = trainer_for(spectral_norm=True)
    for _ in range(3):
        trainer.train_step()
    before = {k: v.clone() for k, v in trainer.D.state_dict().items()}  # includes each layer's u and v
    modes = [m.training for m in trainer.D.modules()]
    row = layer_norms.layer_row(trainer.D, 3)
    assert all(torch.equal(before[k], v) for k, v in trainer.D.state_dict().items())  # no power-iteration step
    assert [m.training for m in trainer.D.modules()] == modes
    for name, module in layer_norms.measured_layers(trainer.D):
        raw = module.parametrizations.weight.original.detach().flatten(1)
        sn = module.parametrizations.weight[0]
        estimate = torch.dot(sn._u, raw @ sn._v)  # what spectral norm divides by now
        expected = torch.linalg.svdvals(raw.double())[0] / estimate.double()
        assert row[SIGMA + name] == pytest.approx(float(expected), rel=1e-4)
        assert 0.9 < row[SIGMA + name] < 1.1  # held near 1, unlike the raw weight's
        assert float(torch.linalg.svdvals(raw)[0]) != pytest.approx(1.0, abs=0.1)


@pytest.mark.parametrize("shape", [(1, 300), (300, 1), (40, 7), (7, 40), (64, 512)])
def test_largest_singular_value_agrees_with_svd(shape):
    matrix = torch.randn(*shape)
    expected = float(torch.linalg.svdvals(matrix.double())[0])
    assert float(layer_norms.largest_singular_value(matrix)) == pytest.approx(expected, rel=1e-6)


def test_a_diverged_weight_gives_nan_not_an_error():
    matrix = torch.ones(4, 5)
    matrix[1, 2] = float("inf")
    assert math.isnan(float(layer_norms.largest_singular_value(matrix)))


def test_image_runs_write_a_row_per_snapshot_and_toy_runs_none(tmp_path):
    image = Run(tmp_path / "digits", tiny_image_config(steps=6, sample_every=3, eval_every=0)).start()
    toy = Run(tmp_path / "toy", tiny_toy_config(steps=6, eval_every=0)).start()
    assert image.wait(60) and toy.wait(60)
    rows = layer_norms.read_rows(tmp_path / "digits")
    assert [row["step"] for row in rows] == [0, 3, 6]
    assert (
        layer_norms.layer_names(rows, GRAD)
        == layer_norms.layer_names(rows, SIGMA)
        == ["features.0", "features.2", "head"]
    )
    assert not any(key.startswith(GRAD) for key in rows[0])  # no update yet at step 0
    assert not (tmp_path / "toy" / LAYERS_FILE).exists()


def _advance(run: Run, steps: int) -> None:
    for _ in range(steps):
        run.advance()


def test_resume_cuts_layers_back_to_the_checkpoint_and_continues_exactly(tmp_path):
    folder = tmp_path / "digits"
    cfg = tiny_image_config(steps=8, sample_every=2, checkpoint_every=4, eval_every=0)
    crashed = Run(folder, cfg)
    crashed.prepare()
    _advance(crashed, 6)  # snapshots at 2, 4, 6; its last checkpoint at 4: then it dies
    crashed.recorder.close()
    before = layer_norms.read_rows(folder)
    assert [row["step"] for row in before] == [0, 2, 4, 6]
    resumed = Run(folder, cfg, resume=True, start_step=4)
    resumed.prepare()
    assert [row["step"] for row in layer_norms.read_rows(folder)] == [0, 2, 4]  # step 6 is done again
    _advance(resumed, 2)
    resumed.recorder.close()
    after = layer_norms.read_rows(folder)
    assert [row["step"] for row in after] == [0, 2, 4, 6]
    assert after[:3] == before[:3]
    assert after[3] == pytest.approx(before[3], rel=1e-6)  # the same D, and the same gradients, as before


def test_damaged_lines_are_reported_and_the_rest_kept(tmp_path):
    (tmp_path / LAYERS_FILE).write_text(
        '{"step": 0, "sigma/head": 1.5}\n{"step": 2, "sigma/head": "big"}\nnot json\n{"step": 4, "sigma/head": 2.0}\n'
    )
    problems: list[str] = []
    rows = layer_norms.read_rows(tmp_path, problems)
    assert [row["step"] for row in rows] == [0, 4]
    assert problems == [f"{LAYERS_FILE} line 2: sigma/head 'big' is not a number", f"{LAYERS_FILE} line 3: cut short"]


def test_the_figure_draws_one_line_per_layer_with_its_values():
    rows = [
        {"step": 0, "sigma/a": 1.0, "sigma/b": 2.0},
        {"step": 5, "sigma/a": 1.5, "grad/a": 0.1, "sigma/b": 2.5, "grad/b": 0.2},
    ]
    figure = layer_norms.layer_figure(rows, GRAD)
    assert [(t.name, list(t.x), list(t.y)) for t in figure.data] == [("a", [5], [0.1]), ("b", [5], [0.2])]
    assert figure.layout.yaxis.type == "log"
    assert [list(t.y) for t in layer_norms.layer_figure(rows, SIGMA).data] == [[1.0, 1.5], [2.0, 2.5]]
    with pytest.raises(ValueError, match="quantity must be one of"):
        layer_norms.layer_figure(rows, "norm/")


def test_a_full_disk_while_writing_layers_fails_the_run_naming_the_file(tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("ganplay.layer_norms.open", full, raising=False)
    run = Run(tmp_path / "digits", tiny_image_config(steps=6, eval_every=0)).start()
    assert run.wait(60)
    snap = run.snapshot()
    assert snap.state == RunState.FAILED and snap.error.startswith(
        f"disk full while writing {tmp_path / 'digits' / LAYERS_FILE}"
    )
