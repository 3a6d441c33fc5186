"""``trace()``: run a stack over one sequence and keep every gate, state and per-step gradient.

Stacking follows ``torch.nn.RNN/LSTM/GRU``: layer l > 0 reads the concatenated outputs of both
directions of layer l-1, and the reverse direction reads the sequence backwards (its arrays are stored
in sequence order). The loss is ``"last"``: L = sum(output[T-1]) (in torch: ``module(x)[0][-1].sum()``),
or ``"all"``: L = sum over t of sum(output[t]). Gradients come from each cell's hand-written BPTT
(:mod:`lstmviz.cells`); shapes are documented in :mod:`lstmviz.results`.
"""

from __future__ import annotations

import numpy as np

from .cells import CellRun, cell_for
from .interventions import check_interventions, clamps_for
from .limits import MAX_STEPS, TRACE_BUDGET_BYTES
from .model import Model, ModelSpec
from .results import LayerTrace, Trace

LOSSES = ("last", "all")
DTYPES = {"float32": np.float32, "float64": np.float64}


def trace(
    model: Model,
    x,
    loss: str = "last",
    *,
    h0=None,
    c0=None,
    dtype: str = "float32",
    interventions=(),
) -> Trace:
    """Trace ``model`` over ``x`` (T, input_size); ``h0``/``c0`` are shaped like torch's, without batch.

    ``interventions`` is a sequence of :class:`~lstmviz.interventions.Clamp`.
    """
    if not isinstance(model, Model):
        hint = (" (convert a torch module with lstmviz.from_torch(module))" if hasattr(model, "state_dict")
                else "")
        raise ValueError(f"trace takes an lstmviz Model{hint}, got {type(model).__name__}")
    spec = model.spec
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    if not isinstance(dtype, str) or dtype not in DTYPES:
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    work = DTYPES[dtype]
    xs = checked_input(x, spec, work)
    check_budget(spec, len(xs), work)
    clamps = check_interventions(interventions, spec, len(xs))
    h_init, c_init = _initial_states(spec, h0, c0, work)
    params = [
        [{k: v.astype(work) for k, v in model.params(layer, d).items()} for d in range(spec.directions)]
        for layer in range(spec.num_layers)
    ]
    # An exploding relu RNN overflows to inf and then NaN; that is a result to show, not an error.
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        return _run(model, xs, h_init, c_init, params, loss, work, clamps)


def trace_bytes(spec: ModelSpec, steps: int, itemsize: int = 8) -> int:
    """Bytes of the arrays a trace of ``spec`` over ``steps`` steps keeps (with its backward caches)."""
    per_layer = cell_for(spec).arrays_per_step() * spec.hidden_size + spec.layer_input_size(0)
    return itemsize * steps * per_layer * spec.num_layers * spec.directions


def check_budget(spec: ModelSpec, steps: int, work=np.float64) -> None:
    """Refuse, before any work, a trace whose arrays would pass :data:`TRACE_BUDGET_BYTES`."""
    size = trace_bytes(spec, steps, np.dtype(work).itemsize)
    if size > TRACE_BUDGET_BYTES:
        raise ValueError(
            f"this trace would keep {size / 2**20:,.0f} MB of gates, states and gradients (the limit is "
            f"{TRACE_BUDGET_BYTES / 2**20:,.0f} MB): use fewer steps, units or layers, or one direction"
        )


