"""Connectivity: how strongly each output step depends on each input step, for the whole stack.

``connectivity(model, x)[t, s]`` is the Frobenius norm of d output_t / d x_s (``output`` as in
:attr:`lstmviz.results.Trace.output`: the last layer, all directions), the map of Madsen's
"Visualizing memorization in RNNs" (Distill, 2019), exact and for every registered cell.

How: forward-mode differentiation with one tangent column per input feature of each source step s.
Each layer and direction carries the tangent of its state through the closed-form step Jacobians of
the cells, in processing order:

    S_t = J_t S_{t-1} + B_t dX_t        J_t = d s_t / d s_{t-1}  (Cell.step_jacobians)
                                         B_t = d s_t / d x_t      (Cell.step_input_jacobians)

where dX_t is the tangent of the layer's input at t (layer 0: the unit columns of source t itself).
The h rows of S_t are d h_t / d x_s for every s at once. In a stack that only runs forward, h_t does
not depend on later inputs, so only the columns of s <= t are carried (the reverse direction of a
first layer: s >= t); a bidirectional stack above its first layer depends on every input.

Cost: about T^2 n (n + m) D / 2 multiply-adds per layer and direction for a causal one (twice that
otherwise): T steps, n the state size, m the layer's input size (0 for the first layer), D the input
features. Deeper stacks keep the tangent of each layer's output for a block of source steps, sized to
fit :data:`~lstmviz.limits.CONNECTIVITY_CHUNK_BYTES`. A request above the budgets of
:mod:`lstmviz.limits` is refused before any work.
"""

from __future__ import annotations

import numpy as np

from .cells import cell_for
from .limits import (
    CONNECTIVITY_BUDGET,
    CONNECTIVITY_BUDGET_BYTES,
    CONNECTIVITY_CHUNK_BYTES,
    JACOBIAN_CHUNK_BYTES,
)
from .model import Model, ModelSpec
from .trace import checked_input, order, trace

TANGENT_FLOOR = 1e-250
"""Tangent entries below this are set to 0 every :data:`FLUSH_EVERY` steps: they could only matter after
growing by 1e230, and left alone they reach the subnormal range, where arithmetic is many times slower."""
FLUSH_EVERY = 16


def connectivity(model: Model, x, *, h0=None, c0=None, interventions=()) -> np.ndarray:
    """(T, T) float64 array: entry [t, s] is ||d output_t / d x_s||_F.

    ``x`` is (T, input_size); ``h0``, ``c0`` and ``interventions`` as for :func:`lstmviz.trace` (a
    clamped quantity passes nothing back, so clamps cut paths from inputs to outputs). For a stack that
    only runs forward the map is lower triangular: output_t cannot depend on a later x_s. Entries below
    about 1e-250 read 0 (see :data:`TANGENT_FLOOR`).
    """
    if not isinstance(model, Model):
        raise ValueError(f"connectivity takes an lstmviz Model, got {type(model).__name__}")
    spec = model.spec
    steps = len(checked_input(x, spec))
    check_connectivity_budget(spec, steps)
    tr = trace(model, x, h0=h0, c0=c0, dtype="float64", interventions=interventions)
    norms = np.zeros((steps, steps))
    block = sources_per_block(spec, steps)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        for first in range(0, steps, block):
            sources = (first, min(steps, first + block))
            tangent = None  # the tangent of the layer's input: None for x itself
            for layer in range(spec.num_layers):
                top = layer == spec.num_layers - 1
                width = spec.output_size
                out = None if top else np.zeros((steps, spec.directions * width, _columns(spec, sources)))
                for d in range(spec.directions):
                    target = norms if top else out[:, d * width : (d + 1) * width]
                    _carry_tangents(tr, layer, d, tangent, sources, target, top)
                tangent = out
    return norms


def _columns(spec: ModelSpec, sources: tuple[int, int]) -> int:
    return (sources[1] - sources[0]) * spec.input_size


def _live(spec: ModelSpec, layer: int, direction: int, t: int, sources: tuple[int, int]) -> tuple[int, int]:
    """The source steps [a, b) within ``sources`` that state t of this layer and direction depends on."""
    first, stop = sources
    if layer > 0 and spec.bidirectional:
        return first, stop
    return (first, min(stop, t + 1)) if direction == 0 else (max(first, t), stop)


