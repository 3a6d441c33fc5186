"""Gates and states: every gate, c and h over time, per enabled cell, layer and direction."""

import streamlit as st

from lstmviz import plots
from lstmviz.summaries import saturation
from ui import page

st.title("Gates and states")
st.markdown(
    "Heatmaps show units (rows) against time (columns). A forget gate near 1 keeps the cell state "
    "(the conveyor belt c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t); a GRU update gate near 1 keeps h_{t−1} in "
    "PyTorch's convention but takes the new content in the tutorial's."
)


def _cell_tab(result, cell: str, layer: int, direction: int) -> None:
    trace = result.traces[cell]
    layer, direction = page.clamp_layer(result, cell, layer, direction)
    page.show(plots.state_heatmaps(trace, layer, direction), key=f"gates_heatmap_{cell}")
    size = trace.layers[layer][direction].h.shape[1]
    units = st.multiselect(
        "Units to follow (up to 8)",
        range(size),
        default=list(range(min(3, size))),
        max_selections=8,
        key=f"gates_units_{cell}",
    )
    if units:
        page.show(plots.unit_lines(trace, units, layer, direction), key=f"gates_lines_{cell}")


def _saturation(result) -> None:
    st.header("Saturation")
    st.markdown(
        "Where a σ gate sits below 0.1 or above 0.9 (a tanh below −0.9 or above 0.9), its slope is "
        "nearly 0 and little gradient passes through it: a saturated forget gate near 1 is what keeps "
        "the LSTM's memory, a saturated RNN tanh is what kills the RNN's gradient."
    )
    page.show(plots.saturation_bars(result.traces), key="gates_saturation")
    rows = [
        {
            "cell": plots.CELL_LABELS[row.cell],
            "layer": row.layer,
            "direction": plots.DIRECTION_LABELS[row.direction],
            "gate": row.gate,
            "low tail": f"{row.low:.1%} ({row.low_label})",
            "high tail": f"{row.high:.1%} ({row.high_label})",
            "saturated": f"{row.total:.1%}",
        }
        for trace in result.traces.values()
        for row in saturation(trace)
    ]
    st.dataframe(rows, hide_index=True, width="stretch")


loaded = page.load()
if loaded is not None:
    _, result = loaded
    layer, direction = page.pick_layer(result, "gates")
    cells = list(result.traces)
    for tab, cell in zip(st.tabs([plots.CELL_LABELS[c] for c in cells]), cells, strict=True):
        with tab:
            _cell_tab(result, cell, layer, direction)
    _saturation(result)
