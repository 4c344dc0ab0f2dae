"""The training form: one widget per TrainConfig field, labelled in words, checked as it changes, kept per session.

The form is not an st.form: every change reruns the page, so a field's error appears beside it as soon as its
value is wrong and goes away as soon as it is right, and the summary beside Start is always current.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from ganplay.augment import policy_choices
from ganplay.config import D_NORMS, DEVICES, LR_DECAYS, OPTIMIZERS, PRECISIONS, ConfigError, field_help
from ganplay.losses import LOSSES
from ganplay.models import ARCHS
from ganplay.presets import make_config

CHOICES: dict[str, list[Any]] = {
    "arch": ARCHS.names(),
    "loss": LOSSES.names(),
    "device": list(DEVICES),
    "precision": list(PRECISIONS),
    "d_norm": list(D_NORMS),
    "lr_decay": list(LR_DECAYS),
    "optimizer": list(OPTIMIZERS),
    "channels": [0, 1, 3],
    "pac": [1, 2, 4],
    "augment": policy_choices(),
}
MAIN_FIELDS = (
    "arch",
    "loss",
    "conditional",
    "z_dim",
    "image_size",
    "batch_size",
    "optimizer",
    "lr_g",
    "lr_d",
    "betas",
    "d_steps",
    "steps",
    "seed",
    "device",
    "precision",
    "ema",
)
ADVANCED_FIELDS = (
    "channels",
    "ngf",
    "ndf",
    "mlp_hidden",
    "mlp_layers",
    "d_norm",
    "spectral_norm",
    "d_dropout",
    "pac",
    "augment",
    "clusters",
    "info_codes",
    "info_weight",
    "gp_weight",
    "weight_clip",
    "lr_decay",
    "ema_decay",
    "log_every",
    "sample_every",
    "checkpoint_every",
    "eval_every",
    "num_samples",
    "data_dir",
)
FLOAT_FORMATS = {"lr_g": "%.1e", "lr_d": "%.1e", "ema_decay": "%.4f", "d_dropout": "%.2f", "gp_weight": "%.1f"}
LABELS = {
    "dataset": "Dataset",
    "config": "Settings",
    "arch": "Architecture",
    "loss": "Loss",
    "conditional": "Class-conditional",
    "z_dim": "Noise size (z)",
    "image_size": "Image size (pixels)",
    "batch_size": "Batch size",
    "lr_g": "Generator learning rate",
    "lr_d": "Discriminator learning rate",
    "betas": "Adam beta",
    "d_steps": "D updates per G update",
    "steps": "Training steps",
    "seed": "Random seed",
    "device": "Device",
    "precision": "Precision",
    "ema": "Averaged G (EMA)",
    "channels": "Colour channels",
    "ngf": "Generator width",
    "ndf": "Discriminator width",
    "mlp_hidden": "Hidden units per layer",
    "mlp_layers": "Hidden layers",
    "d_norm": "Normalisation in D",
    "spectral_norm": "Spectral normalisation in D",
    "d_dropout": "Dropout in D",
    "pac": "Samples D judges together",
    "augment": "Augment what D sees",
    "clusters": "Self-condition on clusters",
    "info_codes": "InfoGAN code values",
    "info_weight": "InfoGAN code loss weight",
    "gp_weight": "Gradient penalty weight",
    "weight_clip": "Critic weight clip (c)",
    "optimizer": "Optimizer",
    "lr_decay": "Learning-rate schedule",
    "ema_decay": "EMA decay per step",
    "log_every": "Steps between metric points",
    "sample_every": "Steps between sample snapshots",
    "checkpoint_every": "Steps between checkpoints",
    "eval_every": "Steps between quality scores",
    "num_samples": "Samples per snapshot",
    "data_dir": "Data folder",
}
CHOICE_WORDS = {"channels": {0: "the dataset's own", 1: "1 (grey)", 3: "3 (colour)"}}
KEPT = "_kept_form"  # widget values outlive a visit to another page, which makes Streamlit forget them


@dataclass
class FormState:
    values: dict[str, Any]  # every TrainConfig field
    errors: dict[str, str]  # field -> message, for the values as they stand
    changed: list[str]  # fields that differ from the preset's (or the dataset's) defaults


def applies(name: str, kind: str, values: dict[str, Any]) -> bool:
    """Whether a field means anything for this kind of data and the choices made so far."""
    if kind == "toy" and name in ("image_size", "channels", "augment", "clusters"):
        return False
    if name in ("ngf", "ndf", "d_norm"):
        return values.get("arch") == "dcgan"
    if name in ("mlp_hidden", "mlp_layers"):
        return values.get("arch") == "mlp"
    if name == "gp_weight":
        return values.get("loss") == "wgan-gp"
    if name == "weight_clip":
        return values.get("loss") == "wgan-clip"
    if name == "betas":
        return values.get("optimizer") == "adam"  # RMSprop has no betas
    if name == "info_weight":
        return bool(values.get("info_codes"))
    if name == "ema_decay":
        return bool(values.get("ema"))
    return True


def config_form_ui(preset: str | None, dataset: str, kind: str) -> FormState:
    """Draws the fields with their errors beside them; returns what they hold now."""
    defaults = make_config(preset, dataset=dataset).to_dict()
    scope = f"{preset}|{dataset}"  # new defaults when the preset or dataset changes
    helps = field_help()
    values: dict[str, Any] = {"dataset": dataset}
    slots: dict[str, Any] = {}
    for group in (MAIN_FIELDS, ADVANCED_FIELDS):
        box = st.container() if group is MAIN_FIELDS else st.expander("Advanced")
        with box:
            cols = st.columns(2)
            shown = 0
            for name in group:
                if not applies(name, kind, {**defaults, **values}):  # fields above decide (arch, loss...)
                    values[name] = defaults[name]  # hidden fields keep their defaults
                    continue
                with cols[shown % 2]:
                    values[name] = _field(name, defaults[name], helps[name], scope)
                    slots[name] = st.empty()
                shown += 1
    errors = _errors(preset, values)
    for name, slot in slots.items():
        if name in errors:
            slot.error(errors[name])
    changed = [k for k in values if k != "dataset" and _differs(values[k], defaults[k])]
    return FormState(values, errors, changed)


def _errors(preset: str | None, values: dict[str, Any]) -> dict[str, str]:
    try:
        return make_config(preset, **values).errors()
    except ConfigError as err:
        return err.errors


def _differs(a: Any, b: Any) -> bool:
    return list(a) != list(b) if isinstance(a, (list, tuple)) else a != b


def keep(key: str, default: Any) -> str:
    """Restore a widget's value from the session's copy (or set its default) before the widget is drawn."""
    kept = st.session_state.setdefault(KEPT, {})
    if key not in st.session_state:
        st.session_state[key] = kept.get(key, default)
    return key


def remember(key: str) -> None:
    st.session_state.setdefault(KEPT, {})[key] = st.session_state[key]


def _field(name: str, default: Any, help: str, scope: str) -> Any:
    key = f"cfg:{scope}:{name}"
    label = LABELS.get(name, name.replace("_", " "))
    help = f"{help}\n\nField `{name}` in config.json; on the command line `--{name.replace('_', '-')}`."
    if name == "betas":
        b1, b2 = st.columns(2)
        beta1 = b1.number_input("Adam beta1", format="%.3f", key=keep(f"{key}:1", float(default[0])), help=help)
        beta2 = b2.number_input("Adam beta2", format="%.3f", key=keep(f"{key}:2", float(default[1])), help=help)
        remember(f"{key}:1")
        remember(f"{key}:2")
        return [beta1, beta2]
    keep(key, default)
    if isinstance(default, bool):
        value = st.checkbox(label, key=key, help=help)
    elif name in CHOICES:
        options = CHOICES[name]
        if st.session_state[key] not in options:
            st.session_state[key] = options[0]
        words = CHOICE_WORDS.get(name, {})
        value = st.selectbox(label, options, key=key, help=help, format_func=lambda o: words.get(o, str(o)))
    elif isinstance(default, int):
        value = int(st.number_input(label, step=1, key=key, help=help))
    elif isinstance(default, float):
        value = st.number_input(label, format=FLOAT_FORMATS.get(name, "%.4g"), key=key, help=help, step=None)
    else:
        value = st.text_input(label, key=key, help=help)
    remember(key)
    return value
