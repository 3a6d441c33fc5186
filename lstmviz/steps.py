"""One step of a trace, as the app shows it: the step's numbers in the equations and on the diagram.

:func:`quantities` gathers, for chosen steps of one layer and direction, everything a cell's templates
and diagram read: gates, pre-activations, states and the states before, the gradients and what the
next processed step sends back along each backward path. :func:`substituted` fills the cell's
forward equations with one unit's numbers, :func:`substituted_backward` its backward equations, and
:func:`node_series` gives every diagram node's value, for one unit or the mean over units. Every
number is the trace's own (4 significant digits shown, :func:`lstmviz.cells.text.number`).
"""

from __future__ import annotations

import numpy as np

from .cells.text import fill
from .jacobian import backward_flows
from .results import Trace


def previous_position(tr: Trace, direction: int, t: int) -> int | None:
    """The step processed before position t (t-1 forward, t+1 reverse); None at the start."""
    prev = t + 1 if direction else t - 1
    return prev if 0 <= prev < tr.steps else None


def next_position(tr: Trace, direction: int, t: int) -> int | None:
    nxt = t - 1 if direction else t + 1
    return nxt if 0 <= nxt < tr.steps else None


def clamped_names(tr: Trace, layer: int, direction: int, t: int, unit: int | None = None) -> frozenset[str]:
    """What an intervention fixes at position t of this layer and direction, on ``unit`` (None: any unit).

    The h of a projected LSTM has its own units (proj_size of them, not the unit shown), so it counts
    when any of its units is clamped.
    """
    projected = tr.spec.output_size != tr.spec.hidden_size
    return frozenset(
        c.name
        for c in tr.interventions
        if (c.layer, c.direction) == (layer, direction) and c.steps[0] <= t < c.steps[1]
        and (unit is None or c.units is None or unit in c.units or (projected and c.name == "h"))
    )


def _at(values: np.ndarray, index: np.ndarray, valid: np.ndarray, fill_value) -> np.ndarray:
    out = values[np.clip(index, 0, len(values) - 1)].astype(np.float64)
    out[~valid] = fill_value
    return out


def quantities(tr: Trace, layer: int, direction: int, times) -> dict[str, np.ndarray]:
    """Every quantity of ``times`` (sequence positions) of one layer and direction: name -> (K, n)."""
    lt = tr.layers[layer][direction]
    times = np.atleast_1d(np.asarray(times, dtype=int))
    step = 1 if direction else -1  # position of the previous processed step = t + step
    prev, nxt = times + step, times - step
    has_prev = (prev >= 0) & (prev < tr.steps)
    has_next = (nxt >= 0) & (nxt < tr.steps)
    q: dict[str, np.ndarray] = {
        "h": lt.h[times],
        "h_prev": _at(lt.h, prev, has_prev, 0.0),
        "dh": lt.grad_h[times],
        "dh_direct": lt.grad_h_direct[times],
    }
    q["h_prev"][~has_prev] = lt.h0
    if lt.c is not None:
        q["c"], q["dc"] = lt.c[times], lt.grad_c[times]
        q["c_prev"] = _at(lt.c, prev, has_prev, 0.0)
        q["c_prev"][~has_prev] = lt.c0
    q |= {k: v[times] for k, v in lt.gates.items()}
    q |= {f"a_{k}": v[times] for k, v in lt.preactivations.items()}
    q |= {f"da_{k}": v[times] for k, v in lt.grad_preactivations.items()}
    for path, flow in backward_flows(tr, layer, direction).items():
        q[f"next_{path}"] = _at(flow, nxt, has_next, 0.0)
    mask = _clamp_mask(tr, layer, direction, "h", lt.h.shape)
    if mask is not None:
        q["keep_h"] = (~mask[times]).astype(np.float64)
    return q


def _clamp_mask(tr: Trace, layer: int, direction: int, name: str, shape) -> np.ndarray | None:
    chosen = [c for c in tr.interventions if (c.layer, c.direction, c.name) == (layer, direction, name)]
    if not chosen:
        return None
    mask = np.zeros(shape, dtype=bool)
    for c in chosen:
        mask[c.steps[0] : c.steps[1], slice(None) if c.units is None else list(c.units)] = True
    return mask


