"""What every page does first: get the view, show errors and warnings, pick layers, plot."""

from __future__ import annotations

import re
from dataclasses import replace

import plotly.graph_objects as go
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from lstmviz.equations import aligned
from lstmviz.plots import DIRECTION_LABELS
from lstmviz.report import view_html

from . import view_state
from .chart_downloads import chart_config
from .chart_help import HELP
from .compute import Refused, View, compute
from .config import AppConfig
from .models import loaded_models
from .safe_text import plain
from .sidebar import CONFIG_KEY

_LAST_GOOD = "last_good_config"
_SEQUENCE_FIELDS = ("preset", "preset_length", "preset_seed", "edited", "mode", "text")



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


def load(compact: bool = False) -> tuple[AppConfig, View] | None:
    """The view to draw, after showing any error or warning; None when there is nothing to draw.

    An input that cannot be traced shows the reason, and the charts keep showing the last input that
    worked (if any), so a typo while typing does not blank the page. ``compact`` leaves out the
    caption describing the input (the first screen keeps its height for the chart).
    """
    current = config()
    if not current.cells:
        st.info("Enable at least one cell in the sidebar.")
        return None
    loaded = loaded_models()
    models = None if loaded is None else loaded.models
    result = compute(current, models)
    if isinstance(result, View):
        st.session_state[_LAST_GOOD] = current
    else:
        st.error(plain(f"Cannot trace this input: {result.message}"))
        fallback = st.session_state.get(_LAST_GOOD)
        if fallback is None or fallback.models_key != current.models_key:
            return None
        st.caption("The charts below show the last input that worked.")
        # Keep the current settings with the last sequence that worked, or else the last config.
        with_old_sequence = replace(current, **{name: getattr(fallback, name) for name in _SEQUENCE_FIELDS})
        current, result = with_old_sequence, compute(with_old_sequence, models)
        if isinstance(result, Refused):
            current, result = fallback, compute(fallback, models)
    if not compact:
        _describe(current, result)
    for note in result.notes:
        st.info(plain(note))
    _warn_exploding(current, result)
    return current, result


def _describe(current: AppConfig, view: View) -> None:
    steps, features = view.x.shape
    source = "typed" if current.edited else f"preset {current.preset}"
    if view.vocabulary is not None:
        source = f"characters, vocabulary {plain(repr(''.join(view.vocabulary)))}"
    st.caption(
        f"x: {steps:,} steps (t = 0 … {steps - 1}) × {features} feature{'s' if features > 1 else ''} "
        f"({source}) · loss L = {'Σ output[T]' if current.loss == 'last' else 'Σ_t Σ output[t]'} · "
        f"traced in float64 in {view.seconds:.2f} s"
    )


def _warn_exploding(current: AppConfig, view: View) -> None:
    if not view.nonfinite:
        return
    parts = []
    for cell, counts in view.nonfinite.items():
        names = ", ".join(sorted({name.split(" ")[0] for name in counts}))
        parts.append(f"{view.labels[cell]}: {sum(counts.values()):,} values in {names}")
    st.warning(
        "**Exploding values.** Some numbers grew past what float64 holds (about 1.8·10³⁰⁸) and became "
        f"inf or NaN ({plain('; '.join(parts))}). Each step back multiplies δh by the step Jacobian, "
        "whose norm for the RNN is at most γ·σ_max(W_hh) (Pascanu et al. 2013); at recurrent scale "
        f"{current.model.recurrent_scale:g} that factor can pass 1, and an unsaturated (relu) state grows "
        "geometrically. The charts leave these values blank and say how many. Lower the recurrent "
        "scale or shorten the sequence (in training: clip the gradient)."
    )


def pick_layer(view: View) -> tuple[int, int]:
    """Layer and direction selectors (shown only when there is a choice), shared by every page and kept
    in the link (``layer=``, ``dir=``)."""
    layers = max(t.spec.num_layers for t in view.traces.values())
    bidirectional = any(t.spec.bidirectional for t in view.traces.values())
    left, right = st.columns(2)
    layer = view_state.get("layer", layers)
    direction = view_state.get("dir", 2 if bidirectional else 1)
    if layers > 1:
        layer = left.selectbox("Layer", range(layers), key=view_state.key("layer"), persist_state="session")
    if bidirectional:
        direction = right.segmented_control("Direction", (0, 1), format_func=DIRECTION_LABELS.__getitem__,
                                            required=True, key=view_state.key("dir"), persist_state="session")
    return layer, direction


def clamp_layer(view: View, cell: str, layer: int, direction: int) -> tuple[int, int]:
    """A layer and direction that exist for ``cell`` (loaded models may differ in depth)."""
    spec = view.traces[cell].spec
    return min(layer, spec.num_layers - 1), min(direction, spec.directions - 1)


def latex_block(lines: list[str], small: bool = False) -> None:
    """Equations aligned on each line's first top-level relation; a line starting with '=' continues."""
    st.latex(aligned(lines, small))
    _shown().append([aligned(lines, small)])


def show(kind: str, fig: go.Figure, key: str | None = None, **kwargs):
    """A chart at full width under its "How to read this" (:data:`ui.chart_help.HELP` of ``kind``),
    downloadable as SVG and PNG from its toolbar; its colours are the figure's own (no theme
    replaces them)."""
    with st.popover("How to read this", icon=":material/help:", type="tertiary"):
        st.markdown(HELP[kind])
    config = chart_config(f"lstmviz-{key or kind}")
    _shown().append(fig)
    _paint_only_in_view(key, fig.layout.height)
    return st.plotly_chart(fig, width="stretch", config=config, key=key, theme=None, **kwargs)


def _paint_only_in_view(key: str | None, height: int | None) -> None:
    """Leave the chart unpainted while it is scrolled out of view, holding its own height.

    Each Plotly marker is a paint chunk of its own, and the heatmaps' click layers hold thousands:
    painted, they made every frame of the stepper spend about 30 ms re-layerising the whole page (a
    Chrome trace on 2 cores; about 4 ms without). The placeholder is the figure's own height, so
    nothing moves when the chart is first painted.
    """
    if key and height and re.fullmatch(r"[A-Za-z0-9_-]+", key):
        st.html(f"<style>.st-key-{key} [data-testid='stPlotlyChart'] {{ content-visibility: auto; "
                f"contain-intrinsic-block-size: auto {int(height)}px; }}</style>")


_SHOWN = "view_sections"


def _shown() -> list:
    return st.session_state.setdefault(_SHOWN, [])


def start_view() -> None:
    """Forget the charts and equations of the previous run (app.py calls this before each page)."""
    st.session_state[_SHOWN] = []


def view_download(title: str) -> None:
    """A sidebar button that downloads this run's charts and equations as one offline HTML file."""
    sections = [f"lstmviz: {title}", *_shown()]
    with st.sidebar:
        st.download_button(
            "Download this view (HTML, opens offline)",
            data=lambda: view_html(title, sections),
            file_name=f"lstmviz-{title.lower().replace(' ', '-')}.html",
            mime="text/html",
            on_click="ignore",
            key="view_html",
            width="stretch",
            disabled=len(sections) == 1,
        )
