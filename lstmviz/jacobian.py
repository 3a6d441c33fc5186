"""How fast the state forgets: norms of the state-to-state Jacobians of every layer and direction.

For a cell s_t = F(x_t, s_{t-1}) (s = h, or (h, c) concatenated for the LSTM):

    step[t]    = ||ds_t/ds_{t-1}||_2                 one step's Jacobian J_t
    to_last[t] = ||ds_T/ds_t||_2 = ||J_T ... J_{t+1}||_2   (1 at t = T)

The per-step Jacobians come from ``torch.func.jacrev`` of the reference steps in :mod:`lstmviz.cells`,
evaluated at the states of the trace. The running product is renormalised at every step (its scale
kept as a logarithm) so it neither under- nor overflows before the norm is taken.

Two references beside them (Pascanu, Mikolov & Bengio 2013, "On the difficulty of training RNNs"):
the RNN's bound (gamma * sigma_max(W_hh))^(T-t) with gamma = 1 bounding |tanh'| and relu' -- below 1 it
proves vanishing; and the LSTM's additive cell-state path prod_{k>t} f_k per unit (Hochreiter &
Schmidhuber 1997; Gers et al. 2000), which barely shrinks while f stays near 1.

Cost: O(K * n^3) for K steps of an n-dimensional state; ``max_steps`` limits K to the last steps
(earlier entries are NaN).
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from . import cells
from .model import Model
from .results import JacobianNorms, Trace
from .trace import _order, trace

_CHUNK = 256  # steps per vmapped Jacobian batch: bounds memory at CHUNK * n^2 floats


def jacobian_norms(
    model: Model, x, *, h0=None, c0=None, max_steps: int | None = None
) -> tuple[tuple[JacobianNorms, ...], ...]:
    """Jacobian norms indexed ``[layer][direction]``, time axes in sequence order."""
    if max_steps is not None and (not isinstance(max_steps, int) or max_steps < 1):
        raise ValueError(f"max_steps must be a positive integer or None, got {max_steps!r}")
    run = trace(model, x, h0=h0, c0=c0, dtype="float64")
    h_init = _initial(h0, run, model.spec.output_size)
    c_init = _initial(c0, run, model.spec.hidden_size)
    result = []
    for layer in range(model.spec.num_layers):
        inputs = run.x if layer == 0 else np.concatenate([lt.h for lt in run.layers[layer - 1]], axis=1)
        per_direction = []
        for d in range(model.spec.directions):
            index = layer * model.spec.directions + d
            norms = _direction_norms(
                model, run, layer, d, _order(inputs, d), h_init[index], c_init[index], max_steps
            )
            per_direction.append(norms)
        result.append(tuple(per_direction))
    return tuple(result)


def _direction_norms(model, run: Trace, layer, d, inputs, h0, c0, max_steps) -> JacobianNorms:
    spec = model.spec
    params = {k: torch.from_numpy(v) for k, v in model.params(layer, d).items()}
    lt = run.layers[layer][d]
    states = _order(lt.h, d) if spec.cell != "lstm" else np.concatenate([_order(lt.h, d), _order(lt.c, d)], 1)
    initial = h0 if spec.cell != "lstm" else np.concatenate([h0, c0])
    previous = np.concatenate([initial[None], states[:-1]])
    steps = len(states)
    window = steps if max_steps is None else min(steps, max_steps)
    first = steps - window  # earliest step whose norms are computed

    step_fn = _step_function(spec, params)
    jac_fn = torch.func.vmap(torch.func.jacrev(step_fn, argnums=1))
    step_norm = np.full(steps, np.nan)
    to_last = np.full(steps, np.nan)
    product = None  # J_T ... J_{t+1} / exp(log_scale), n x n
    log_scale = 0.0
    for stop in range(steps, first, -_CHUNK):
        start = max(first, stop - _CHUNK)
        jac = jac_fn(torch.from_numpy(inputs[start:stop]), torch.from_numpy(previous[start:stop]))
        step_norm[start:stop] = _spectral_norms(jac)
        if product is None:
            product = torch.eye(jac.shape[-1], dtype=jac.dtype)
        for t in range(stop - 1, start - 1, -1):
            with np.errstate(over="ignore", invalid="ignore"):  # beyond float64: inf, as it is
                to_last[t] = np.exp(log_scale) * _spectral_norms(product[None])[0]
            product, log_scale = _renormalised(product @ jac[t - start], log_scale)

    return JacobianNorms(
        to_last=_order(to_last, d),
        step=_order(step_norm, d),
        forget_path=_forget_path(_order(lt.gates["f"], d), d) if spec.cell == "lstm" else None,
        pascanu_bound=_pascanu(params["weight_hh"], steps, d) if spec.cell == "rnn" else None,
    )


def _spectral_norms(matrices: torch.Tensor) -> np.ndarray:
    """||M||_2 of each matrix in a batch; NaN for a matrix holding NaN or inf (an exploded state)."""
    finite = torch.isfinite(matrices).all(dim=(-2, -1))
    norms = torch.full(finite.shape, float("nan"), dtype=torch.float64)
    norms[finite] = torch.linalg.matrix_norm(matrices[finite], ord=2)
    return norms.numpy()


def _renormalised(product: torch.Tensor, log_scale: float) -> tuple[torch.Tensor, float]:
    scale = float(torch.linalg.matrix_norm(product))
    if not np.isfinite(scale):
        return product, float("nan")
    if scale == 0.0:  # the state is forgotten exactly (e.g. dead relu units): every earlier norm is 0
        return product, -np.inf
    return product / scale, log_scale + float(np.log(scale))


def _step_function(spec, params):
    if spec.cell == "rnn":
        return functools.partial(_rnn, params, spec.nonlinearity == "relu")
    if spec.cell == "gru":
        step = cells.gru_tutorial_step if spec.gru_variant == "tutorial" else cells.gru_step
        return functools.partial(step, params)
    return functools.partial(_lstm, params, spec.output_size)


def _rnn(params, relu, x, h):
    return cells.rnn_step(params, x, h, relu=relu)


def _lstm(params, out_size, x, state):
    h, c = state[:out_size], state[out_size:]
    h_next, c_next = cells.lstm_step(params, x, h, c)
    return torch.cat([h_next, c_next])


def _forget_path(f: np.ndarray, d: int) -> np.ndarray:
    """prod_{k>t} f_k per unit, in processing order; computed as a reversed cumulative log-sum."""
    with np.errstate(divide="ignore"):
        logs = np.log(f.astype(np.float64))
    after = np.concatenate([np.cumsum(logs[::-1], axis=0)[::-1][1:], np.zeros((1, f.shape[1]))])
    return _order(np.exp(after), d)


def _pascanu(w_hh: torch.Tensor, steps: int, d: int) -> np.ndarray:
    sigma_max = float(torch.linalg.matrix_norm(w_hh, ord=2))
    gamma = 1.0  # max |phi'| for tanh and for relu
    with np.errstate(over="ignore", under="ignore"):
        bound = (gamma * sigma_max) ** np.arange(steps - 1, -1, -1, dtype=np.float64)
    return _order(bound, d)


def _initial(value, run: Trace, size: int) -> np.ndarray:
    count = run.spec.num_layers * run.spec.directions
    if value is None:
        return np.zeros((count, size))
    return np.asarray(value, dtype=np.float64).reshape(count, size)
