"""Figure builders and the 2-D lab's views: data in, figures out, checked without a browser."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import tiny_toy_config

from ganplay import path_plots, plots, toy_plots
from ganplay.checkpoints import CheckpointError, data_meta, export_generator, save_checkpoint
from ganplay.data import load_dataset
from ganplay.toylab import plane_extent, toy_view, toy_view_from_checkpoint
from ganplay.trainer import GANTrainer

HISTORY = [{"step": s, "loss_d": 1.0 + (s % 3), "loss_g": 2.0, "d_real": 0.6, "d_fake": 0.4} for s in range(1, 11)]


def test_smoothing_is_bias_corrected_and_checked():
    assert plots.smooth([1.0, 1.0, 1.0], 0.9) == pytest.approx([1.0, 1.0, 1.0])
    assert plots.smooth([0.0, 10.0], 0.0) == [0.0, 10.0]
    with pytest.raises(ValueError, match="smoothing must be in"):
        plots.smooth([1.0], 1.0)


def test_curve_figures_hold_every_point():
    fig = plots.loss_figure(HISTORY, smoothing=0.5)
    shown = [t for t in fig.data if t.showlegend is not False]
    assert [t.name for t in shown] == ["loss D", "loss G"] and all(len(t.x) == 10 for t in shown)
    assert len(fig.data) == 4  # faint raw lines behind the smoothed ones
    assert [t.name for t in plots.d_output_figure(HISTORY).data] == ["D(x)", "D(G(z))"]
    overlay = plots.overlay_figure({"a": HISTORY, "b": HISTORY[:5]}, "loss_d")
    assert [(t.name, len(t.x)) for t in overlay.data] == [("a", 10), ("b", 5)]


def test_a_long_history_is_smoothed_over_every_point_and_drawn_at_most_400():
    """The live view redraws these each second: 2,000 rows draw 400 points a line, the last one always."""
    history = [{"step": s, "loss_d": float(s % 2), "loss_g": 1.0} for s in range(1, 2001)]
    fig = plots.loss_figure(history, smoothing=0.9)
    raw, smoothed = fig.data[0], fig.data[1]
    assert len(raw.x) == len(smoothed.x) <= plots.MAX_DRAWN_POINTS + 1 and raw.x[0] == 1 and raw.x[-1] == 2000
    # smoothed before thinning: every kept point is the average of its neighbours (0.5), not of the kept ones
    every = plots.smooth([r["loss_d"] for r in history], 0.9)
    assert smoothed.y[-1] == pytest.approx(every[-1]) and abs(smoothed.y[-1] - 0.5) < 0.1
    assert plots.drawn_points(5) == [0, 1, 2, 3, 4]
    assert plots.drawn_points(10, limit=4) == [0, 3, 6, 9]


def test_animation_has_one_frame_per_picture_and_controls():
    pictures = [np.full((8, 8, 1), i, dtype=np.uint8) for i in range(5)]
    fig = path_plots.synced_animation_figure({"walk": pictures}, fps=10)
    assert len(fig.frames) == 5 and fig.data[0].z.shape == (8, 8, 3)  # grey pictures drawn as RGB
    assert [b.label for b in fig.layout.updatemenus[0].buttons] == ["Play", "Pause"]
    assert len(fig.layout.sliders[0].steps) == 5
    with pytest.raises(ValueError, match="at least one frame"):
        path_plots.synced_animation_figure({"walk": []})


def test_toy_view_of_a_live_trainer_and_of_its_checkpoint(tmp_path):
    cfg = tiny_toy_config(pac=2)
    data = load_dataset("ring8")
    trainer = GANTrainer(cfg, data, torch.device("cpu"))
    for _ in range(3):
        trainer.train_step()
    view = toy_view(
        trainer.G, trainer.D, True, cfg.z_dim, cfg.pac, data.scale, data.modes.numpy(), resolution=16, lines=5
    )
    assert view.d_values.shape == (16, 16) and 0 <= view.d_values.min() and view.d_values.max() <= 1
    assert view.manifold.shape == (5, 5, 2) and view.extent == pytest.approx(plane_extent(1.0))
    assert trainer.G.training and trainer.D.training  # training modes are restored
    path = save_checkpoint(tmp_path / "toy.pt", trainer.state_dict(), cfg, data_meta(data))
    saved, points = toy_view_from_checkpoint(path, num_points=50)
    assert points.shape == (50, 2) and saved.d_values.shape == (64, 64)
    fig = toy_plots.toy_figure(points, points, data.modes.numpy(), (saved.xs, saved.ys, saved.d_values), saved.manifold)
    assert [t.name for t in fig.data] == ["D(x)", "G(noise grid)", "real", "generated", "modes"]
    export = export_generator(path, tmp_path / "toy-g.pt")  # generator only: nothing to draw D's view from
    with pytest.raises(CheckpointError, match="keeps only the generator"):
        toy_view_from_checkpoint(export)
