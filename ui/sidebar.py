"""The shared sidebar, drawn once by ``app.py``: widgets -> :class:`AppConfig`, kept in the URL.

On a session's first run the query string fills the widgets (so a link reproduces a view); on every
run the config is written back to the query string. Picking a preset (or its length or seed) fills the
sequence box; editing the box makes its text the input at once; a CSV upload fills the box too.
Other pages never write these widgets: they hand a whole config over with :func:`hand_over`, which
the sidebar applies at the start of the next run.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

import streamlit as st

from lstmviz import CELL_NAMES, ModelSettings, SequenceError
from lstmviz.cells import REGISTRY
from lstmviz.limits import (
    FORGET_BIAS_RANGE,
    MAX_CSV_BYTES,
    MAX_HIDDEN,
    MAX_LAYERS,
    MAX_SEED,
    MAX_STEPS,
    RECURRENT_SCALE_RANGE,
)
from lstmviz.model import INITS
from lstmviz.sequences import PRESETS

from .config import (
    CONFIG_KEYS,
    MAX_LINK_TEXT,
    PRESET_CHOICES,
    TEXT_PRESET,
    AppConfig,
    from_query,
    preset_text,
    text_in_link,
    to_query,
)
from .csv_input import csv_text_with_notes
from .models import LoadedModels, clear_models, loaded_models
from .safe_text import plain

CONFIG_KEY = "app_config"
_READY = "w_ready"
_PENDING = "w_pending_config"
_INTERVENTIONS = "w_interventions"  # the What-if lab's clamps (no widget of their own here)
RANDOM_PRESETS = ("noise", "adding", "copy", "temporal_order")
_MODE_LABELS = {"numbers": "Numbers", "text": "Characters (one-hot)"}
_LOSS_LABELS = {"last": "last step", "all": "all steps"}
_GRU_LABELS = {"pytorch": "PyTorch", "tutorial": "tutorial"}
_SEQUENCE_KEYS = {  # config field -> widget key
    "preset": "w_preset",
    "preset_length": "w_length",
    "preset_seed": "w_pseed",
    "edited": "w_edited",
    "mode": "w_mode",
    "text": "w_text",
    "loss": "w_loss",
}
_MODEL_KEYS = {  # ModelSettings field -> widget key
    "hidden_size": "w_hidden",
    "num_layers": "w_layers",
    "bidirectional": "w_bidir",
    "bias": "w_bias",
    "proj_size": "w_proj",
    "nonlinearity": "w_nonlinearity",
    "gru_variant": "w_gru_variant",
    "init": "w_init",
    "recurrent_scale": "w_scale",
    "forget_bias": "w_fbias",
    "seed": "w_seed",
}


def hand_over(config: AppConfig) -> None:
    """Make ``config`` the sidebar's settings from the next run on (callbacks and pages call this)."""
    st.session_state[_PENDING] = config


SECTIONS = ("sequence", "cells", "model")


def draw_sidebar(visible: tuple[str, ...] = SECTIONS) -> AppConfig:
    """Draw the sidebar and return the config it describes (also kept in session state).

    Sections not in ``visible`` (a lesson hides what it does not need) go into a closed expander:
    their widgets keep their state and their place in the config.
    """
    state = st.session_state
    if _READY not in state:
        _load_link()
    if _PENDING in state:
        _set_widgets(state.pop(_PENDING))
    loaded = loaded_models()
    with st.sidebar:
        for problem in state.pop("w_link_problems", []):
            st.warning(plain(f"Link: {problem}"))
        if loaded is not None:
            st.info(plain(f"Loaded: {loaded.label}. {loaded.describe()}."))
            st.button("Back to fresh cells", on_click=clear_models, width="stretch")
        if state.get(_INTERVENTIONS):
            st.warning(f"{len(state[_INTERVENTIONS])} clamp(s) active: every page shows the clamped run "
                       "(What-if lab).")
            st.button("Remove the clamps", on_click=_clear_interventions, width="stretch")
        draws = {"sequence": _sequence_widgets, "cells": lambda: _cell_widgets(loaded),
                 "model": lambda: _model_widgets(loaded)}
        for name in SECTIONS:
            if name in visible:
                draws[name]()
        hidden = [name for name in SECTIONS if name not in visible]
        if hidden:
            with st.expander("Other settings (this lesson does not need them)"):
                for name in hidden:
                    draws[name]()
        config = _config(loaded)
        _share(config, loaded)
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
    for name, key in _SEQUENCE_KEYS.items():
        state[key] = getattr(config, name)
    for name, key in _MODEL_KEYS.items():
        state[key] = getattr(config.model, name)
    state["w_cells"] = list(config.cells)
    state[_INTERVENTIONS] = config.interventions


