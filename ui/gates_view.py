"""The Gates and states page's parts: the cells' heatmaps side by side, chosen units, saturation rows."""

from __future__ import annotations

import streamlit as st

from lstmviz import plots
from lstmviz.summaries import saturation

from . import page
from .compute import View

PER_ROW = 3


def side_by_side(view: View, layer: int, direction: int) -> None:
    """Each cell's heatmaps in its own column, up to three cells a row, on the same time axis."""
    cells = list(view.traces)
    for start in range(0, len(cells), PER_ROW):
        row = cells[start : start + PER_ROW]
        for column, cell in zip(st.columns(len(row)), row, strict=True):
            with column:
                where = page.clamp_layer(view, cell, layer, direction)
                page.show("state_heatmaps",
                          plots.state_heatmaps(view.traces[cell], *where, characters=view.characters,
                                               panel_height=110), key=f"gates_heatmap_{cell}")


def chosen_units(view: View, layer: int, direction: int) -> None:
    st.header("Chosen units over time")
    size = min(tr.layers[0][0].h.shape[1] for tr in view.traces.values())
    units = st.multiselect("Units to follow (up to 8, the same in every cell)", range(size),
                           default=list(range(min(3, size))), max_selections=8, key="gates_units")
    if not units:
        return
    cells = list(view.traces)
    for start in range(0, len(cells), PER_ROW):
        row = cells[start : start + PER_ROW]
        for column, cell in zip(st.columns(len(row)), row, strict=True):
            with column:
                where = page.clamp_layer(view, cell, layer, direction)
                page.show("unit_lines",
                          plots.unit_lines(view.traces[cell], units, *where, characters=view.characters),
                          key=f"gates_lines_{cell}")


def saturation_rows(view: View) -> list[dict]:
    return [
        {
            "cell": view.labels[cell],
            "layer": row.layer,
            "direction": plots.DIRECTION_LABELS[row.direction],
            "gate": row.gate,
            "low tail": f"{row.low:.1%} ({row.low_label})",
            "high tail": f"{row.high:.1%} ({row.high_label})",
            "saturated": f"{row.total:.1%}",
        }
        for cell, trace in view.traces.items()
        for row in saturation(trace)
    ]
