"""Registries: names and facts declared without the builders' modules, builders imported on first use, and
mistakes (an unknown name, a second registration, facts given twice) said by name."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest

from ganplay.catalog import ARCHS, DATASETS, LOSSES
from ganplay.registry import Registry


def test_a_declared_builder_is_imported_from_its_module_when_first_asked_for(monkeypatch):
    registry: Registry = Registry("widget")
    registry.declare("gear", "ganplay_test_home", title="A gear")
    home = types.ModuleType("ganplay_test_home")
    imported = []

    def load(name):
        imported.append(name)
        registry.register("gear")(home)  # what the module's decorator does on import
        return home

    monkeypatch.setattr("importlib.import_module", load)
    assert registry.names() == ["gear"] and registry.info("gear") == {"title": "A gear"} and not imported
    assert registry.get("gear") is home and registry.get("gear") is home
    assert imported == ["ganplay_test_home"]  # once


def test_mistakes_are_said_by_name():
    registry: Registry = Registry("widget")
    registry.declare("gear", "nowhere.at.all", title="A gear")
    with pytest.raises(ValueError, match="unknown widget 'cog'; choose one of: gear"):
        registry.info("cog")
    with pytest.raises(ValueError, match="widget 'gear' is declared twice"):
        registry.declare("gear", "nowhere.at.all")
    with pytest.raises(ValueError, match="is declared with its facts in catalog.py"):
        registry.register("gear", title="Another")(object())
    registry.register("gear")(object())
    with pytest.raises(ValueError, match="widget 'gear' is registered twice"):
        registry.register("gear")(object())


def test_every_declared_name_has_its_builder():
    for registry in (DATASETS, ARCHS, LOSSES):
        for name in registry.names():
            assert registry.get(name) is not None and registry.info(name)["title"], name


def test_list_answers_without_importing_torch():
    code = "import sys\nfrom ganplay.cli import main\nmain(['list'])\nprint('torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "seed004-tanh" in out and "wgan-clip" in out and "mnist-bundled" in out
    assert out.strip().endswith("False")
