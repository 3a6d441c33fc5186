"""Every step of a view as plain data for an in-browser stepper (no Streamlit, no JavaScript here).

:func:`stepper_payload` gathers, for chosen cells at one layer and direction, everything the app's
stepper component (``ui.stepper``, data contract version 1) shows at each shipped step: each diagram
node's value (:func:`lstmviz.steps.node_series`), the gradients arriving there (δh_t, δc_t) and the
log10 of what each backward path carries (:func:`lstmviz.jacobian.backward_flows`), and the cell's own
equation templates (:mod:`lstmviz.cells`) with the numbers of every step. The browser fills the
templates with the same number format as :func:`lstmviz.cells.text.number`, so the equations it shows
are those :func:`lstmviz.steps.substituted` writes. Numbers travel rounded to :data:`DIGITS`
significant digits (more than the 4 shown).

Long sequences: at most :data:`MAX_VALUES` numbers are shipped; a longer view ships a window of
consecutive steps around the chosen one and says so in ``note``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import numpy as np

from .jacobian import backward_flows
from .plots import where_label
from .results import Trace
from .steps import backward_templates_at, clamped_names, node_series, quantities
from .summaries import row_norms

DIGITS = 7
MAX_VALUES = 300_000
"""Most numbers one payload carries (about 3 MB of JSON)."""

_FACTOR = re.compile(r"\{(\w+):p\}")


def shipped_times(steps: int, per_step: int, step: int) -> tuple[np.ndarray, str]:
    """The positions to ship (all, or a window around ``step``) and the note that says which."""
    most = max(50, MAX_VALUES // max(per_step, 1))
    if steps <= most:
        return np.arange(steps), ""
    start = min(max(0, step - most // 2), steps - most)
    return np.arange(start, start + most), f"steps {start:,}–{start + most - 1:,} of {steps:,} shown"


def _rounded(values) -> list:
    """Finite numbers to DIGITS significant digits, or in full where the shorter number would show
    other 4 digits than the exact one; NaN and infinities as the contract's strings."""
    out = []
    for v in np.asarray(values, dtype=np.float64).ravel().tolist():
        if math.isnan(v):
            out.append("NaN")
        elif math.isinf(v):
            out.append("Infinity" if v > 0 else "-Infinity")
        else:
            short = float(f"{v:.{DIGITS}g}")
            out.append(short if f"{short:.4g}" == f"{v:.4g}" else v)
    return out


def _log10(values: np.ndarray) -> list:
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log10(values)
    return [None if not np.isfinite(v) or n <= np.finfo(np.float64).tiny else round(float(v), 4)
            for v, n in zip(logs, values, strict=True)]


def _pick(series: np.ndarray, unit: int | None) -> np.ndarray:
    if unit is None:
        with np.errstate(invalid="ignore"):
            return series.mean(axis=1)
    return series[:, unit] if series.shape[1] > unit else np.full(len(series), np.nan)


def _templates(lines: list[str]) -> tuple[list[str], set[str]]:
    """Templates in the stepper's form: ``{x:p}`` becomes the slot ``{x__p}`` (a factor)."""
    factors: set[str] = set()

    def factor(match: re.Match) -> str:
        factors.add(match[1])
        return "{" + match[1] + "__p}"

    return [_FACTOR.sub(factor, line) for line in lines], factors


def _variants(per_step: list[list[str]]) -> tuple[dict | list, set[str]]:
    """One template list per step as the contract's ``{"sets", "index"}`` (or one list if all equal)."""
    sets: list[list[str]] = []
    index = []
    factors: set[str] = set()
    for lines in per_step:
        converted, found = _templates(lines)
        factors |= found
        if converted not in sets:
            sets.append(converted)
        index.append(sets.index(converted))
    return (sets[0] if len(sets) == 1 else {"sets": sets, "index": index}), factors


def _mean_templates(trace: Trace) -> list[str]:
    """Means over units, labelled: the per-unit equations do not hold for means of their parts."""
    cell = trace.cell
    names = list(cell.gates) + (["c"] if cell.cell_state else []) + ["h"]
    return [r"\overline{{" + cell.symbol(n).replace("{", "{{").replace("}", "}}") + "}}_{{{t}}} = {mean_"
            + n.replace("'", "p") + "}" for n in names]


