"""``trace()``: run a stack over one sequence and keep every gate, state and per-step gradient.

Stacking follows ``torch.nn.RNN/LSTM/GRU``: layer l > 0 reads the concatenated outputs of both
directions of layer l-1, and the reverse direction reads the sequence backwards (its arrays are stored
in sequence order). The loss is ``"last"``: L = sum(output[T-1]) (in torch: ``module(x)[0][-1].sum()``),
or ``"all"``: L = sum over t of sum(output[t]). Gradients come from the hand-written BPTT of
:mod:`lstmviz.engine`; shapes are documented in :mod:`lstmviz.results`.
"""

from __future__ import annotations

import numpy as np

from .engine import CellRun, engine_for
from .model import Model, ModelSpec
from .results import LayerTrace, Trace

LOSSES = ("last", "all")
DTYPES = {"float32": np.float32, "float64": np.float64}
MAX_TRACE_STEPS = 100_000  # beyond this the stored gates alone would pass gigabytes


def trace(
    model: Model,
    x,
    loss: str = "last",
    *,
    h0=None,
    c0=None,
    dtype: str = "float32",
) -> Trace:
    """Trace ``model`` over ``x`` (T, input_size); ``h0``/``c0`` are shaped like torch's, without batch."""
    spec = model.spec
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    if str(np.dtype(dtype)) not in DTYPES:
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
    work = np.dtype(dtype).type
    xs = _checked_input(x, spec).astype(work)
    h_init, c_init = _initial_states(spec, h0, c0, work)
    engine = engine_for(spec.cell, spec.nonlinearity, spec.gru_variant)
    params = [
        [{k: v.astype(work) for k, v in model.params(layer, d).items()} for d in range(spec.directions)]
        for layer in range(spec.num_layers)
    ]

    # An exploding relu RNN overflows to inf and then NaN; that is a result to show, not an error.
    with np.errstate(over="ignore", invalid="ignore"):
        return _run(model, xs, h_init, c_init, engine, params, loss, work)


def _run(model, xs, h_init, c_init, engine, params, loss, work) -> Trace:
    spec = model.spec
    runs: list[list[CellRun]] = []
    layer_input = xs
    for layer in range(spec.num_layers):
        runs.append([])
        for d in range(spec.directions):
            index = layer * spec.directions + d
            c_start = None if c_init is None else c_init[index]
            runs[layer].append(
                engine.forward(params[layer][d], _order(layer_input, d), h_init[index], c_start)
            )
        layer_input = np.concatenate([_order(run.h, d) for d, run in enumerate(runs[layer])], axis=1)
    output = layer_input

    grad_output = np.zeros_like(output)
    if loss == "last":
        grad_output[-1] = 1.0
    else:
        grad_output[:] = 1.0
    loss_value = float(output[-1].sum(dtype=np.float64) if loss == "last" else output.sum(dtype=np.float64))

    width = spec.output_size
    layers: list[tuple[LayerTrace, ...]] = [()] * spec.num_layers
    for layer in reversed(range(spec.num_layers)):
        grad_input = np.zeros((len(xs), spec.layer_input_size(layer)), dtype=work)
        traces = []
        for d, run in enumerate(runs[layer]):
            direct = _order(grad_output[:, d * width : (d + 1) * width], d)
            grad_h, grad_c, grad_in = engine.backward(params[layer][d], run, direct)
            grad_input += _order(grad_in, d)
            traces.append(_layer_trace(run, grad_h, grad_c, d))
        layers[layer] = tuple(traces)
        grad_output = grad_input

    return Trace(
        spec=spec,
        loss_kind=loss,
        x=xs,
        output=output,
        loss=loss_value,
        grad_x=grad_output,
        layers=tuple(layers),
    )


def _order(sequence: np.ndarray, direction: int) -> np.ndarray:
    """Processing order for ``direction`` (and back: flipping twice is the identity)."""
    return np.ascontiguousarray(sequence[::-1]) if direction else sequence


def _layer_trace(run: CellRun, grad_h, grad_c, direction: int) -> LayerTrace:
    def seq(a):
        return None if a is None else _order(a, direction)

    return LayerTrace(
        h=seq(run.h),
        c=seq(run.c),
        gates={k: seq(v) for k, v in run.gates.items()},
        preactivations={k: seq(v) for k, v in run.preactivations.items()},
        grad_h=seq(grad_h),
        grad_c=seq(grad_c),
    )


def _as_array(value) -> np.ndarray:
    """Plain float64 array from a list, an array or a (CPU or GPU, grad-tracking) torch tensor."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


def _checked_input(x, spec: ModelSpec) -> np.ndarray:
    array = _as_array(x)
    if array.ndim == 1 and spec.input_size == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[1] != spec.input_size:
        raise ValueError(f"x must have shape (T, {spec.input_size}) for this model, got {tuple(np.shape(x))}")
    if not 1 <= len(array) <= MAX_TRACE_STEPS:
        raise ValueError(f"x must have 1 to {MAX_TRACE_STEPS} steps, got {len(array)}")
    if not np.all(np.isfinite(array)):
        raise ValueError("x holds NaN or inf")
    return array


def _initial_states(spec: ModelSpec, h0, c0, work) -> tuple[np.ndarray, np.ndarray | None]:
    count = spec.num_layers * spec.directions
    h_init = _state(h0, (count, spec.output_size), "h0", work)
    if spec.cell != "lstm":
        if c0 is not None:
            raise ValueError(f"c0 is only for the LSTM, not the {spec.cell.upper()}")
        return h_init, None
    return h_init, _state(c0, (count, spec.hidden_size), "c0", work)


def _state(value, shape: tuple[int, int], name: str, work) -> np.ndarray:
    if value is None:
        return np.zeros(shape, dtype=work)
    array = _as_array(value)
    if array.ndim == 3 and array.shape[1] == 1:  # torch's (layers*dirs, batch=1, size)
        array = array[:, 0]
    if array.ndim == 1 and shape[0] == 1:
        array = array[None]
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape} (layers*directions, size), got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds NaN or inf")
    return array.astype(work)