def _run(model, xs, h_init, c_init, params, loss, work, interventions) -> Trace:
    spec = model.spec
    cell = cell_for(spec)
    runs: list[list[CellRun]] = []
    layer_input = xs
    for layer in range(spec.num_layers):
        runs.append([])
        for d in range(spec.directions):
            index = layer * spec.directions + d
            c_start = None if c_init is None else c_init[index]
            clamps = clamps_for(cell, interventions, len(xs), layer, d, work)
            runs[layer].append(
                cell.forward(params[layer][d], order(layer_input, d), h_init[index], c_start, clamps)
            )
        layer_input = np.concatenate([order(run.h, d) for d, run in enumerate(runs[layer])], axis=1)
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
            direct = order(grad_output[:, d * width : (d + 1) * width], d)
            grads = cell.backward(params[layer][d], run, direct)
            grad_input += order(grads.inputs, d)
            index = layer * spec.directions + d
            c_start = None if c_init is None else c_init[index]
            traces.append(_layer_trace(run, grads, direct, h_init[index], c_start, d))
        layers[layer] = tuple(traces)
        grad_output = grad_input

    return Trace(
        model=model,
        loss_kind=loss,
        x=xs,
        output=output,
        loss=loss_value,
        grad_x=grad_output,
        layers=tuple(layers),
        interventions=interventions,
        runs=tuple(tuple(r) for r in runs),
    )


def order(sequence: np.ndarray, direction: int) -> np.ndarray:
    """Processing order for ``direction`` (and back: flipping twice is the identity)."""
    return np.ascontiguousarray(sequence[::-1]) if direction else sequence


def _layer_trace(run: CellRun, grads, direct, h0, c0, direction: int) -> LayerTrace:
    def seq(a):
        return None if a is None else order(a, direction)

    return LayerTrace(
        h=seq(run.h),
        c=seq(run.c),
        gates={k: seq(v) for k, v in run.gates.items()},
        preactivations={k: seq(v) for k, v in run.preactivations.items()},
        grad_h=seq(grads.h),
        grad_c=seq(grads.c),
        grad_preactivations={k: seq(v) for k, v in grads.preactivations.items()},
        grad_h_direct=seq(direct),
        h0=h0,
        c0=c0,
    )


def _as_array(value, name: str) -> np.ndarray:
    """Plain float64 array from a list, an array or a (CPU or GPU, grad-tracking) torch tensor."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    if isinstance(value, str | bytes):
        raise ValueError(f"{name} must be numbers, got text (parse it with lstmviz.parse_sequence first)")
    array = np.asarray(value)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise ValueError(f"{name} must be an array of real numbers, got {array.dtype}")
    if np.iscomplexobj(array):
        raise ValueError(f"{name} must be real numbers, got complex values")
    return array.astype(np.float64)


def checked_input(x, spec: ModelSpec, work=np.float64) -> np.ndarray:
    """``x`` as a (T, input_size) array of the working dtype, after every check."""
    array = _as_array(x, "x")
    if array.ndim == 1 and spec.input_size == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[1] != spec.input_size:
        raise ValueError(f"x must have shape (T, {spec.input_size}) for this model, got {tuple(array.shape)}")
    if not 1 <= len(array) <= MAX_STEPS:
        raise ValueError(f"x must have 1 to {MAX_STEPS:,} steps, got {len(array):,}")
    cast = array.astype(work)
    if not np.all(np.isfinite(cast)):
        raise ValueError(f"x holds NaN or inf (or values beyond {np.dtype(work).name}'s range)")
    return cast


def _initial_states(spec: ModelSpec, h0, c0, work) -> tuple[np.ndarray, np.ndarray | None]:
    count = spec.num_layers * spec.directions
    h_init = _state(h0, (count, spec.output_size), "h0", work)
    if not cell_for(spec).cell_state:
        if c0 is not None:
            raise ValueError(f"c0 is only for cells with a cell state, not the {cell_for(spec).label}")
        return h_init, None
    return h_init, _state(c0, (count, spec.hidden_size), "c0", work)


def _state(value, shape: tuple[int, int], name: str, work) -> np.ndarray:
    if value is None:
        return np.zeros(shape, dtype=work)
    array = _as_array(value, name)
    if array.ndim == 3 and array.shape[1] == 1:  # torch's (layers*dirs, batch=1, size)
        array = array[:, 0]
    if array.ndim == 1 and shape[0] == 1:
        array = array[None]
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape} (layers*directions, size), got {array.shape}")
    cast = array.astype(work)
    if not np.all(np.isfinite(cast)):
        raise ValueError(f"{name} holds NaN or inf")
    return cast