def cell_payload(trace: Trace, key: str, label: str, times: np.ndarray, layer: int, direction: int,
                 unit: int | None) -> tuple[dict, set[str]]:
    """One cell's part of the payload, and the names of its factor slots."""
    cell = trace.cell
    lt = trace.layers[layer][direction]
    q = quantities(trace, layer, direction, times)
    params = trace.model.params(layer, direction)
    forward = {k: _rounded(v) for k, v in node_series(trace, layer, direction, unit, times).items()}
    grads = {"h": lt.grad_h[times]} | ({"c": lt.grad_c[times]} if lt.grad_c is not None else {})
    flows = backward_flows(trace, layer, direction)
    if unit is None:
        named = {**lt.gates, **({"c": lt.c} if lt.c is not None else {}), "h": lt.h}
        slots = {f"mean_{n.replace(chr(39), 'p')}": np.nanmean(v[times], axis=1) for n, v in named.items()}
        forward_eq: dict | list = _mean_templates(trace)
        backward_eq: dict | list = [r"\overline{{\delta h}}_{{{t}}} = {mean_dh}"]
        slots["mean_dh"] = np.nanmean(lt.grad_h[times], axis=1)
        factors: set[str] = set()
    else:
        slots = {k: _pick(v, unit)
                 for k, v in (cell.slots(q, params) | cell.backward_slots(q, params)).items()}
        slots["proj"] = np.full(len(times), trace.spec.proj_size)
        forward_eq, forward_factors = _variants(
            [cell.step_templates(clamped_names(trace, layer, direction, int(t), unit)) for t in times])
        backward_eq, backward_factors = _variants(
            [backward_templates_at(trace, layer, direction, int(t), unit) for t in times])
        factors = forward_factors | backward_factors
        slots |= {f"{name}__p": slots[name] for name in factors}
    layout = cell.layout().for_direction(direction)
    payload = {
        "key": key,
        "label": label,
        "colour": cell.colour,
        "dash": cell.dash,
        "subtitle": " · ".join(p for p in (where_label(trace, layer, direction),
                                           cell.convention().split(":")[0]) if p),
        "reverse": bool(direction),
        "layout": {
            "nodes": [{"key": n.key, "x": n.x, "y": n.y, "label": n.label, "sub": n.sub, "kind": n.kind,
                       "clampable": n.clampable} for n in layout.nodes],
            "edges": [{"from": e.start, "to": e.end, "path": e.path} for e in layout.edges],
        },
        "forward": forward,
        "backward": {
            "grad": {k: _rounded(_pick(v, unit)) for k, v in grads.items()},
            "log10_norm": {k: _log10(row_norms(v)) for k, v in grads.items()},
            "paths": [{"key": p.key, "label": p.label, "latex": p.latex,
                       "log10": _log10(row_norms(flows[p.key][times]))} for p in cell.paths],
        },
        "equations": {"forward": forward_eq, "backward": backward_eq,
                      "slots": {k: _rounded(v) for k, v in slots.items()}},
    }
    del q
    return payload, {f"{name}__p" for name in factors}


def per_step_values(traces: Mapping[str, Trace]) -> int:
    """About how many numbers one shipped step carries for these traces."""
    return sum(len(tr.cell.layout().nodes) + 3 * len(tr.cell.rows) + 12 for tr in traces.values())


def stepper_payload(traces: Mapping[str, Trace], labels: Mapping[str, str], *, layer: int = 0,
                    direction: int = 0, unit: int | None = 0, step: int = 0, step_token: int = 0,
                    play_ms: int = 350) -> dict:
    """The stepper's data (contract version 1) for ``traces`` keyed by cell, at one layer and direction.

    ``unit`` picks the unit whose numbers the diagram and the equations show (None: the mean over
    units, then the equations list the means); a cell with fewer layers or directions shows its last.
    """
    first = next(iter(traces.values()))
    times, note = shipped_times(first.steps, per_step_values(traces), step)
    cells, factors = [], set()
    for key, trace in traces.items():
        where = (min(layer, trace.spec.num_layers - 1), min(direction, trace.spec.directions - 1))
        chosen = None if unit is None else min(unit, trace.spec.hidden_size - 1)
        cell, found = cell_payload(trace, key, labels[key], times, *where, chosen)
        cells.append(cell)
        factors |= found
    size = max(tr.spec.hidden_size for tr in traces.values())
    return {
        "version": 1,
        "T": first.steps,
        "times": times.tolist(),
        "note": note,
        "step": int(min(max(step, times[0]), times[-1])),
        "step_token": int(step_token),
        "unit_label": (f"mean over {size} units (the equations list the means)" if unit is None
                       else f"unit {unit}"),
        "play_ms": play_ms,
        "factor_slots": sorted(factors),
        "cells": cells,
    }
