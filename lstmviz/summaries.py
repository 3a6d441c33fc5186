"""Numbers read off a trace: the gradient horizon, gate saturation, and non-finite values.

Notation of the shared reference: delta_h_t = dL/dh_t (total derivative, through every later step).

- :func:`gradient_horizon`: how many steps back from the last step T the gradient stays above
  ``threshold * ||delta_h_T||``. Meaningful with ``loss="last"``, where the loss sits at T only.
- :func:`saturation`: the share of each gate's values in its flat tails, where sigma' or tanh' is
  nearly 0 and the gradient through the gate vanishes. Sigmoid gates (i, f, o, r, z) count values
  below 0.1 and above 0.9; tanh quantities (g, n, and the RNN's h) count values below -0.9 and
  above 0.9.
- :func:`nonfinite_counts`: inf/NaN per quantity, for explaining an exploding configuration.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .results import Trace


@dataclass(frozen=True)
class Horizon:
    """``steps``: steps back from T until ``||delta_h_t|| < threshold * ||delta_h_T||``.

    ``None`` when the gradient never falls that far within the sequence (then it stays above the
    threshold for all ``available`` = T - 1 earlier steps) or when ``||delta_h_T||`` is 0 or not finite.
    """

    steps: int | None
    available: int
    reference: float
    threshold: float

    def describe(self) -> str:
        if not np.isfinite(self.reference) or self.reference == 0:
            return "undefined (the gradient at T is 0 or not finite)"
        if self.steps is None:
            return f"> {self.available} steps (never below {self.threshold:g} of its value at T)"
        return f"{self.steps} steps"


@dataclass(frozen=True)
class Saturation:
    """Shares of one gate's values (over all steps and units) in the low and high tails."""

    cell: str
    layer: int
    direction: int
    gate: str
    low: float
    high: float
    low_label: str
    high_label: str

    @property
    def total(self) -> float:
        return self.low + self.high


def row_norms(array: np.ndarray) -> np.ndarray:
    """||row||_2 in float64, scaled by each row's largest entry: squaring would turn entries below
    about 1e-154 into 0 (and above 1e154 into inf), so a float64 trace's norms would underflow long
    before its values do."""
    magnitude = np.abs(np.asarray(array, dtype=np.float64))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        top = magnitude.max(axis=1)
        scale = np.where((top > 0) & np.isfinite(top), top, 1.0)
        norms = np.sqrt(np.square(magnitude / scale[:, None]).sum(axis=1)) * scale
    return np.where(np.isfinite(top) & (top > 0), norms, top)  # 0 stays 0, inf and NaN stay


def gradient_norms(trace: Trace, layer: int = 0, direction: int = 0) -> np.ndarray:
    """``||delta_h_t||_2`` for every step t (float64, sequence order; see :func:`row_norms`)."""
    return row_norms(trace.layers[layer][direction].grad_h)


def gradient_horizon(trace: Trace, layer: int = 0, direction: int = 0, threshold: float = 1e-3) -> Horizon:
    """The gradient horizon of one layer and direction (layer 0, forward by default)."""
    norms = gradient_norms(trace, layer, direction)
    reference = float(norms[-1])
    available = len(norms) - 1
    if not np.isfinite(reference) or reference == 0:
        return Horizon(None, available, reference, threshold)
    back = norms[::-1][1:]  # back[k-1] = ||delta_h_{T-k}||
    below = np.flatnonzero(back < threshold * reference)
    steps = int(below[0]) + 1 if len(below) else None
    return Horizon(steps, available, reference, threshold)


def steps_per_decade(trace: Trace, layer: int = 0, direction: int = 0) -> float | None:
    """How many steps back from T the gradient takes, on average, to fall by a factor of 10.

    The slope of a least-squares line through log10 ||delta_h_t|| against t (steps with a finite,
    positive norm); None when the gradient does not fall going back (or there are too few steps).
    """
    norms = gradient_norms(trace, layer, direction)
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log10(norms)
    usable = np.isfinite(logs)
    if usable.sum() < 3:
        return None
    slope = float(np.polyfit(np.flatnonzero(usable), logs[usable], 1)[0])
    return 1.0 / slope if slope > 1e-12 else None


def retained(trace: Trace, layer: int = 0, direction: int = 0) -> float:
    """||delta_h_0|| / ||delta_h_T||: the share of the gradient at T that reaches the first step."""
    norms = gradient_norms(trace, layer, direction)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(norms[0] / norms[-1])


def saturation(trace: Trace) -> list[Saturation]:
    """One :class:`Saturation` per squashed gate, layer and direction (the RNN's tanh output h as its gate).

    Linear quantities (the min cells' candidate, a relu RNN's h) have no flat tails and are left out.
    """
    cell = trace.cell
    rows = []
    for layer, directions in enumerate(trace.layers):
        for direction, lt in enumerate(directions):
            quantities = lt.gates if lt.gates else ({} if getattr(cell, "relu", False) else {"h": lt.h})
            for gate, values in quantities.items():
                if gate not in cell.linear_gates:
                    sigmoid = gate in cell.sigmoid_gates
                    rows.append(_saturation_row(cell.name, layer, direction, gate, values, sigmoid))
    return rows


def _saturation_row(cell: str, layer: int, direction: int, gate: str, values: np.ndarray,
                    sigmoid: bool) -> Saturation:
    finite = values[np.isfinite(values)]
    count = max(finite.size, 1)
    if sigmoid:
        low, high, labels = finite < 0.1, finite > 0.9, ("< 0.1", "> 0.9")
    else:
        low, high, labels = finite < -0.9, finite > 0.9, ("< -0.9", "> 0.9")
    return Saturation(
        cell, layer, direction, gate, float(low.sum()) / count, float(high.sum()) / count, *labels
    )


def nonfinite_counts(trace: Trace) -> dict[str, int]:
    """Quantities holding inf or NaN, with how many values (an empty dict when all are finite)."""
    arrays: dict[str, np.ndarray] = {"output": trace.output, "grad_x": trace.grad_x}
    for layer, directions in enumerate(trace.layers):
        for direction, lt in enumerate(directions):
            where = f"[layer {layer}{', reverse' if direction else ''}]"
            named = {"h": lt.h, "c": lt.c, "grad_h": lt.grad_h, "grad_c": lt.grad_c, **lt.gates}
            arrays.update({f"{k} {where}": v for k, v in named.items() if v is not None})
    counts = {name: int(np.size(a) - np.count_nonzero(np.isfinite(a))) for name, a in arrays.items()}
    return {name: n for name, n in counts.items() if n}
