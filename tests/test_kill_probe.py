"""kill -9 during training, then resume: scripts/kill_probe.py in a 2-kill form on 2-D data (the closing note runs 20)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "kill_probe.py"


def _probe_module():
    spec = importlib.util.spec_from_file_location("kill_probe", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


def test_kills_at_random_and_mid_write_each_resume_to_the_end_with_loading_checkpoints(tmp_path):
    probe = _probe_module()
    rounds = probe.probe(tmp_path, kills=2, seed=1, data="toy")
    assert any("checkpoint write" in r.how for r in rounds)  # one kill at least lands mid-write
    for r in rounds:
        assert r.resumed and r.final_step == probe.STEPS, r
        assert r.checkpoints_load and r.stray_temporaries == [], r
