"""The Gradients page's parts: horizons, the norms over time, the per-unit heatmap."""

from __future__ import annotations

import streamlit as st

from lstmviz import plots
from lstmviz.summaries import gradient_horizon

from . import page
from .compute import View


def horizons(view: View) -> None:
    st.header("Gradient horizon")
    if next(iter(view.traces.values())).loss_kind != "last":
        st.info("The horizon needs the loss at the last step only: "
                "choose *Loss L: last step* in the sidebar.")
        return
    st.caption(
        "Steps back from T until ‖δh_t‖ falls below 10⁻³ · ‖δh_T‖ (layer 0, forward direction): how far "
        "back the loss can still teach the cell."
    )
    for column, (cell, trace) in zip(st.columns(len(view.traces)), view.traces.items(), strict=True):
        horizon = gradient_horizon(trace)
        value = str(horizon.steps) if horizon.steps is not None else f"> {horizon.available}"
        column.metric(f"{view.labels[cell]} horizon", value, help=horizon.describe(), border=True)


def norms(view: View, layer: int, direction: int) -> None:
    st.header("‖δh_t‖ for every cell")
    st.caption("One log-scale chart: a straight falling line is geometric vanishing.")
    traces = {view.labels[c]: tr for c, tr in view.traces.items() if _has(tr, layer, direction)}
    page.show("gradient_norms",
              plots.gradient_norms(traces, "h", layer, direction, characters=view.characters), key="grad_h")
    with_state = {view.labels[c]: tr for c, tr in view.traces.items()
                  if tr.cell.cell_state and _has(tr, layer, direction)}
    if with_state:
        st.subheader("‖δc_t‖: the cell-state path")
        page.show("gradient_c",
                  plots.gradient_norms(with_state, "c", layer, direction, characters=view.characters),
                  key="grad_c")
    st.subheader("‖∂L/∂x_t‖: which inputs the loss depends on")
    page.show("gradient_x", plots.gradient_norms(view.labelled(), "x", characters=view.characters),
              key="grad_x")


def _has(trace, layer: int, direction: int) -> bool:
    return layer < trace.spec.num_layers and direction < trace.spec.directions


def per_unit(view: View, layer: int, direction: int) -> None:
    st.header("δh_t per unit")
    cell = st.segmented_control("Cell", tuple(view.traces), format_func=view.labels.get, key="grad_unit_cell",
                                required=True, default=next(iter(view.traces)))
    cell_layer, cell_direction = page.clamp_layer(view, cell, layer, direction)
    page.show("gradient_heatmap", plots.gradient_heatmap(view.traces[cell], cell_layer, cell_direction,
                                                         characters=view.characters),
              key="grad_heatmap")
