"""Self-conditioning: k-means clusters of the images stand in for labels; fakes follow the clusters' shares."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from conftest import tiny_image_config

from ganplay import clusters
from ganplay.checkpoints import data_meta, load_generator, save_checkpoint
from ganplay.clusters import kmeans, self_conditioned
from ganplay.data import load_dataset, load_training_data
from ganplay.image_files import DatasetError
from ganplay.live_eval import live_evaluator_for
from ganplay.models import DCGANDiscriminator, label_vectors, pack
from ganplay.presets import make_config
from ganplay.sampling import class_labels, interpolation, plane, sample, seed_labels
from ganplay.seeding import prior_labels
from ganplay.trainer import GANTrainer


def blobs() -> tuple[torch.Tensor, torch.Tensor]:
    centers = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    truth = torch.arange(300) % 3
    return centers[truth] + 0.5 * torch.randn(300, 2, generator=torch.Generator().manual_seed(1)), truth


def test_kmeans_finds_separated_blobs_and_is_deterministic():
    points, truth = blobs()
    found = kmeans(points, 3, seed=0)
    assert torch.equal(found, kmeans(points, 3, seed=0))
    for k in range(3):  # each blob is exactly one cluster
        assert len(set(found[truth == k].tolist())) == 1
    assert len(set(found.tolist())) == 3
    with pytest.raises(DatasetError, match="cannot make 400 clusters of 300 images"):
        kmeans(points, 400)


def test_bad_cluster_settings_are_refused_with_the_reason():
    def error(**overrides):
        return make_config(None, **overrides).errors().get("clusters", "")

    assert error(dataset="mnist-bundled", clusters=50) == ""
    assert "not both" in error(dataset="mnist-bundled", clusters=50, conditional=True)
    assert "use one" in error(dataset="mnist-bundled", clusters=50, info_codes=10)
    assert "2-D points" in error(dataset="ring8", clusters=8)
    assert "one cluster is no condition" in error(dataset="mnist-bundled", clusters=1)


@pytest.fixture(scope="module")
def clustered():
    cfg = tiny_image_config(clusters=12)
    return cfg, load_training_data(cfg)


def test_the_bundled_digits_cluster_by_shape(clustered):
    cfg, data = clustered
    assert data.num_classes == 12 and data.class_names[3] == "cluster 3"
    assert sum(data.label_prior) == pytest.approx(1.0)
    digits = load_dataset("mnist-bundled").labels
    purity = sum(int(torch.bincount(digits[data.labels == k], minlength=10).max()) for k in range(12)) / len(digits)
    assert purity > 0.6  # no labels used, yet most clusters are mostly one digit
    assert torch.equal(load_training_data(cfg).labels, data.labels)  # a resumed run clusters the same way


def test_clusters_are_remembered_per_set_of_pixels(monkeypatch):
    """A second start on the same images reuses the clusters; changed images are clustered afresh."""
    full = load_dataset("mnist-bundled")
    few = replace(full, images=full.images[:300].clone(), labels=full.labels[:300], _perms={})
    first = self_conditioned(few, 5)
    monkeypatch.setattr(clusters, "kmeans", lambda *a, **k: pytest.fail("the same pixels were clustered again"))
    assert torch.equal(self_conditioned(few, 5).labels, first.labels)
    calls = []
    monkeypatch.setattr(clusters, "kmeans", lambda points, k, seed: calls.append(k) or torch.arange(len(points)) % k)
    changed = replace(few, images=few.images.flip(-1), _perms={})
    self_conditioned(changed, 5)
    self_conditioned(few, 6)  # another k is another clustering
    assert calls == [5, 6]


def test_fake_labels_follow_the_cluster_shares(clustered):
    cfg, data = clustered
    trainer = GANTrainer(cfg, data, torch.device("cpu"))
    _, fake_y = trainer.sample_latents(20000)
    shares = torch.bincount(fake_y, minlength=12).double() / 20000
    assert torch.allclose(shares, torch.tensor(data.label_prior, dtype=torch.float64), atol=0.01)
    stats = trainer.train_step()
    assert all(torch.isfinite(v) for v in stats.values())
    with pytest.raises(ValueError, match="load_training_data"):
        GANTrainer(cfg, load_dataset(cfg.dataset, image_size=cfg.image_size), torch.device("cpu"))


def test_prior_draws_keep_each_row_whatever_n():
    prior = (0.5, 0.25, 0.25)
    many = prior_labels(prior, 100, torch.Generator().manual_seed(7))
    assert torch.equal(prior_labels(prior, 10, torch.Generator().manual_seed(7)), many[:10])


def test_sampling_draws_clusters_at_their_shares_and_walks_between_them(clustered, tmp_path):
    cfg, data = clustered
    trainer = GANTrainer(cfg, data, torch.device("cpu"))
    path = save_checkpoint(tmp_path / "sc.pt", trainer.state_dict(), cfg, data_meta(data))
    generator, ckpt = load_generator(path)
    meta = ckpt.data
    assert meta["label_prior"] == list(data.label_prior)
    labels = class_labels(meta, cfg, 50, None, seed=3)
    assert torch.equal(labels[:1], seed_labels(meta, cfg, [3], None))  # row 0 of seed 3 is seed 3's own draw
    assert torch.equal(class_labels(meta, cfg, 4, 5), torch.full((4,), 5))
    assert sample(generator, ckpt, 6, seed=3).shape == (6, 1, 28, 28)
    frames = interpolation(generator, ckpt, 5, "lerp", seeds=[0, 1])
    keys = [sample(generator, ckpt, 1, seed=s) for s in (0, 1)]
    assert torch.allclose(frames[0], keys[0][0], atol=1e-5) and torch.allclose(frames[-1], keys[1][0], atol=1e-5)
    assert plane(generator, ckpt, [0, 1, 2, 3], 3, 3).shape == (9, 1, 28, 28)
    assert interpolation(generator, ckpt, 4, class_from=0, class_to=7).shape == (4, 1, 28, 28)


def test_live_scores_draw_clusters_at_their_shares(clustered):
    cfg, data = clustered
    evaluator, _ = live_evaluator_for(data, cfg.z_dim, conditional=False)
    trainer = GANTrainer(cfg, data, torch.device("cpu"))
    row = evaluator.score(trainer)
    assert "fd" in row and "conditional_accuracy" not in row


@pytest.mark.parametrize("pac", [1, 2])
def test_the_label_map_shortcut_equals_label_planes(pac):
    """D's first layer adds per-class maps instead of convolving K constant planes: the same numbers."""
    d = DCGANDiscriminator((1, 28, 28), 16, 50, pac, "none", 0.0, use_sn=False)
    x = torch.randn(8, 1, 28, 28)

    def by_planes(labels):
        planes = labels[:, :, None, None].expand(-1, -1, 28, 28)
        return d.head(d.features(pack(torch.cat([x, planes], 1), pac)).flatten(1)).view(-1)

    y = torch.randint(50, (8,))
    assert torch.allclose(d(x, y), by_planes(label_vectors(y, 50, 8, x.device)), atol=1e-5)
    soft = torch.softmax(torch.randn(8, 50), 1)  # soft labels take the same road
    assert torch.allclose(d(x, soft), by_planes(soft), atol=1e-5)
