"""How fast the state forgets: the state-to-state Jacobians of every layer and direction.

For a cell s_t = F(x_t, s_{t-1}) (s = h, or (h, c) for a cell with a cell state):

    step[t]    = ||ds_t/ds_{t-1}||_2                       one step's Jacobian J_t
    to_last[t] = ||ds_T/ds_t||_2 = ||J_T ... J_{t+1}||_2   (1 at t = T)

Each cell writes J_t in closed form from its forward pass (:meth:`lstmviz.cells.Cell.step_jacobians`;
the tests check it against ``torch.func.jacrev`` of the cell's reference step). The running product is
renormalised at every step (its scale kept as a logarithm), so it neither under- nor overflows.

Two references beside them (Pascanu, Mikolov & Bengio 2013, "On the difficulty of training RNNs"):
the RNN's bound (gamma * sigma_max(W_hh))^(T-t) with gamma = 1 bounding |tanh'| and relu' -- below 1
it proves vanishing; and each gated cell's carry path, the product over later steps of its direct
per-unit factor (the LSTM's prod f_k on c: Hochreiter & Schmidhuber 1997, Gers et al. 2000; the GRU's
z_k; minGRU's 1 - z_k; minLSTM's f'_k), which barely shrinks while that factor stays near 1.

Cost: about K * n^3 operations for K steps of an n-dimensional state; ``max_steps`` limits K to the
last steps of each direction (the others are marked not computed), and a request above
:data:`~lstmviz.limits.JACOBIAN_BUDGET` is refused before any work.
"""

from __future__ import annotations

import numpy as np

from .cells import CellGrads, cell_for
from .limits import JACOBIAN_BUDGET, JACOBIAN_CHUNK_BYTES
from .model import Model
from .results import JacobianNorms, Trace
from .trace import order, trace


def jacobian_cost(spec, steps: int) -> float:
    """Operations (about K * n^3 per layer and direction) of the Jacobian norms over ``steps`` steps."""
    n = cell_for(spec).state_size()
    return float(steps) * n**3 * spec.num_layers * spec.directions


