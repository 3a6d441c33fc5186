"""Step through: one step t at a time, the same t for every enabled cell, side by side."""

import streamlit as st

from lstmviz import diagram, equations, plots
from ui import downloads, page

PLAY_SECONDS = 0.8

st.title("Step through")
st.markdown(
    "Each column is one cell at the same step *t*: its gates coloured by value (σ gates 0…1, "
    "tanh values −1…1), the equations with the numbers of step *t*, the gates across units, and the "
    "whole run with a cursor at *t*."
)


def _shift(delta: int, steps: int) -> None:
    st.session_state["step_t"] = min(max(st.session_state.get("step_t", 0) + delta, 0), steps - 1)


def _controls(steps: int, playing: bool) -> int:
    state = st.session_state
    t = min(state.get("step_t", 0), steps - 1)
    if playing:
        t = (t + 1) % steps
    state["step_t"] = t
    if steps == 1:
        st.caption("The sequence has a single step: t = 0.")
        return 0
    back, slider, forward = st.columns([1, 6, 1], vertical_alignment="bottom")
    back.button("◀ Previous", on_click=_shift, args=(-1, steps), disabled=t == 0, width="stretch")
    forward.button("Next ▶", on_click=_shift, args=(1, steps), disabled=t == steps - 1, width="stretch")
    return slider.slider("Step t", 0, steps - 1, key="step_t", persist_state="session")


def _unit(result) -> int | None:
    size = page.hidden_sizes(result)
    choice = st.selectbox(
        "Unit shown in the diagram",
        ("mean", *range(size)),
        format_func=lambda u: "mean over units" if u == "mean" else f"unit {u}",
        key="step_unit",
        persist_state="session",
    )
    return None if choice == "mean" else int(choice)


def _cell_column(trace, cell: str, t: int, layer: int, direction: int, unit: int | None) -> None:
    st.subheader(plots.cell_label(trace))
    if cell == "gru":
        st.caption(equations.GRU_CONVENTIONS[trace.spec.gru_variant])
    size = trace.layers[layer][direction].h.shape[1]
    chosen = None if unit is None else min(unit, size - 1)
    page.show(diagram.cell_diagram(trace, t, layer, direction, chosen), key=f"step_diagram_{cell}")
    shown = 0 if chosen is None else chosen
    page.latex_block(equations.substituted(trace, t, layer, direction, shown), small=True)
    st.caption(
        f"Unit {shown}{' (pick a unit above to follow another)' if chosen is None else ''}. σ(·) and "
        "tanh(·) take each gate's pre-activation a = W_i·x_t + b_i + W_h·h_prev + b_h."
    )
    page.show(plots.gate_bars(trace, t, layer, direction), key=f"step_bars_{cell}")


def step_view(result, playing: bool) -> None:
    t = _controls(result.steps, playing)
    left, right = st.columns([1, 2])
    with left:
        unit = _unit(result)
    with right:
        layer, direction = page.pick_layer(result, "step")
    where = {cell: page.clamp_layer(result, cell, layer, direction) for cell in result.traces}
    for column, (cell, trace) in zip(st.columns(len(result.traces)), result.traces.items(), strict=True):
        with column:
            _cell_column(trace, cell, t, *where[cell], unit)
    st.header("The whole run, cursor at t")
    for cell, trace in result.traces.items():
        page.show(plots.state_heatmaps(trace, *where[cell], t=t, panel_height=75), key=f"step_heatmap_{cell}")


loaded = page.load()
if loaded is not None:
    config, result = loaded
    playing = result.steps > 1 and st.toggle(
        f"▶ Play: one step every {PLAY_SECONDS:g} s (only this view reruns)", key="step_play"
    )
    st.fragment(run_every=PLAY_SECONDS if playing else None)(step_view)(result, playing)
    downloads.section(config, result)
