"""The Step through page's parts: the in-browser stepper, and the charts whose clicks move its step.

Stepping happens in the browser (``ui.stepper``): every shipped step travels once, so a click on
Next or Play redraws the diagrams and equations without a rerun. Python hears the step when the
user settles, keeps it in the link (``step=``), and moves the stepper itself only when the user
clicks a time on a chart (or opens a link): then ``step_token`` changes and the browser jumps.
"""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from lstmviz import Model, plots
from lstmviz.payload import stepper_payload

from . import page, view_state, whatif_view
from .compute import View, compute
from .config import AppConfig
from .stepper import stepper

TOKEN = "view_step_token"
CENTER = "view_window_center"


@st.cache_data(max_entries=12, show_spinner="Preparing every step for the browser…")
def _payload(config: AppConfig, layer: int, direction: int, unit: int | None, center: int,
             _models: Mapping[str, Model] | None) -> dict:
    """The stepper's data for a view (cached: a rerun hands the browser the same payload)."""
    view = compute(config, _models)
    return stepper_payload(view.traces, view.labels, layer=layer, direction=direction, unit=unit, step=center)


def move_step(t: int, unit: int | None = None) -> None:
    """Move every view to step ``t`` (and ``unit``): the stepper jumps there on the next run."""
    view_state.put("step", int(t))
    if unit is not None:
        view_state.put("unit", int(unit))
    st.session_state[TOKEN] = st.session_state.get(TOKEN, 0) + 1


def unit_choice(view: View) -> int | None:
    size = max(tr.spec.hidden_size for tr in view.traces.values())
    if view_state.get("unit") != "mean":
        view_state.get("unit", size)
    choice = st.selectbox("Unit shown in the diagrams and the equations", (*range(size), "mean"),
                          format_func=lambda u: "mean over units" if u == "mean" else f"unit {u}",
                          key=view_state.key("unit"), persist_state="session")
    return None if choice == "mean" else int(choice)


def step_stepper(config: AppConfig, view: View, layer: int, direction: int, unit: int | None,
                 models: Mapping[str, Model] | None) -> int:
    """Mount the stepper; returns the step the user settled on."""
    step = view_state.get("step", view.steps)
    shipped = st.session_state.get(CENTER, 0)
    payload = _payload(config, layer, direction, unit, shipped, models)
    if not payload["times"][0] <= step <= payload["times"][-1]:  # a window of a long sequence
        st.session_state[CENTER] = shipped = step
        payload = _payload(config, layer, direction, unit, shipped, models)
    payload = {**payload, "step": step, "step_token": st.session_state.get(TOKEN, 0)}
    state = stepper(payload, key="stepper")
    if state.step != step:
        view_state.put("step", state.step)
    if state.clamp is not None:  # a click on a gate of a diagram: offer to clamp it, right here
        cell, node, at = state.clamp["cell"], state.clamp["node"], int(state.clamp["step"])
        whatif_view.request(cell, node, (at, view.steps))
    if st.session_state.get(whatif_view.REQUEST):
        whatif_view.clamp_form(config, view, cancel=True)
    return state.step


def _clicked(key: str) -> None:
    """A click on a chart: the first selected point's step (and unit, on a heatmap) becomes the view's."""
    event = st.session_state.get(key)
    if isinstance(event, dict):
        points = event.get("selection", {}).get("points", [])
    else:
        points = getattr(getattr(event, "selection", None), "points", [])
    if points:
        point = points[0]
        unit = point.get("y") if key.startswith("step_heatmap") else None
        move_step(round(float(point["x"])), None if unit is None else round(float(unit)))


def whole_run(view: View, layer: int, direction: int, t: int) -> None:
    """Each cell's gates and states over the whole run, a cursor at t; a click picks a step and unit."""
    st.header("The whole run: click a time to step there")
    st.caption("A click on a heatmap moves the stepper to that step (and that unit); so does a click on the "
               "‖δh_t‖ chart below.")
    for cell, trace in view.traces.items():
        where = page.clamp_layer(view, cell, layer, direction)
        key = f"step_heatmap_{cell}"
        page.show("state_heatmaps", plots.state_heatmaps(trace, *where, t=t, panel_height=75,
                                                         characters=view.characters, clickable=True),
                  key=key, on_select=lambda key=key: _clicked(key), selection_mode="points")
    traces = {view.labels[c]: tr for c, tr in view.traces.items()}
    page.show("gradient_norms", plots.gradient_norms(traces, "h", t=t, characters=view.characters),
              key="step_norms", on_select=lambda: _clicked("step_norms"), selection_mode="points")