def _unit(values: dict[str, np.ndarray], unit: int) -> dict[str, float]:
    """Each array's value at ``unit`` (NaN where the array has fewer units, e.g. a projected h)."""
    return {k: float(v[0, unit]) if v.shape[-1] > unit else float("nan") for k, v in values.items()}


def _labels(tr: Trace, direction: int, t: int) -> dict:
    prev, nxt = previous_position(tr, direction, t), next_position(tr, direction, t)
    return {"t": t, "tp": t + 1 if direction else t - 1, "tn": nxt if nxt is not None else "",
            "has_prev": prev is not None}


def substituted(tr: Trace, t: int, layer: int = 0, direction: int = 0, unit: int = 0) -> list[str]:
    """The forward equations of ``unit`` at position ``t`` with the trace's numbers (LaTeX lines).

    A gate reads ``f_{5} = \\sigma(2.063) = 0.8872``: the activation of its pre-activation. A line
    that starts with ``=`` continues the equation above it.
    """
    cell = tr.cell
    q = quantities(tr, layer, direction, [t])
    values = _unit(cell.slots(q, _params(tr, layer, direction)), unit)
    values["proj"] = tr.spec.proj_size
    labels = _labels(tr, direction, t)
    return fill(cell.step_templates(clamped_names(tr, layer, direction, t, unit)), values,
                t=labels["t"], tp=labels["tp"], tn=labels["tn"])


def substituted_backward(tr: Trace, t: int, layer: int = 0, direction: int = 0, unit: int = 0) -> list[str]:
    """The backward equations of ``unit`` at position ``t`` with the trace's numbers (LaTeX lines)."""
    cell = tr.cell
    q = quantities(tr, layer, direction, [t])
    values = _unit(cell.backward_slots(q, _params(tr, layer, direction)), unit)
    labels = _labels(tr, direction, t)
    templates = backward_templates_at(tr, layer, direction, t, unit)
    return fill(templates, values, t=labels["t"], tp=labels["tp"], tn=labels["tn"])


def backward_templates_at(tr: Trace, layer: int, direction: int, t: int, unit: int) -> list[str]:
    """The backward templates of ``unit`` at position ``t``: which lines hold depends on whether a
    later step exists and on what is clamped here and at the step processed next."""
    nxt = next_position(tr, direction, t)
    clamped_next = frozenset() if nxt is None else clamped_names(tr, layer, direction, nxt, unit)
    return tr.cell.backward_templates(nxt is None, clamped_names(tr, layer, direction, t, unit), clamped_next)


def node_series(tr: Trace, layer: int, direction: int, unit: int | None, times) -> dict[str, np.ndarray]:
    """Each diagram node's value at ``times``: for ``unit``, or the mean over units when None.

    Products (the diagram's operation nodes) are taken per unit first, so for the mean they are
    means of products. Nodes with no value (a concatenation) are absent.
    """
    q = quantities(tr, layer, direction, times)
    values = tr.cell.node_values(q)
    picked = {}
    for key, series in values.items():
        if unit is None:
            with np.errstate(invalid="ignore"):
                picked[key] = series.mean(axis=1)
        else:
            picked[key] = series[:, unit] if series.shape[1] > unit else np.full(len(series), np.nan)
    picked["x"] = input_series(tr, layer, times)
    return picked


def input_series(tr: Trace, layer: int, times) -> np.ndarray:
    """x_t as one number per step: the value for a single feature, else its norm ‖x_t‖."""
    x = tr.x if layer == 0 else np.concatenate([lt.h for lt in tr.layers[layer - 1]], axis=1)
    x = x[np.atleast_1d(times)].astype(np.float64)
    return x[:, 0] if x.shape[1] == 1 else np.linalg.norm(x, axis=1)


def _params(tr: Trace, layer: int, direction: int) -> dict[str, np.ndarray]:
    return tr.model.params(layer, direction)
