"""The offline evaluator: a held-out split it never trains on, a real (tiny) training, safe files."""

from __future__ import annotations

import pytest
import torch

from ganplay.checkpoints import CheckpointError
from ganplay.evaluators import holdout_split, load_evaluator, save_evaluator, train_evaluator


def test_holdout_split_is_disjoint_fixed_and_checked():
    train, held = holdout_split(100, 20, seed=3)
    assert len(set(train.tolist()) | set(held.tolist())) == 100 and not set(train.tolist()) & set(held.tolist())
    assert torch.equal(held, holdout_split(100, 20, seed=3)[1])
    with pytest.raises(ValueError, match="holdout must be between"):
        holdout_split(100, 100)


def test_tiny_training_learns_and_round_trips(tmp_path):
    evaluator = train_evaluator("mnist-bundled", holdout=500, epochs=1, batch_size=64, limit=1500)
    assert evaluator.holdout_accuracy > 0.5  # one short epoch: far better than the 10% of chance
    path = save_evaluator(evaluator, tmp_path / "mnist.pt")
    again = load_evaluator(path)
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    probs, feats = again.predict(x)
    assert probs.shape == (4, 10) and feats.shape == (4, 128)
    assert torch.allclose(probs, evaluator.predict(x)[0], atol=1e-6)
    assert again.predict(torch.rand(2, 3, 32, 32))[0].shape == (2, 10)  # resized and made grayscale


def test_bad_evaluator_files_name_the_problem(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="bad.pt: not a readable evaluator"):
        load_evaluator(bad)
    with pytest.raises(CheckpointError, match="no such evaluator"):
        load_evaluator(tmp_path / "missing.pt")