def jacobian_norms(
    source: Model | Trace, x=None, *, h0=None, c0=None, max_steps: int | None = None, interventions=()
) -> tuple[tuple[JacobianNorms, ...], ...]:
    """Jacobian norms indexed ``[layer][direction]``, time axes in sequence order.

    ``source`` is a model (then ``x`` is traced in float64) or a float64 :class:`Trace` to reuse.
    """
    tr = float64_trace(source, x, h0=h0, c0=c0, interventions=interventions)
    steps = tr.steps
    if max_steps is not None and (isinstance(max_steps, bool) or not isinstance(max_steps, int)
                                  or max_steps < 1):
        raise ValueError(f"max_steps must be a positive integer or None, got {max_steps!r}")
    window = steps if max_steps is None else min(steps, max_steps)
    cost = jacobian_cost(tr.spec, window)
    if cost > JACOBIAN_BUDGET:
        affordable = max(1, int(JACOBIAN_BUDGET // jacobian_cost(tr.spec, 1)))
        raise ValueError(
            f"Jacobians over {window:,} steps of this model would take about {cost:.1e} operations "
            f"(the limit is {JACOBIAN_BUDGET:.0e}): pass max_steps={affordable} or fewer, or use "
            "a smaller model"
        )
    return tuple(
        tuple(_direction_norms(tr, layer, d, window) for d in range(tr.spec.directions))
        for layer in range(tr.spec.num_layers)
    )


def float64_trace(source: Model | Trace, x=None, **kwargs) -> Trace:
    """``source`` if it is already a float64 trace, else a float64 trace of it."""
    if isinstance(source, Trace):
        if source.x.dtype == np.float64:
            return source
        lts = [lt for layer in source.layers for lt in layer]
        h0 = np.stack([lt.h0 for lt in lts])
        c0 = None if lts[0].c0 is None else np.stack([lt.c0 for lt in lts])
        return trace(source.model, source.x, source.loss_kind, h0=h0, c0=c0, dtype="float64",
                     interventions=source.interventions)
    if x is None:
        raise ValueError("give the sequence x to trace, or pass a Trace")
    return trace(source, x, dtype="float64", **kwargs)


def step_jacobians(tr: Trace, layer: int, direction: int, steps: slice) -> np.ndarray:
    """ds_t/ds_{t-1} for processing-order indices ``steps`` of one layer and direction: (K, n, n)."""
    return tr.cell.step_jacobians(_params(tr, layer, direction), tr.runs[layer][direction], steps)


def spectrum(tr: Trace, layer: int = 0, direction: int = 0, times=None) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (complex) and singular values of ds_t/ds_{t-1} at sequence positions ``times``.

    Returns ``(eigenvalues, singular_values)``, each (K, n); all steps when ``times`` is None.
    """
    positions = np.arange(tr.steps) if times is None else np.asarray(times, dtype=int)
    index = positions if not direction else tr.steps - 1 - positions
    n = tr.cell.state_size()
    eig = np.full((len(index), n), np.nan, dtype=complex)
    sv = np.full((len(index), n), np.nan)
    chunk = max(1, JACOBIAN_CHUNK_BYTES // (8 * n * n))
    for start in range(0, len(index), chunk):
        part = index[start : start + chunk]
        jac = step_jacobians(tr, layer, direction, part)
        finite = np.isfinite(jac).all(axis=(1, 2))
        if finite.any():
            eig[start : start + chunk][finite] = np.linalg.eigvals(jac[finite])
            sv[start : start + chunk][finite] = np.linalg.svd(jac[finite], compute_uv=False)
    return eig, sv


def backward_flows(tr: Trace, layer: int = 0, direction: int = 0) -> dict[str, np.ndarray]:
    """What each step t sends back to step t-1 along each of the cell's backward paths.

    Keys are the cell's :attr:`~lstmviz.cells.Cell.paths` (LSTM: ``highway`` = delta_c_t * f_t and
    ``gates`` = W_hh^T delta_a_t); values (T, n) in sequence order.
    """
    lt = tr.layers[layer][direction]
    grads = CellGrads(
        h=order(lt.grad_h, direction),
        c=None if lt.grad_c is None else order(lt.grad_c, direction),
        preactivations={k: order(v, direction) for k, v in lt.grad_preactivations.items()},
        inputs=np.empty(0),
    )
    with np.errstate(over="ignore", invalid="ignore"):
        flows = tr.cell.path_flows(_params(tr, layer, direction), tr.runs[layer][direction], grads)
    return {k: order(v, direction) for k, v in flows.items()}


def carry_path(tr: Trace, layer: int = 0, direction: int = 0) -> np.ndarray | None:
    """prod over the later steps of the cell's direct per-unit factor: (T, H), sequence order."""
    factor = tr.cell.carry(tr.runs[layer][direction])
    if factor is None:
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log(np.abs(factor.astype(np.float64)))
    # after[t] = sum of logs over the steps processed after t
    after = np.concatenate([np.cumsum(logs[::-1], axis=0)[::-1][1:], np.zeros((1, factor.shape[1]))])
    return order(np.exp(after), direction)


def _params(tr: Trace, layer: int, direction: int) -> dict[str, np.ndarray]:
    dtype = tr.x.dtype
    return {k: v.astype(dtype) for k, v in tr.model.params(layer, direction).items()}


def _direction_norms(tr: Trace, layer: int, d: int, window: int) -> JacobianNorms:
    steps = tr.steps
    first = steps - window  # earliest processing index whose norms are computed
    n = tr.cell.state_size()
    chunk = max(1, JACOBIAN_CHUNK_BYTES // (8 * n * n))
    step_norm = np.full(steps, np.nan)
    to_last = np.full(steps, np.nan)
    product = np.eye(n)  # J_T ... J_{t+1} / exp(log_scale)
    log_scale = 0.0
    with np.errstate(over="ignore", invalid="ignore", under="ignore", divide="ignore"):
        for stop in range(steps, first, -chunk):
            start = max(first, stop - chunk)
            jac = step_jacobians(tr, layer, d, slice(start, stop))
            step_norm[start:stop] = _spectral_norms(jac)
            for t in range(stop - 1, start - 1, -1):
                to_last[t] = np.exp(log_scale) * _spectral_norms(product[None])[0]
                product, log_scale = _renormalised(product @ jac[t - start], log_scale)
    computed = np.zeros(steps, dtype=bool)
    computed[first:] = True
    gamma = tr.cell.pascanu_gamma
    return JacobianNorms(
        to_last=order(to_last, d),
        step=order(step_norm, d),
        carry_path=carry_path(tr, layer, d),
        pascanu_bound=None if gamma is None else _pascanu(tr, layer, d, gamma),
        computed=order(computed, d),
    )


def _spectral_norms(matrices: np.ndarray) -> np.ndarray:
    """||M||_2 of each matrix in a batch; NaN for a matrix holding NaN or inf (an exploded state)."""
    finite = np.isfinite(matrices).all(axis=(-2, -1))
    norms = np.full(len(matrices), np.nan)
    if finite.any():
        norms[finite] = np.linalg.svd(matrices[finite], compute_uv=False)[:, 0]
    return norms


def _renormalised(product: np.ndarray, log_scale: float) -> tuple[np.ndarray, float]:
    scale = float(np.linalg.norm(product))
    if not np.isfinite(scale):
        return product, float("nan")
    if scale == 0.0:  # the state is forgotten exactly (e.g. dead relu units): every earlier norm is 0
        return product, -np.inf
    return product / scale, log_scale + float(np.log(scale))


def _pascanu(tr: Trace, layer: int, d: int, gamma: float) -> np.ndarray:
    sigma_max = float(np.linalg.norm(tr.model.params(layer, d)["weight_hh"], ord=2))
    with np.errstate(over="ignore", under="ignore"):
        bound = (gamma * sigma_max) ** np.arange(tr.steps - 1, -1, -1, dtype=np.float64)
    return order(bound, d)
