"""The Samples page: resampling, sample counts per kind of model, class and cluster labels, file names."""

from __future__ import annotations

import json

from pagetest import open_page, picker


def test_resample_moves_to_the_next_seed_each_click(app_registry):
    at = open_page("pages/samples.py")
    resample = next(b for b in at.button if b.label == "Resample (next seed)")
    resample.click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.number_input(key="samples_seed").value == 1
    at.number_input(key="samples_seed").set_value(41).run()
    next(b for b in at.button if b.label == "Resample (next seed)").click().run()
    next(b for b in at.button if b.label == "Resample (next seed)").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.number_input(key="samples_seed").value == 43
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert figure["layout"]["title"]["text"] == "64 samples, seed 43"


def test_digit_classes_read_as_digits_and_clusters_say_what_they_hold(app_registry):
    at = open_page("pages/samples.py")
    assert picker(at, "Class").options[:3] == ["all, in turn", "0", "1"]
    picker(at, "Model").set_value("pretrained: mnist-dcgan").run()
    options = picker(at, "Cluster").options
    assert options[0] == "drawn at their real shares" and len(options) == 51
    assert all(o.startswith(f"cluster {i}: ") and ("mostly" in o or "mixed" in o) for i, o in enumerate(options[1:]))
    assert options[1] == "cluster 0: mostly 7 (100%)"  # the shipped classifier on 40 samples of cluster 0


def test_a_2d_model_draws_many_points_and_downloads_under_its_own_name(app_registry, downloads):
    at = open_page("pages/samples.py")
    assert at.number_input(key="samples_n:image").value == 64
    picker(at, "Class").set_value(7).run()
    assert "mnist-cdcgan_class7_64-samples_seed0.png" in downloads
    picker(at, "Model").set_value("pretrained: ring8-mlp").run()
    assert at.number_input(key="samples_n:toy").value == 1000
    assert json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["title"]["text"] == "1000 samples, seed 0"


def test_a_picked_run_stays_picked_when_its_state_changes(app_registry):
    """The model list shows each run's state; the pick must survive the run stopping (it jumped to another model)."""
    import time

    from conftest import tiny_toy_config

    run = app_registry.start(tiny_toy_config(steps=1_000_000, checkpoint_every=20), name="long")
    deadline = time.monotonic() + 60
    while not (app_registry.root / "long" / "checkpoint.pt").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    at = open_page("pages/samples.py")
    picker(at, "Model").set_value("run: long").run()
    assert picker(at, "Model").format_func("run: long") == "run: long (running)"
    run.stop()
    assert run.wait(30)
    at.run()
    model = picker(at, "Model")
    assert model.value == "run: long" and model.format_func("run: long") == "run: long (stopped)"
    assert json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["title"]["text"] == "1000 samples, seed 0"


def test_a_synthetic_dataset_downloads_as_a_zip_of_class_folders(app_registry, downloads):
    import io
    import zipfile

    at = open_page("pages/samples.py")
    at.number_input(key="dataset_n").set_value(3).run()
    assert "Download dataset (zip)" not in [b.label for b in at.get("download_button")]  # nothing made yet
    next(b for b in at.button if b.label == "Make the dataset").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.get("progress"), "the dataset is made with a progress bar"
    name = "mnist-cdcgan_dataset-3-per-class_seed0"
    archive = zipfile.ZipFile(io.BytesIO(downloads[f"{name}.zip"]))
    pngs = [n for n in archive.namelist() if n.endswith(".png")]
    assert len(pngs) == 30 and f"{name}/7/000002.png" in pngs
    manifest = json.loads(archive.read(f"{name}/synthetic.json"))
    assert manifest["images_per_class"] == [3] * 10
    assert manifest["command"].startswith("python -m ganplay export-dataset --checkpoint ")

    picker(at, "Model").set_value("pretrained: mnist-dcgan").run()  # no labels: the classifier's, thresholded
    at.slider(key="dataset_conf").set_value(0.5).run()
    next(b for b in at.button if b.label == "Make the dataset").click().run()
    assert not at.exception, [e.message for e in at.exception]
    archive = zipfile.ZipFile(io.BytesIO(downloads["mnist-dcgan_dataset-3-per-class_seed0.zip"]))
    manifest = json.loads(archive.read("mnist-dcgan_dataset-3-per-class_seed0/synthetic.json"))
    assert manifest["min_confidence"] == 0.5 and len(manifest["dropped_per_class"]) == 10
