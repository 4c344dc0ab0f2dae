"""Config values of the wrong type: a message per field, never another exception (property-based)."""

from __future__ import annotations

import json
from dataclasses import fields

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ganplay.cli import main
from ganplay.config import ConfigError, TrainConfig
from ganplay.presets import make_config

NAMES = [f.name for f in fields(TrainConfig)]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=2),
    max_leaves=6,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(NAMES), JSON_VALUES, max_size=5))
def test_any_json_values_give_config_errors_and_nothing_else(values):
    try:
        make_config(**values).validated()
    except ConfigError as err:
        assert err.errors and all(isinstance(m, str) and len(m) < 2000 for m in err.errors.values())


@pytest.mark.parametrize(
    "values, field, says",
    [
        ({"dataset": None}, "dataset", "dataset must be text, got None"),
        ({"betas": 5}, "betas", "betas must be two numbers, got 5"),
        ({"augment": 0}, "augment", "augment must be text, got 0"),
        ({"loss": ["nsgan"]}, "loss", "loss must be text, got ['nsgan']"),
        ({"conditional": "false"}, "conditional", "conditional must be true or false, got 'false'"),
        ({"ema": "no"}, "ema", "ema must be true or false, got 'no'"),
        ({"pac": 2.0}, "pac", "pac must be an integer, got 2.0"),
        ({"dataset": "x" * 50_000_000}, "dataset", "dataset is 50,000,000 characters long; at most 4,096"),
    ],
)
def test_each_wrong_type_is_named_beside_its_field(values, field, says):
    with pytest.raises(ConfigError) as caught:
        make_config(**values).validated()
    assert caught.value.errors[field] == says


def test_train_config_files_with_wrong_types_or_deep_nesting_are_refused(tmp_path, capsys):
    for name, text, says in (
        ("types.json", json.dumps({"conditional": "false", "pac": 2.0}), "conditional must be true or false"),
        ("deep.json", "[" * 200_000 + "]" * 200_000, "deep.json: not a config: its JSON is nested too deeply"),
        ("huge.json", json.dumps({"data_dir": "d" * 1_000_000}), "data_dir is 1,000,000 characters long"),
    ):
        (tmp_path / name).write_text(text)
        assert main(["train", "--config", str(tmp_path / name), "--runs-dir", str(tmp_path / "runs")]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and says in err and len(err) < 2000, err[:200]
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