def _carry_tangents(tr, layer: int, d: int, tangent, sources: tuple[int, int], target: np.ndarray,
                    top: bool) -> None:
    """Run S_t = J_t S_{t-1} + B_t dX_t over one layer and direction for the source steps ``sources``.

    On the top layer the norms of the h rows are combined into ``target`` (T, T) (the two directions
    as sqrt(a^2 + b^2)); below it the h rows are written to ``target`` (T, H_out, columns), both in
    sequence order.
    """
    spec, cell = tr.spec, tr.cell
    steps, features, width = tr.steps, spec.input_size, spec.output_size
    p = {k: v.astype(np.float64) for k, v in tr.model.params(layer, d).items()}
    run = tr.runs[layer][d]
    n = cell.state_size()
    state = np.zeros((n, _columns(spec, sources)))
    first, stop = sources
    causal = layer == 0 or not spec.bidirectional
    start = 0 if not causal else (first if d == 0 else steps - stop)  # the first step with a live column
    inputs = spec.layer_input_size(layer)
    chunk = max(1, JACOBIAN_CHUNK_BYTES // (8 * n * (n + inputs)))
    sequence = order(np.arange(steps), d)  # sequence position of each processing step
    for block in range(start, steps, chunk):
        window = slice(block, min(steps, block + chunk))
        jac = cell.step_jacobians(p, run, window)
        jac_x = cell.step_input_jacobians(p, run, window)
        for k, t in enumerate(sequence[window]):
            a, b = _live(spec, layer, d, t, sources)
            lo, hi = (a - first) * features, (b - first) * features
            live = jac[k] @ state[:, lo:hi]
            if (window.start + k) % FLUSH_EVERY == 0:
                live[np.abs(live) < TANGENT_FLOOR] = 0.0
            if tangent is None:
                if first <= t < stop:  # x_t is a source of this pass: its own columns start here
                    column = (t - first) * features - lo
                    live[:, column : column + features] += jac_x[k]
            else:
                live += jac_x[k] @ tangent[t][:, lo:hi]
            state[:, lo:hi] = live
            h = live[:width]
            if top:
                target[t, a:b] = np.hypot(target[t, a:b], _source_norms(h, features))
            else:
                target[t, :, lo:hi] = h


def _source_norms(h: np.ndarray, features: int) -> np.ndarray:
    """Frobenius norm of each source's (H_out, features) block of columns of ``h``.

    Scaled by each block's largest entry, so a norm is exact far below 1e-154 and above 1e154, where
    its square would under- or overflow.
    """
    blocks = h.reshape(len(h), -1, features)
    peak = np.abs(blocks).max(axis=(0, 2))
    scale = np.where(np.isfinite(peak) & (peak > 0), peak, 1.0)[:, None]
    return peak * np.sqrt(np.square(blocks / scale).sum(axis=(0, 2)))


def sources_per_block(spec: ModelSpec, steps: int) -> int:
    """Source steps per pass: all of them for one layer, else as many as the chunk bytes allow."""
    if spec.num_layers == 1:
        return steps
    per_source = 2 * 8 * steps * spec.directions * spec.output_size * spec.input_size  # input and output
    return max(1, min(steps, CONNECTIVITY_CHUNK_BYTES // per_source))


def connectivity_cost(spec: ModelSpec, steps: int) -> float:
    """Multiply-adds of :func:`connectivity` over ``steps`` steps (the tangent products)."""
    n = cell_for(spec).state_size()
    total = 0.0
    for layer in range(spec.num_layers):
        causal = layer == 0 or not spec.bidirectional
        pairs = steps * (steps + 1) / 2 if causal else steps * steps
        inputs = 0 if layer == 0 else spec.layer_input_size(layer)
        total += spec.directions * pairs * spec.input_size * n * (n + inputs)
    return total


def connectivity_bytes(spec: ModelSpec, steps: int) -> int:
    """Bytes :func:`connectivity` holds at once besides the trace: the map, tangents and Jacobians."""
    n = cell_for(spec).state_size()
    columns = steps * spec.input_size
    held = steps * steps + n * columns  # the (T, T) map and the state tangent of one pass
    if spec.num_layers > 1:
        per_source = 2 * steps * spec.directions * spec.output_size * spec.input_size  # layer in and out
        held += per_source * sources_per_block(spec, steps)
    widest = max(spec.layer_input_size(layer) for layer in range(spec.num_layers))
    return 8 * held + min(JACOBIAN_CHUNK_BYTES, 8 * steps * n * (n + widest))


def check_connectivity_budget(spec: ModelSpec, steps: int) -> None:
    """Refuse, before any work, a connectivity map above the time or memory budget."""
    cost, size = connectivity_cost(spec, steps), connectivity_bytes(spec, steps)
    if cost > CONNECTIVITY_BUDGET or size > CONNECTIVITY_BUDGET_BYTES:
        raise ValueError(
            f"the connectivity of {steps:,} steps of this model would take about {cost:.1e} operations and "
            f"{size / 2**20:,.0f} MB (the limits are {CONNECTIVITY_BUDGET:.0e} and "
            f"{CONNECTIVITY_BUDGET_BYTES / 2**20:,.0f} MB): use fewer steps, input features, units or layers"
        )
