"""A damaged run folder shows as damaged, says what is wrong, and never hides the other runs."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import tiny_toy_config
from pagetest import PAGES, open_page, picker

from ganplay.cli import main
from ganplay.run_state import RunState

# name: (file, how it is damaged, what the message must say)
DAMAGE = {
    "bogus-state": ("status.json", lambda d: {**d, "state": "bogus"}, "state 'bogus' is not one of"),
    "number-date": ("status.json", lambda d: {**d, "created_at": 5}, "created_at 5 is not text"),
    "null-total": ("status.json", lambda d: {**d, "total_steps": None}, "total_steps None is not a whole number"),
    "number-error": ("status.json", lambda d: {**d, "error": 5}, "error 5 is not text"),
    "text-step": ("status.json", lambda d: {**d, "step": "x"}, "step 'x' is not a whole number"),
    "text-steps": ("config.json", lambda d: {**d, "steps": "abc"}, "config.json: steps 'abc' is not int"),
    "list-status": ("status.json", lambda d: [1, 2], "status.json holds list, not a JSON object"),
}


@pytest.fixture
def damaged(app_registry):
    assert app_registry.start(tiny_toy_config(steps=4), name="good").wait(60)
    good = app_registry.root / "good"
    for name, (file, damage, _) in DAMAGE.items():
        folder = app_registry.root / name
        shutil.copytree(good, folder)
        data = json.loads((folder / file).read_text())
        (folder / file).write_text(json.dumps(damage(data)))
    lines = (good / "metrics.jsonl").read_text().splitlines()
    for name, bad_line in (("number-row", "5"), ("no-loss-g", json.dumps({"step": 9, "loss_d": 1.0}))):
        shutil.copytree(good, app_registry.root / name)
        (app_registry.root / name / "metrics.jsonl").write_text("\n".join([lines[0], bad_line, *lines[1:]]) + "\n")
    status = json.loads((good / "status.json").read_text())
    shutil.copytree(good, app_registry.root / "huge-pid")
    (app_registry.root / "huge-pid" / "status.json").write_text(
        json.dumps({**status, "state": "running", "pid": 2**70})
    )
    return app_registry


def test_every_damaged_folder_lists_as_damaged_with_what_is_wrong(damaged):
    snaps = {s.name: s for s in damaged.list_runs()}
    assert set(snaps) == {"good", "huge-pid", "number-row", "no-loss-g", *DAMAGE}
    assert snaps["good"].state == RunState.FINISHED and not snaps["good"].error
    assert snaps["huge-pid"].state == RunState.INTERRUPTED  # no process can have that pid
    for name, (_, _, says) in DAMAGE.items():
        assert snaps[name].state == RunState.DAMAGED and says in snaps[name].error, (name, snaps[name].error)
        assert str(damaged.root / name) in snaps[name].error  # the message names the folder
    assert "metrics.jsonl line 2: 5 is not a row of values" in snaps["number-row"].error
    assert "metrics.jsonl line 2: no loss_g" in snaps["no-loss-g"].error
    assert [row["step"] for row in snaps["no-loss-g"].history] == [row["step"] for row in snaps["good"].history]


def test_a_cut_short_last_line_is_no_damage(app_registry):
    assert app_registry.start(tiny_toy_config(steps=4), name="cut").wait(60)
    with open(app_registry.root / "cut" / "metrics.jsonl", "a") as handle:
        handle.write('{"step": 5, "loss_d"')  # a crash in mid-write
    snap = app_registry.list_runs()[0]
    assert snap.state == RunState.FINISHED and not snap.error


@pytest.mark.parametrize("page", [None, *PAGES])
def test_every_page_renders_beside_damaged_runs(damaged, page):
    at = open_page(page)
    if page == "pages/runs.py":
        table = at.dataframe[0].value
        assert len(table) == len(DAMAGE) + 4
        assert set(table.loc[table["name"].isin(list(DAMAGE)), "status"]) == {"damaged"}


def test_the_cli_lists_every_run_and_says_what_is_damaged(damaged, capsys):
    assert main(["runs", "--runs-dir", str(damaged.root)]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in [*DAMAGE, "good", "huge-pid"])
    assert "state 'bogus' is not one of" in out


def test_text_from_files_is_shown_as_text_not_markdown(app_registry):
    """A hostile title in a checkpoint and a run folder named like a link must not become an image or a link."""
    import torch

    from pages.common import plain, run_status_line

    assert app_registry.start(tiny_toy_config(steps=2), name="hostile").wait(60)
    path = app_registry.root / "hostile" / "checkpoint.pt"
    payload = torch.load(path, weights_only=True)
    payload["data"]["title"] = "![t](http://127.0.0.1:9/x.png) [clickme](javascript:alert(1))"
    torch.save(payload, path)
    linked = app_registry.root / "[clickme](javascript:alert(1))"
    shutil.copytree(app_registry.root / "hostile", linked)
    at = open_page("pages/samples.py")
    picker(at, "Model").set_value("run: hostile").run()
    caption = next(c.value for c in at.caption if "clickme" in c.value)
    assert "![t](" not in caption and "\\!\\[t\\]\\(http\\:" in caption and "](javascript" not in caption
    at = open_page("pages/runs.py")
    at.selectbox(key="runs_manage").set_value(linked.name).run()
    assert not any("](javascript" in h.value for h in at.subheader)
    assert "](javascript" not in run_status_line(next(s for s in app_registry.list_runs() if s.name == linked.name))
    assert plain("a_b *c*") == "a\\_b \\*c\\*"
