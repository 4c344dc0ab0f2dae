"""The Train page through AppTest: live field errors and the summary beside Start, fields by kind, words for
labels, the form kept across pages, "custom" presets, the run picker's state, starting and stopping a run."""

from __future__ import annotations

import base64
import io
import json
import time
from dataclasses import fields

from conftest import tiny_image_config, tiny_toy_config
from pagetest import live_panel, open_page, picker, texts
from PIL import Image

from ganplay.config import TrainConfig
from ganplay.run_state import RunState

TOY = "cfg:quick-cpu-demo|ring8:"
DIGITS = "cfg:mnist-quick|mnist-bundled:"


def start_button(at):
    return next(b for b in at.button if b.label == "Start training")


def test_a_bad_value_is_flagged_at_once_beside_its_field_and_beside_start(app_registry):
    at = open_page("pages/train.py")
    at.number_input(key=TOY + "batch_size").set_value(0).run()
    at.number_input(key=TOY + "lr_g").set_value(5.0).run()
    errors = [e.value for e in at.error]
    assert "batch_size must be between 1 and 4096, got 0" in errors
    assert "lr_g must be between 1e-08 and 1, got 5.0" in errors
    summary = next(e.value for e in at.error if e.value.startswith("Not ready to start"))
    assert "2 settings to fix (Batch size, Generator learning rate)" in summary
    assert start_button(at).disabled
    at.number_input(key=TOY + "batch_size").set_value(64).run()  # fixed: its message goes at once
    errors = [e.value for e in at.error]
    assert not any("batch_size" in e for e in errors) and any("1 setting to fix" in e for e in errors)
    at.number_input(key=TOY + "lr_g").set_value(2e-3).run()
    assert not at.error and not start_button(at).disabled
    assert app_registry.list_runs() == []


def test_fields_follow_the_kind_of_data_and_every_field_is_offered_somewhere(app_registry):
    at = open_page("pages/train.py")

    def offered(scope):
        widgets = [*at.selectbox, *at.number_input, *at.checkbox, *at.text_input]
        return {w.key.removeprefix(scope).split(":")[0] for w in widgets if w.key and w.key.startswith(scope)}

    toy = offered(TOY)
    assert not {"image_size", "channels", "augment", "clusters", "ngf", "ndf", "d_norm"} & toy
    assert {"mlp_hidden", "mlp_layers", "pac"} <= toy
    at.selectbox(key="preset").set_value("mnist-quick").run()
    digits = offered(DIGITS)
    assert {"image_size", "channels", "ngf", "ndf", "augment", "clusters"} <= digits
    assert not {"mlp_hidden", "mlp_layers", "gp_weight", "info_weight"} & digits
    at.selectbox(key=DIGITS + "loss").set_value("wgan-gp").run()
    at.number_input(key=DIGITS + "info_codes").set_value(4).run()
    assert {"gp_weight", "info_weight"} <= offered(DIGITS)
    gp = offered(DIGITS)
    at.selectbox(key=DIGITS + "loss").set_value("wgan-clip").run()
    at.selectbox(key=DIGITS + "optimizer").set_value("rmsprop").run()
    clip = offered(DIGITS)
    assert "weight_clip" in clip and not {"gp_weight", "betas"} & clip  # RMSprop has no betas
    every = {f.name for f in fields(TrainConfig)} - {"dataset"}  # the dataset has its own picker
    assert toy | gp | clip == every


def test_labels_are_words_and_help_names_the_field(app_registry):
    at = open_page("pages/train.py")
    box = at.number_input(key=TOY + "lr_g")
    assert box.label == "Generator learning rate" and "`lr_g`" in box.help and "--lr-g" in box.help
    assert at.number_input(key=TOY + "d_steps").label == "D updates per G update"
    assert at.selectbox(key="preset").value == "quick-cpu-demo"
    assert "8 Gaussians on a ring" in texts(at) and "mnist-quick" in at.selectbox(key="preset").help