def _clear_interventions() -> None:
    st.session_state[_INTERVENTIONS] = ()


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
                f"the file has {upload.size / 1e6:.1f} MB; CSV files up to "
                f"{MAX_CSV_BYTES / 1e6:g} MB are read"
            )
        text, notes = csv_text_with_notes(upload.getvalue())
    except SequenceError as error:
        state["w_csv_error"] = f"{upload.name}: {error}"
        return
    state["w_text"], state["w_mode"], state["w_edited"] = text, "numbers", True
    state["w_csv_notes"] = [f"{upload.name}: {note}" for note in notes]


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
    st.caption(plain(PRESETS.get(name, "the tutorials' worked example: 3 characters, one step each")))
    left, right = st.columns([3, 2])
    left.slider("Length", 2, MAX_STEPS, key="w_length", on_change=_fill_from_preset,
                disabled=name not in PRESETS)
    right.number_input("Preset seed", 0, 2**31 - 1, step=1, key="w_pseed", on_change=_fill_from_preset,
                       disabled=name not in RANDOM_PRESETS)
    st.segmented_control("Read the box as", tuple(_MODE_LABELS), format_func=_MODE_LABELS.get, required=True,
                         key="w_mode", on_change=_mark_edited)
    st.text_area(
        "Sequence (this is the input)",
        key="w_text",
        on_change=_mark_edited,
        height=110,
        help="Numbers: `0.5, -1, 2` is 3 steps of 1 feature; `1 0; 0 1` (rows split by `;` or new "
        "lines) is 2 steps of 2 features; use a dot for decimals. Characters: every character is one "
        f"step, one-hot over the distinct characters (try {TEXT_PRESET}).",
    )
    if state["w_edited"]:
        st.caption("Edited: the box is the input (the preset no longer applies).")
    st.file_uploader(
        "Or upload a CSV (rows = steps, columns = features)",
        type=["csv", "txt"],
        key="w_csv",
        on_change=_load_csv,
        max_upload_size=MAX_CSV_BYTES // 1_000_000,
        help=f"Plain numbers, up to {MAX_CSV_BYTES / 1e6:g} MB; a header row is skipped; comma, tab or "
        "semicolon columns (with semicolons, decimal commas are read).",
    )
    if "w_csv_error" in state:
        st.error(plain(state["w_csv_error"]))
    for note in state.pop("w_csv_notes", []):
        st.info(plain(note))


def _cell_widgets(loaded: LoadedModels | None) -> None:
    st.header("Cells")
    st.pills(
        "Cells to show",
        CELL_NAMES,
        selection_mode="multi",
        format_func=lambda cell: REGISTRY[cell].label + (" (loaded)" if loaded and cell in loaded.models
                                                         else ""),
        key="w_cells",
        help="Every page shows the enabled cells side by side, on the same input. minGRU and minLSTM "
        "(Feng et al. 2024) have no recurrent weights at all: their gates read x_t only.",
    )
    left, right = st.columns(2)
    left.segmented_control(
        "GRU convention",
        tuple(_GRU_LABELS),
        format_func=_GRU_LABELS.get,
        required=True,
        key="w_gru_variant",
        help="PyTorch: reset after the product, r ⊙ (W_hn h + b_hn); z keeps the OLD state (as in Cho "
        "et al. 2014). Tutorial (Chung et al. 2014, Olah 2015): reset before the product, W_hn (r ⊙ h); "
        "z weights the NEW content, the role 1 − z plays in PyTorch: the same parameters mix the other way "
        "round.",
    )
    right.segmented_control(
        "RNN activation",
        ("tanh", "relu"),
        required=True,
        key="w_nonlinearity",
        help="relu is unbounded: with a recurrent scale above 1 the state and the gradient can "
             "really explode.",
    )


