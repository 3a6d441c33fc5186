"""The Step through page's parts: the step controls, one column per cell, the heatmaps with a cursor."""

from __future__ import annotations

import streamlit as st

from lstmviz import diagram, plots, steps

from . import page, view_state
from .compute import View


STEP = view_state.key("step")


def _shift(delta: int, count: int) -> None:
    st.session_state[STEP] = min(max(view_state.get("step") + delta, 0), count - 1)


def controls(count: int, playing: bool) -> int:
    state = st.session_state
    t = view_state.get("step", count)
    if playing:
        t = (t + 1) % count
    state[STEP] = t
    if count == 1:
        st.caption("The sequence has a single step: t = 0.")
        return 0
    back, slider, forward = st.columns([1, 6, 1], vertical_alignment="bottom")
    back.button("◀ Previous", on_click=_shift, args=(-1, count), disabled=t == 0, width="stretch")
    forward.button("Next ▶", on_click=_shift, args=(1, count), disabled=t == count - 1, width="stretch")
    return slider.slider("Step t", 0, count - 1, key=STEP, persist_state="session")


def unit_choice(view: View) -> int | None:
    size = max(tr.layers[0][0].gates[tr.cell.gates[0]].shape[1] if tr.cell.gates else tr.layers[0][0].h.shape[1]
               for tr in view.traces.values())
    if view_state.get("unit") != "mean":
        view_state.get("unit", size)
    choice = st.selectbox("Unit shown in the diagram and the equations", (*range(size), "mean"),
                          format_func=lambda u: "mean over units" if u == "mean" else f"unit {u}",
                          key=view_state.key("unit"), persist_state="session")
    return None if choice == "mean" else int(choice)


def cell_column(view: View, cell: str, t: int, layer: int, direction: int, unit: int | None) -> None:
    trace = view.traces[cell]
    st.subheader(view.labels[cell])
    if trace.cell.convention():
        st.caption(trace.cell.convention())
    size = trace.layers[layer][direction].h.shape[1]
    chosen = None if unit is None else min(unit, size - 1)
    page.show("diagram", diagram.cell_diagram(trace, t, layer, direction, chosen), key=f"step_diagram_{cell}")
    if chosen is None:
        st.caption("Mean over units: the equations hold per unit, so pick a unit to see them with its numbers.")
    else:
        page.latex_block(steps.substituted(trace, t, layer, direction, chosen), small=True)
        st.caption(f"Unit {chosen}. Backward: the gradient arriving at step {t}.")
        page.latex_block(steps.substituted_backward(trace, t, layer, direction, chosen), small=True)
    page.show("gate_bars", plots.gate_bars(trace, t, layer, direction), key=f"step_bars_{cell}")


def step_view(view: View, playing: bool) -> None:
    t = controls(view.steps, playing)
    left, right = st.columns([1, 2])
    with left:
        unit = unit_choice(view)
    with right:
        layer, direction = page.pick_layer(view)
    for column, cell in zip(st.columns(len(view.traces)), view.traces, strict=True):
        with column:
            cell_column(view, cell, t, *page.clamp_layer(view, cell, layer, direction), unit)
    st.header("The whole run, cursor at t")
    for cell, trace in view.traces.items():
        where = page.clamp_layer(view, cell, layer, direction)
        page.show("state_heatmaps", plots.state_heatmaps(trace, *where, t=t, panel_height=75, characters=view.characters),
                  key=f"step_heatmap_{cell}")
