"""The shared sidebar, drawn once by ``app.py``: widgets -> :class:`AppConfig`, kept in the URL.

On a session's first run the query string fills the widgets (so a link reproduces a view); on every
run the config is written back to the query string. Picking a preset (or its length or seed) fills the
sequence box; editing the box makes its text the input at once; a CSV upload fills the box too.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

import streamlit as st

from lstmviz import SequenceError
from lstmviz.model import CELLS, INITS
from lstmviz.sequences import MAX_STEPS, PRESETS

from .config import (
    FORGET_BIAS_RANGE,
    MAX_HIDDEN,
    MAX_LAYERS,
    MAX_LINK_TEXT,
    PRESET_CHOICES,
    SCALE_RANGE,
    TEXT_PRESET,
    AppConfig,
    from_query,
    preset_text,
    text_in_link,
    to_query,
)
from .csv_input import MAX_CSV_BYTES, csv_text
from .models import ActiveModels, active_models, clear_models

CONFIG_KEY = "app_config"
_READY = "w_ready"
RANDOM_PRESETS = ("noise", "adding", "copy", "temporal_order")
_CELL_LABELS = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}
_MODE_LABELS = {"numbers": "Numbers", "text": "Characters (one-hot)"}
_LOSS_LABELS = {"last": "last step", "all": "all steps"}
_GRU_LABELS = {"pytorch": "PyTorch", "tutorial": "tutorial"}
_SCALAR_KEYS = {  # config field -> widget key
    "preset": "w_preset",
    "preset_length": "w_length",
    "preset_seed": "w_pseed",
    "edited": "w_edited",
    "mode": "w_mode",
    "text": "w_text",
    "gru_variant": "w_gru_variant",
    "hidden_size": "w_hidden",
    "num_layers": "w_layers",
    "bidirectional": "w_bidir",
    "seed": "w_seed",
    "init": "w_init",
    "recurrent_scale": "w_scale",
    "forget_bias": "w_fbias",
    "loss": "w_loss",
}


def draw_sidebar() -> AppConfig:
    """Draw the sidebar and return the config it describes (also kept in session state)."""
    state = st.session_state
    if _READY not in state:
        _load_link()
    models = active_models()
    with st.sidebar:
        for problem in state.pop("w_link_problems", []):
            st.warning(f"Link: {problem}")
        if models is not None:
            st.info(f"Showing: **{models.label}**")
            st.button("Back to fresh cells", on_click=clear_models, width="stretch")
        _sequence_widgets()
        _cell_widgets(models)
        _model_widgets(disabled=models is not None)
        config = _config(models)
        _share(config, models)
    _sync_query(config)
    state[CONFIG_KEY] = config
    return config


def _load_link() -> None:
    config, problems = from_query(st.query_params.to_dict())
    _set_widgets(config)
    st.session_state["w_link_problems"] = problems
    st.session_state[_READY] = True


def _set_widgets(config: AppConfig) -> None:
    state = st.session_state
    for name, key in _SCALAR_KEYS.items():
        state[key] = getattr(config, name)
    state["w_cells"] = list(config.cells)


def _fill_from_preset() -> None:
    state = st.session_state
    state["w_mode"], state["w_text"] = preset_text(state["w_preset"], state["w_length"], state["w_pseed"])
    state["w_edited"] = False
    state.pop("w_csv_error", None)


def _mark_edited() -> None:
    st.session_state["w_edited"] = True


def _load_csv() -> None:
    state = st.session_state
    upload = state.get("w_csv")
    state.pop("w_csv_error", None)
    if upload is None:
        return
    try:
        if upload.size > MAX_CSV_BYTES:  # refused before reading a byte of it
            raise SequenceError(
                f"{upload.name} has {upload.size / 1e6:.1f} MB; CSV files up to "
                f"{MAX_CSV_BYTES / 1e6:g} MB are read"
            )
        text = csv_text(upload.getvalue())
    except SequenceError as error:
        state["w_csv_error"] = f"{upload.name}: {error}"
        return
    state["w_text"], state["w_mode"], state["w_edited"] = text, "numbers", True


def _sequence_widgets() -> None:
    state = st.session_state
    st.header("Sequence")
    st.selectbox(
        "Preset",
        PRESET_CHOICES,
        key="w_preset",
        on_change=_fill_from_preset,
        format_func=lambda name: name.replace("_", " ") if name in PRESETS else f"text: {name}",
        help="Picking a preset fills the box below with its values.",
    )
    name = state["w_preset"]
    st.caption(PRESETS.get(name, "the tutorials' worked example: 3 characters, one step each"))
    left, right = st.columns([3, 2])
    left.slider(
        "Length", 2, MAX_STEPS, key="w_length", on_change=_fill_from_preset, disabled=name not in PRESETS
    )
    right.number_input(
        "Preset seed",
        0,
        2**31 - 1,
        step=1,
        key="w_pseed",
        on_change=_fill_from_preset,
        disabled=name not in RANDOM_PRESETS,
    )
    st.segmented_control(
        "Read the box as",
        tuple(_MODE_LABELS),
        format_func=_MODE_LABELS.get,
        required=True,
        key="w_mode",
        on_change=_mark_edited,
    )
    st.text_area(
        "Sequence (this is the input)",
        key="w_text",
        on_change=_mark_edited,
        height=110,
        help="Numbers: `0.5, -1, 2` is 3 steps of 1 feature; `1 0; 0 1` (rows split by `;` or new "
        "lines) is 2 steps of 2 features. Characters: every character is one step, one-hot over the "
        f"distinct characters (try {TEXT_PRESET}).",
    )
    if state["w_edited"]:
        st.caption("Edited: the box is the input (the preset no longer applies).")
    st.file_uploader(
        "Or upload a CSV (rows = steps, columns = features)",
        type=["csv", "txt"],
        key="w_csv",
        on_change=_load_csv,
        max_upload_size=2,
        help=f"Plain numbers, up to {MAX_CSV_BYTES / 1e6:g} MB; a header row is skipped.",
    )
    if "w_csv_error" in state:
        st.error(state["w_csv_error"])


def _cell_widgets(models: ActiveModels | None) -> None:
    st.header("Cells")
    available = CELLS if models is None else tuple(c for c in CELLS if c in models.models)
    state = st.session_state
    state["w_cells"] = [c for c in state["w_cells"] if c in available]
    st.pills(
        "Cells to show",
        available,
        selection_mode="multi",
        format_func=_CELL_LABELS.get,
        key="w_cells",
        help="Every page shows the enabled cells side by side, on the same input.",
    )
    st.segmented_control(
        "GRU convention",
        tuple(_GRU_LABELS),
        format_func=_GRU_LABELS.get,
        required=True,
        key="w_gru_variant",
        disabled=models is not None,
        help="PyTorch: n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h = (1−z) ⊙ n + z ⊙ h_prev "
        "(z keeps the OLD state). Tutorial (Cho et al. 2014): reset before the product and "
        "h = (1−z) ⊙ h_prev + z ⊙ h̃ (z takes the NEW content).",
    )


def _model_widgets(disabled: bool) -> None:
    st.header("Model")
    if disabled:
        st.caption("Sizes and weights come from the supplied models.")
    left, right = st.columns(2)
    left.number_input("Hidden size", 1, MAX_HIDDEN, step=1, key="w_hidden", disabled=disabled)
    right.number_input("Layers", 1, MAX_LAYERS, step=1, key="w_layers", disabled=disabled)
    left.number_input("Seed", 0, 2**31 - 1, step=1, key="w_seed", disabled=disabled)
    right.selectbox("Initialisation", INITS, key="w_init", disabled=disabled)
    st.toggle("Bidirectional", key="w_bidir", disabled=disabled)
    st.slider(
        "Recurrent scale (× every W_hh)",
        *SCALE_RANGE,
        step=0.05,
        key="w_scale",
        disabled=disabled,
        help="Above 1 the RNN's largest singular value can pass 1/γ: gradients may explode.",
    )
    st.slider(
        "LSTM forget-gate bias",
        *FORGET_BIAS_RANGE,
        step=0.5,
        key="w_fbias",
        disabled=disabled,
        help="Added to b_if: f = σ(… + bias) starts near 1, so the cell state (and its gradient) "
        "is carried further.",
    )
    st.segmented_control(
        "Loss L",
        tuple(_LOSS_LABELS),
        format_func=_LOSS_LABELS.get,
        required=True,
        key="w_loss",
        help="last step: L = Σ output[T]; all steps: L = Σ_t Σ output[t].",
    )


def _config(models: ActiveModels | None) -> AppConfig:
    state = st.session_state
    values = {name: state[key] for name, key in _SCALAR_KEYS.items()}
    cells = tuple(c for c in CELLS if c in state["w_cells"] and (models is None or c in models.models))
    config = AppConfig(**values, cells=cells, models_key="" if models is None else models.key)
    return replace(
        config,
        preset_length=int(config.preset_length),
        preset_seed=int(config.preset_seed),
        hidden_size=int(config.hidden_size),
        num_layers=int(config.num_layers),
        seed=int(config.seed),
        recurrent_scale=float(config.recurrent_scale),
        forget_bias=float(config.forget_bias),
    )


def _share(config: AppConfig, models: ActiveModels | None) -> None:
    with st.expander("Share this view"):
        query = urlencode(to_query(config))
        st.code(f"{st.context.url or ''}?{query}", language=None, wrap_lines=True)
        st.caption("Copy the link: opening it restores every setting above.")
        if config.edited and not text_in_link(config):
            st.caption(
                f"The sequence is longer than {MAX_LINK_TEXT:,} characters, so the link restores "
                f"the preset {config.preset!r} instead of the typed text."
            )
        if models is not None:
            st.caption("Links cannot carry supplied models: they open fresh cells.")


def _sync_query(config: AppConfig) -> None:
    wanted = to_query(config)
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)