def _model_widgets(loaded: LoadedModels | None) -> None:
    st.header("Fresh cells" if loaded else "Model")
    if loaded:
        st.caption("These settings build the enabled cells that are not loaded.")
    left, right = st.columns(2)
    left.number_input("Hidden size", 1, MAX_HIDDEN, step=1, key="w_hidden")
    right.number_input("Layers", 1, MAX_LAYERS, step=1, key="w_layers")
    left.number_input("Seed", 0, MAX_SEED, step=1, key="w_seed")
    right.selectbox("Initialisation", INITS, key="w_init")
    left.toggle("Bidirectional", key="w_bidir")
    right.toggle("Biases", key="w_bias", help="bias=False in torch.nn: no b_ih and b_hh.")
    st.slider(
        "Recurrent scale (× every W_hh)",
        *RECURRENT_SCALE_RANGE,
        step=0.05,
        key="w_scale",
        help="Multiplies every W_hh. The RNN's gradient must vanish while γ·σ_max(W_hh) < 1 (Pascanu et "
        "al. 2013). Above that it may grow, but a tanh RNN usually saturates (|tanh'| ≪ 1) and still "
        "vanishes; a relu RNN (choose relu above) really explodes. minGRU and minLSTM have no W_hh.",
    )
    st.slider(
        "Forget-gate bias (LSTM, minLSTM)",
        *FORGET_BIAS_RANGE,
        step=0.5,
        key="w_fbias",
        disabled=not st.session_state["w_bias"],
        help="Added to b_if: f = σ(… + bias) starts near 1, so the cell state (and its gradient) is "
        "carried further.",
    )
    st.number_input(
        "LSTM proj_size",
        0,
        max(0, int(st.session_state["w_hidden"]) - 1),
        step=1,
        key="w_proj",
        help="nn.LSTM(proj_size=P): h_t = W_hr (o_t ⊙ tanh(c_t)) has P < hidden units. 0 = no projection.",
    )
    st.segmented_control("Loss L", tuple(_LOSS_LABELS), format_func=_LOSS_LABELS.get, required=True,
                         key="w_loss", help="last step: L = Σ output[T]; all steps: L = Σ_t Σ output[t].")


def _config(loaded: LoadedModels | None) -> AppConfig:
    state = st.session_state
    values = {name: state[key] for name, key in _SEQUENCE_KEYS.items()}
    model = {name: state[key] for name, key in _MODEL_KEYS.items()}
    model["proj_size"] = min(int(model["proj_size"]), int(model["hidden_size"]) - 1)
    if not model["bias"]:
        model["forget_bias"] = 0.0
    cells = tuple(c for c in CELL_NAMES if c in state["w_cells"])
    config = AppConfig(**values, cells=cells, model=ModelSettings(**model),
                       interventions=state.get(_INTERVENTIONS, ()),
                       models_key="" if loaded is None else loaded.key)
    return replace(config, preset_length=int(config.preset_length), preset_seed=int(config.preset_seed))


def _share(config: AppConfig, loaded: LoadedModels | None) -> None:
    with st.expander("Share this view"):
        query = urlencode(to_query(config) | view_params())
        st.code(f"{st.context.url or ''}?{query}", language=None, wrap_lines=True)
        st.caption("Copy the link: opening it restores every setting above, the page and the step.")
        if config.edited and not text_in_link(config):
            st.caption(
                f"The sequence is longer than {MAX_LINK_TEXT:,} characters, so the link restores the preset "
                f"{plain(config.preset)} instead of the typed text."
            )
        if loaded is not None:
            st.caption("Links cannot carry loaded models: they open fresh cells.")


def view_params() -> dict[str, str]:
    """The query parameters pages keep besides the config (step, unit, layer ...)."""
    return {k: v for k, v in st.query_params.to_dict().items() if k not in CONFIG_KEYS}


def _sync_query(config: AppConfig) -> None:
    wanted = to_query(config) | view_params()
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)