def test_moving_to_the_digits_from_the_toy_demo_brings_the_fast_digit_recipe(app_registry):
    at = open_page("pages/train.py")
    at.selectbox(key="dataset_choice").set_value("mnist-bundled").run()
    assert at.selectbox(key="preset").value == "mnist-fast"
    fast = "cfg:mnist-fast|mnist-bundled:"
    assert at.number_input(key=fast + "steps").value == 15000 and at.checkbox(key=fast + "conditional").value
    assert at.selectbox(key=fast + "loss").value == "hinge" and "best digits per CPU minute" in texts(at)
    at.selectbox(key="preset").set_value("mnist-quick").run()  # a preset for the digits stays
    at.selectbox(key="dataset_choice").set_value("ring8").run()
    at.selectbox(key="dataset_choice").set_value("mnist-bundled").run()
    assert at.selectbox(key="preset").value == "mnist-quick"
    at.selectbox(key="preset").set_value(None).run()  # and so does "none (defaults for the dataset)"
    at.selectbox(key="dataset_choice").set_value("ring8").run()
    at.selectbox(key="dataset_choice").set_value("mnist-bundled").run()
    assert at.selectbox(key="preset").value is None


def test_the_form_survives_a_visit_to_another_page_and_says_custom(app_registry):
    at = open_page("pages/train.py")
    assert "custom" not in texts(at)
    at.number_input(key=TOY + "steps").set_value(1234).run()
    assert "**custom**: quick-cpu-demo with Training steps changed" in texts(at)
    at.switch_page("pages/samples.py").run()
    at.switch_page("pages/train.py").run()
    assert at.number_input(key=TOY + "steps").value == 1234
    assert at.selectbox(key="preset").value == "quick-cpu-demo"
    at.selectbox(key="preset").set_value("mnist-quick").run()
    at.switch_page("pages/runs.py").run()
    at.switch_page("pages/train.py").run()
    assert at.selectbox(key="preset").value == "mnist-quick"
    assert at.selectbox(key="dataset_choice").value == "mnist-bundled"


def test_a_missing_image_folder_is_named_and_blocks_start(app_registry):
    at = open_page("pages/train.py")
    at.selectbox(key="dataset_choice").set_value("an image folder on this machine").run()
    at.text_input(key="folder_path").set_value("/no/such/folder").run()
    assert any("does not exist" in e.value for e in at.error)
    assert start_button(at).disabled and any("(Dataset)" in e.value for e in at.error)
    at.text_input(key="folder_path").set_value("~nosuchuser/x").run()  # was a RuntimeError box
    assert not at.exception and any("there is no such user" in e.value for e in at.error)
    assert app_registry.list_runs() == []


def test_a_taken_name_is_refused_beside_start(app_registry):
    app_registry.start(tiny_toy_config(steps=2), name="taken").wait(60)
    at = open_page("pages/train.py")
    at.text_input(key="run_name").set_value("taken").run()
    start_button(at).click().run()
    assert any(e.value.startswith("Not started: a run named 'taken' already exists") for e in at.error)
    at.text_input(key="run_name").set_value("fresh").run()
    assert not any(e.value.startswith("Not started") for e in at.error)


def test_starting_a_toy_run_from_the_form(app_registry):
    at = open_page("pages/train.py")
    at.number_input(key=TOY + "steps").set_value(100_000).run()
    assert at.selectbox(key=TOY + "precision").options == ["auto", "fp32", "bf16"]
    at.selectbox(key=TOY + "precision").set_value("bf16").run()
    at.text_input(key="run_name").set_value("fromform").run()
    start_button(at).click().run()
    assert not at.exception
    run = app_registry.get("fromform")
    assert run is not None
    deadline = time.monotonic() + 60
    while run.snapshot().step == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert run.snapshot().step > 0
    at.run()  # the watch panel now shows it
    assert any(line.startswith("**running**") for line in texts(at).splitlines())
    assert picker(at, "Run").format_func("fromform") == "fromform (running)"
    next(b for b in at.button if b.label == "Stop").click().run()
    assert run.wait(30)
    assert run.snapshot().state == RunState.STOPPED
    config = json.loads((app_registry.root / "fromform" / "config.json").read_text())
    assert config["dataset"] == "ring8" and config["steps"] == 100_000 and config["precision"] == "bf16"


