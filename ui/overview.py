"""The first screen's reading of the gradient chart, in words, with the live numbers."""

from __future__ import annotations

import numpy as np
import streamlit as st

from lstmviz import backward_flows, plots
from lstmviz.summaries import gradient_horizon, retained, steps_per_decade

from . import page
from .compute import View


def cell_reading(view: View, cell: str) -> str:
    """One sentence on how far back one cell's gradient reaches, and what carries it."""
    trace, label = view.traces[cell], view.labels[cell]
    horizon = gradient_horizon(trace)
    last = view.steps - 1
    if horizon.steps is not None:
        decade = steps_per_decade(trace)
        rate = f" (10× smaller every {decade:.1f} steps)" if decade else ""
        return f"the {label}'s gradient is below 10⁻³ of its value at T after {horizon.steps} steps{rate}"
    kept = retained(trace)
    share = f"{kept:.1%}" if kept >= 0.001 else f"{kept:.1e} of it"
    text = f"the {label}'s still has {share} at t = 0, {last} steps back"
    flows = backward_flows(trace)
    if flows:
        totals = {key: float(np.nansum(np.linalg.norm(flow, axis=1))) for key, flow in flows.items()}
        path = next(p for p in trace.cell.paths if p.key == max(totals, key=totals.get))
        carry = trace.cell.carry(trace.runs[0][0])
        factor = (f" ({trace.cell.carry_symbol} averages {float(np.mean(carry)):.2f})"
                  if carry is not None else "")
        text += f", carried by {path.label}{factor}"
    return text


def reading(view: View) -> str:
    """The chart in words: every enabled cell's horizon, computed from the live trace."""
    if next(iter(view.traces.values())).loss_kind != "last":
        return "Choose *Loss L: last step* in the sidebar: the horizon reads back from the loss at T."
    parts = [cell_reading(view, cell) for cell in view.traces]
    return (f"Reading ‖δh_t‖ back from the loss at the last step T = {view.steps - 1}: "
            + "; ".join(parts) + ".")


def first_screen(view: View) -> None:
    st.markdown(reading(view))
    page.show("gradient_norms",
              plots.gradient_norms(view.labelled(), "h", mark_horizons=True, characters=view.characters,
                                   height=340), key="overview_grad_h")
