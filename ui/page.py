"""What every page does first: get the config's traces, show errors and warnings, pick layers, plot."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from lstmviz.plots import CELL_LABELS, DIRECTION_LABELS

from .compute import Computed, compute
from .config import AppConfig
from .models import active_models
from .sidebar import CONFIG_KEY

_LAST_GOOD = "last_good_config"
_SEQUENCE_FIELDS = ("preset", "preset_length", "preset_seed", "edited", "mode", "text")
PLOTLY_CONFIG = {"displaylogo": False}


def config() -> AppConfig:
    """The config the sidebar (drawn by app.py on this run) describes."""
    if CONFIG_KEY not in st.session_state:
        _rerun_through_router()
    return st.session_state[CONFIG_KEY]


def _rerun_through_router() -> None:
    """Rerun a page that was started without app.py, this time through app.py and its sidebar.

    Until some session has run app.py (whose st.navigation switches the mode off for the whole
    server), Streamlit treats a ``pages/`` folder as the old folder-based multipage app. The first
    request after a server start that opens a shared link to a page other than the first would run
    that page file alone. Switching the mode off here and rerunning keeps the page and the link's
    query string, and runs app.py first.
    """
    PagesManager.uses_pages_directory = False
    st.rerun()


def load() -> tuple[AppConfig, Computed] | None:
    """The traces to draw, after showing any error or warning; None when there is nothing to draw.

    An input that cannot be traced shows the parser's message, and the charts keep showing the last
    input that worked (if any), so a typo while typing does not blank the page.
    """
    current = config()
    if not current.cells:
        st.info("Enable at least one cell (RNN, LSTM, GRU) in the sidebar.")
        return None
    models = active_models()
    supplied = None if models is None else models.models
    result = compute(current, supplied)
    if result.error is None:
        st.session_state[_LAST_GOOD] = current
    else:
        st.error(f"Cannot trace this input: {result.error}")
        fallback = st.session_state.get(_LAST_GOOD)
        if fallback is None or fallback.models_key != current.models_key:
            return None
        st.caption("The charts below show the last input that worked.")
        # Keep the current settings with the last sequence that worked, or else the last config.
        with_old_sequence = replace(current, **{name: getattr(fallback, name) for name in _SEQUENCE_FIELDS})
        current, result = with_old_sequence, compute(with_old_sequence, supplied)
        if result.error is not None:
            current, result = fallback, compute(fallback, supplied)
    _describe(current, result)
    _warn_exploding(current, result)
    return current, result


def _describe(current: AppConfig, result: Computed) -> None:
    steps, features = result.x.shape
    source = "typed" if current.edited else f"preset {current.preset}"
    if result.vocabulary is not None:
        source = f"characters, vocabulary {''.join(result.vocabulary)!r}"
    st.caption(
        f"x: {steps:,} steps × {features} feature{'s' if features > 1 else ''} ({source}) · "
        f"loss L = {'Σ output[T]' if current.loss == 'last' else 'Σ_t Σ output[t]'} · "
        f"computed in {result.seconds:.2f} s"
    )


def _warn_exploding(current: AppConfig, result: Computed) -> None:
    if not result.nonfinite:
        return
    parts = []
    for cell, counts in result.nonfinite.items():
        names = ", ".join(sorted({name.split(" ")[0] for name in counts}))
        parts.append(f"{CELL_LABELS[cell]}: {sum(counts.values()):,} values in {names}")
    st.warning(
        "**Exploding values.** Some numbers grew past what float32 holds (about 3.4·10³⁸) and became "
        f"inf or NaN ({'; '.join(parts)}). This is the exploding-gradient side of the Pascanu bound: "
        "each step back multiplies δh by (∂h_{t+1}/∂h_t)ᵀ, whose norm is about γ·σ_max(W_hh); "
        f"at recurrent scale {current.recurrent_scale:g} that factor is above 1, so the product grows "
        "geometrically. The charts leave these values blank and say how many. Lower the recurrent "
        "scale or shorten the sequence (in training: gradient clipping)."
    )


def pick_layer(result: Computed, key: str) -> tuple[int, int]:
    """Layer and direction selectors (shown only when there is a choice)."""
    layers = max(t.spec.num_layers for t in result.traces.values())
    bidirectional = any(t.spec.bidirectional for t in result.traces.values())
    left, right = st.columns(2)
    layer = 0
    direction = 0
    if layers > 1:
        layer = left.selectbox("Layer", range(layers), key=f"{key}_layer", persist_state="session")
    if bidirectional:
        direction = right.segmented_control(
            "Direction",
            (0, 1),
            format_func=DIRECTION_LABELS.__getitem__,
            required=True,
            default=0,
            key=f"{key}_direction",
            persist_state="session",
        )
    return layer, direction


def clamp_layer(result: Computed, cell: str, layer: int, direction: int) -> tuple[int, int]:
    """A layer and direction that exist for ``cell`` (supplied models may differ in depth)."""
    spec = result.traces[cell].spec
    return min(layer, spec.num_layers - 1), min(direction, spec.directions - 1)


def latex_block(lines: list[str], small: bool = False) -> None:
    """Equations aligned on their first '='; a line starting with '=' continues the one above."""
    rows = [f"&{line}" if line.startswith("=") else line.replace("=", "&=", 1) for line in lines]
    st.latex((r"\small" if small else "") + r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}")


def show(fig: go.Figure, key: str | None = None) -> None:
    st.plotly_chart(fig, width="stretch", config=PLOTLY_CONFIG, key=key)


def hidden_sizes(result: Computed) -> int:
    return int(np.max([t.spec.output_size for t in result.traces.values()]))