def test_the_run_picker_shows_the_state_it_has_now(app_registry):
    """A keyed select box keeps its old label when only the label changes: the picker must not lag a state."""
    run = app_registry.start(tiny_toy_config(steps=1_000_000), name="watched")
    at = open_page("pages/train.py")
    deadline = time.monotonic() + 60
    while run.state != RunState.RUNNING and time.monotonic() < deadline:
        time.sleep(0.05)
    at.run()
    first = picker(at, "Run")
    assert first.format_func("watched") == "watched (running)"
    run.pause()
    while run.state != RunState.PAUSED and time.monotonic() < deadline:
        time.sleep(0.05)
    at.run()
    second = picker(at, "Run")
    assert second.key != first.key and second.value == "watched"  # a new widget for the new label
    assert second.format_func("watched") == "watched (paused)"
    assert "images/s" not in texts(at) and "ETA" not in texts(at)  # a paused run has no speed


def test_a_finished_run_shows_no_speed_and_a_verdict_beside_its_score(app_registry):
    app_registry.start(tiny_image_config(steps=4, conditional=True, eval_every=2), name="digits").wait(60)
    at = open_page("pages/train.py")
    shown = texts(at)
    assert "**finished** · step 4 / 4" in shown and "images/s" not in shown
    assert "x the floor: " in shown and "best.pt holds step" in shown
    assert "How to read these curves (nsgan)" in [e.label for e in at.expander]
    panel = live_panel(at)
    alts = [panel[slot]["alt"] for slot in ("samples", "loss", "quality", "d")]
    assert alts == [
        "fixed-noise samples at step 4",
        "losses up to step 4",
        "Live FD (lower is better) up to step 4",
        "D(x) and D(G(z)) up to step 4",
    ]
    for slot in ("samples", "loss", "quality", "d"):  # real pictures, the samples as saved at step 4
        picture = Image.open(io.BytesIO(base64.b64decode(panel[slot]["src"].removeprefix("data:image/png;base64,"))))
        assert min(picture.size) >= 90  # the tiny run's 3x3 grid of 28 px digits and 420 px charts
    assert "best.pt" in panel["summary"] and panel["verdict_help"] and panel["progress"] == 1.0
    assert not at.get("plotly_chart") and len(at.get("image")) == 1  # pictures; the time-lapse's is apart
    at.toggle(key="live_interactive").set_value(True).run()
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert not at.exception and len(at.get("image")) == 2 and titles[0] == "Losses" and titles[2] == "D(x) and D(G(z))"
    assert live_panel(at) is None and "**finished** · step 4 / 4" in texts(at)


def test_a_toy_run_whose_score_is_the_worst_keeps_no_best(app_registry):
    """A 2-step ring8 run reaches no cluster (mode score 0): it is no best model, and the page says so."""
    run = app_registry.start(tiny_toy_config(steps=2, eval_every=2), name="young")
    assert run.wait(60)
    snap = run.snapshot()
    assert snap.evals and snap.evals[-1]["mode_score"] == 0 and snap.best is None
    assert not (app_registry.root / "young" / "best.pt").exists()
    at = open_page("pages/train.py")
    assert "no best.pt yet" in texts(at) and "no cluster reached yet" in texts(at)


def test_a_run_killed_before_its_first_checkpoint_offers_to_start_again(app_registry):
    folder = app_registry.root / "early"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(tiny_toy_config(steps=6).to_json())
    (folder / "status.json").write_text(
        json.dumps(
            {"state": "running", "step": 0, "total_steps": 6, "pid": -1, "created_at": "2026-12-02T00:00:00+00:00"}
        )
    )
    at = open_page("pages/train.py")
    assert "**interrupted** · step 0 / 6" in texts(at)
    again = next(b for b in at.button if b.label == "Start again from step 0")
    again.click().run()
    run = app_registry.get("early")
    assert run is not None and run.restarted and run.wait(60)
    assert run.snapshot().state == RunState.FINISHED
