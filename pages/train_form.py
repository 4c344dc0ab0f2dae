"""The training form: one widget per TrainConfig field, defaults from the preset and dataset, errors beside fields."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ganplay.augment import policy_choices
from ganplay.config import D_NORMS, DEVICES, LR_DECAYS, field_help, make_config
from ganplay.losses import LOSSES
from ganplay.models import ARCHS

CHOICES: dict[str, list[Any]] = {"arch": ARCHS.names(), "loss": LOSSES.names(), "device": list(DEVICES),
                                 "d_norm": list(D_NORMS), "lr_decay": list(LR_DECAYS), "channels": [0, 1, 3],
                                 "pac": [1, 2, 4], "augment": policy_choices()}
MAIN_FIELDS = ("arch", "loss", "conditional", "z_dim", "image_size", "batch_size", "lr_g", "lr_d", "betas",
               "d_steps", "steps", "seed", "device", "ema")
ADVANCED_FIELDS = ("channels", "ngf", "ndf", "mlp_hidden", "mlp_layers", "d_norm", "spectral_norm", "d_dropout",
                   "pac", "augment", "clusters", "info_codes", "info_weight", "gp_weight", "lr_decay", "ema_decay",
                   "log_every", "sample_every", "checkpoint_every", "eval_every", "num_samples", "data_dir")
FLOAT_FORMATS = {"lr_g": "%.1e", "lr_d": "%.1e", "ema_decay": "%.4f", "d_dropout": "%.2f", "gp_weight": "%.1f"}


def config_form_ui(preset: str | None, dataset: str, errors: dict[str, str]) -> tuple[dict[str, Any], str] | None:
    """Renders the form; on Start returns (field values, run name), else None."""
    defaults = make_config(preset, dataset=dataset).to_dict()
    scope = f"{preset}|{dataset}"  # new defaults when the preset or dataset changes
    helps = field_help()
    values: dict[str, Any] = {"dataset": dataset}
    with st.form("train_form", border=True):
        cols = st.columns(2)
        for i, name in enumerate(MAIN_FIELDS):
            with cols[i % 2]:
                values[name] = _field(name, defaults[name], helps[name], scope, errors)
        with st.expander("Advanced"):
            cols = st.columns(2)
            for i, name in enumerate(ADVANCED_FIELDS):
                with cols[i % 2]:
                    values[name] = _field(name, defaults[name], helps[name], scope, errors)
        run_name = st.text_input("Run name (optional)", key="run_name", help="letters, digits, '.', '_' or '-'")
        if "name" in errors:
            st.error(errors["name"])
        if st.form_submit_button("Start training", type="primary", width="stretch"):
            return values, run_name
    return None


def _field(name: str, default: Any, help: str, scope: str, errors: dict[str, str]) -> Any:
    key = f"cfg:{scope}:{name}"
    label = name.replace("_", " ")
    if name == "betas":
        b1, b2 = st.columns(2)
        beta1 = b1.number_input("beta1", value=float(default[0]), format="%.3f", key=f"{key}:1", help=help)
        beta2 = b2.number_input("beta2", value=float(default[1]), format="%.3f", key=f"{key}:2", help=help)
        value: Any = [beta1, beta2]
    elif isinstance(default, bool):
        value = st.checkbox(label, value=default, key=key, help=help)
    elif name in CHOICES:
        options = CHOICES[name]
        value = st.selectbox(label, options, index=options.index(default) if default in options else 0, key=key,
                             help=help)
    elif isinstance(default, int):
        value = int(st.number_input(label, value=default, step=1, key=key, help=help))
    elif isinstance(default, float):
        value = st.number_input(label, value=default, format=FLOAT_FORMATS.get(name, "%.4g"), key=key, help=help,
                                step=None)
    else:
        value = st.text_input(label, value=str(default), key=key, help=help)
    if name in errors:
        st.error(errors[name])
    return value
