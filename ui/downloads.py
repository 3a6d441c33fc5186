"""Downloads: the traces as CSV and JSON (built on click), and a snippet that reproduces them."""

from __future__ import annotations

import streamlit as st

from lstmviz import export

from .compute import View
from .config import AppConfig
from .models import loaded_models

EXPORT_VALUES = 1_000_000
"""Most values in one downloaded file (about 35 MB of CSV); longer traces are cut to a step window."""

SHOWN_SEQUENCE_CHARS = 300


def snippet(config: AppConfig, shortened: bool = False) -> str:
    """Python that rebuilds the config's cells and traces with the library API.

    ``shortened``: for display, a long typed sequence is cut (the downloaded file has all of it).
    """
    from_preset = not config.edited and config.mode == "numbers"
    sequence = export.sequence_code(
        mode=config.mode,
        text=config.text,
        preset=config.preset if from_preset else None,
        length=config.preset_length,
        seed=config.preset_seed,
    )
    if shortened and len(sequence) > SHOWN_SEQUENCE_CHARS:
        sequence = sequence[:SHOWN_SEQUENCE_CHARS] + " …  # shortened here: the downloaded file has all of it"
    return export.python_snippet(config.cells, sequence, config.model, loss=config.loss)


def export_window(result: View) -> tuple[int, int | None]:
    """The step window ``[start, stop)`` of the files: everything, or a chosen cut under the limit."""
    total = export.value_count(result.traces)
    if total <= EXPORT_VALUES:
        return 0, None
    steps = max(1, EXPORT_VALUES // (total // result.steps))
    start = st.number_input(
        f"The trace holds {total:,} values: the files hold {steps:,} steps, from step",
        0,
        result.steps - steps,
        step=1,
        key="dl_start",
    )
    return int(start), int(start) + steps


def section(config: AppConfig, result: View) -> None:
    st.header("Downloads")
    start, stop = export_window(result)
    name = "lstmviz-trace" if stop is None else f"lstmviz-trace-t{start}-{stop - 1}"
    traces = result.traces
    left, right = st.columns(2)
    left.download_button(
        "Trace as CSV (cell, layer, direction, t, quantity, unit, value)",
        data=lambda: export.trace_csv(traces, start, stop),
        file_name=f"{name}.csv",
        mime="text/csv",
        on_click="ignore",
        key="dl_csv",
    )
    right.download_button(
        "Trace as JSON",
        data=lambda: export.trace_json(traces, start, stop),
        file_name=f"{name}.json",
        mime="application/json",
        on_click="ignore",
        key="dl_json",
    )
    st.subheader("Reproduce in Python")
    if loaded_models() is not None:
        st.caption(
            "The charts show loaded models; this snippet rebuilds fresh cells with the sidebar's settings."
        )
    st.code(snippet(config, shortened=True), language="python", wrap_lines=True)
    st.download_button(
        "Download the snippet (.py)",
        data=snippet(config),
        file_name="reproduce_lstmviz.py",
        mime="text/x-python",
        on_click="ignore",
        key="dl_py",
    )
