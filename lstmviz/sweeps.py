"""Sweeps: the gradient horizon and the gain ||d h_T / d h_0|| over recurrent scale x forget bias x seeds.

For every model of the grid (built by :class:`~lstmviz.model.ModelSettings` with that
``recurrent_scale``, ``forget_bias`` and ``seed``), over one input sequence and with the loss
``"last"``:

- ``horizon``: steps back from the last step T until ||delta_h_t|| < threshold * ||delta_h_T||, what
  :func:`lstmviz.summaries.gradient_horizon` gives for its trace (layer 0, forward; the engine's
  gradient norms equal the trace's to about 1e-14, rounding apart). ``inf`` when the gradient stays
  above the threshold over all T - 1 earlier steps (plot it as "> T - 1"), NaN when ||delta_h_T|| is
  0 or not finite.
- ``gain``: ||d h_T / d h_0||_2, the largest singular value of the Jacobian of the last hidden state
  with respect to the first (both as in the trace: h_0 is the state after the first step).

Models of one seed share their weights up to the scale of W_hh and the forget-gate bias, so the
engine runs all of them at once (:meth:`lstmviz.cells.Cell.batch_forward`) and carries H_out + 1
cotangents per model back through the steps (:meth:`lstmviz.cells.Cell.batch_step_vjp`): the loss's
(for the horizon) and one per unit of h_T (its rows are d h_T / d h_0). An option a cell does not have
(``recurrent_scale`` for minGRU and minLSTM, ``forget_bias`` for the RNN and GRU) does not change its
models: that axis is computed once and repeated, and the result says so.

The Pascanu boundary (Pascanu, Mikolov & Bengio 2013, "On the difficulty of training recurrent neural
networks"): for the RNN, ||d h_T / d h_0|| <= (gamma * sigma_max(W_hh))^(T-1) with gamma bounding
|phi'| (1 for tanh and relu), so below the recurrent scale where gamma * sigma_max(W_hh) = 1 the
gradient must vanish; ``pascanu_scale`` gives that scale per seed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .cells import cell_class, cell_for
from .limits import SWEEP_BUDGET, SWEEP_CHUNK_BYTES
from .model import ModelSettings, ModelSpec
from .trace import checked_input

QUANTITIES = ("horizon", "gain")

STEP_BYTES = 2**20
"""Bytes of cotangents one step of the engine works on at once: about a core's L2 cache."""


@dataclass(frozen=True)
class Sweep:
    """One cell's sweep. ``horizon`` and ``gain`` are (S, F, K): scale x forget bias x seed."""

    cell: str
    scales: np.ndarray  # (S,)
    forget_biases: np.ndarray  # (F,)
    seeds: np.ndarray  # (K,) int
    steps: int  # T, the length of the sequence
    threshold: float
    horizon: np.ndarray  # (S, F, K) steps; inf: never below the threshold; NaN: undefined
    gain: np.ndarray  # (S, F, K) ||d h_T / d h_0||_2
    scale_applies: bool  # False: the cell has no W_hh, every scale gives the same models
    forget_bias_applies: bool  # False: the cell has no forget gate, every bias gives the same models
    pascanu_scale: np.ndarray | None  # (K,) recurrent scale where gamma * sigma_max(W_hh) = 1 (RNN)

    @property
    def available(self) -> int:
        """Steps before T: an ``inf`` horizon means "more than this"."""
        return self.steps - 1

    def median(self, quantity: str = "horizon") -> np.ndarray:
        """(S, F) median over the seeds (NaN seeds left out)."""
        return _over_seeds(np.nanmedian, self._values(quantity))

    def spread(self, quantity: str = "horizon") -> np.ndarray:
        """(2, S, F): the smallest and largest value over the seeds (NaN seeds left out)."""
        values = self._values(quantity)
        return np.stack([_over_seeds(np.nanmin, values), _over_seeds(np.nanmax, values)])

    def _values(self, quantity: str) -> np.ndarray:
        if quantity not in QUANTITIES:
            raise ValueError(f"quantity must be one of {QUANTITIES}, got {quantity!r}")
        return getattr(self, quantity)


def _over_seeds(reduce, values: np.ndarray) -> np.ndarray:
    out = np.full(values.shape[:2], np.nan)
    some = ~np.isnan(values).all(axis=2)
    out[some] = reduce(values[some], axis=-1)
    return out


def sweep(
    cell: str,
    x,
    *,
    scales=(1.0,),
    forget_biases=(0.0,),
    seeds=(0,),
    settings: ModelSettings | None = None,
    threshold: float = 1e-3,
) -> Sweep:
    """Horizon and gain of ``cell`` over ``scales`` x ``forget_biases`` x ``seeds`` on ``x`` (T, D).

    ``settings`` gives everything else (hidden size, init, nonlinearity ...; one layer, one
    direction); its own ``recurrent_scale``, ``forget_bias`` and ``seed`` are replaced by the grid's.
    """
    settings = ModelSettings() if settings is None else settings
    if not isinstance(settings, ModelSettings):
        raise ValueError(f"settings must be a ModelSettings, got {type(settings).__name__}")
    cell_class(cell)
    if settings.num_layers != 1 or settings.bidirectional:
        raise ValueError("a sweep runs one layer in one direction: use num_layers=1, bidirectional=False")
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 < threshold < 1:
        raise ValueError(f"threshold must be a number between 0 and 1, got {threshold!r}")
    scales = _axis(settings, "recurrent_scale", scales)
    forget_biases = _axis(settings, "forget_bias", forget_biases)
    seeds = _axis(settings, "seed", seeds).astype(np.int64)
    x_array = np.asarray(x)
    spec = settings.spec(cell, x_array.shape[1] if x_array.ndim == 2 else 1)
    xs = checked_input(x, spec)
    applies = settings.applies(cell)
    scale_axis = scales if applies["recurrent_scale"] else scales[:1]
    bias_axis = forget_biases if applies["forget_bias"] else forget_biases[:1]
    models = len(scale_axis) * len(bias_axis)
    check_sweep_budget(spec, len(xs), models * len(seeds))

    grid = (len(scale_axis), len(bias_axis))
    grid_scale = np.repeat(scale_axis, len(bias_axis))  # scale-major, as horizon[scale, bias]
    grid_bias = np.tile(bias_axis, len(scale_axis))
    horizon, gain = np.empty((*grid, len(seeds))), np.empty((*grid, len(seeds)))
    sigma_max = np.empty(len(seeds))  # of W_hh at recurrent scale 1
    kind = cell_for(spec)
    for k, seed in enumerate(seeds):
        unscaled = replace(settings, seed=int(seed), recurrent_scale=1.0, forget_bias=0.0)
        params = unscaled.build(cell, spec.input_size).params(0, 0)
        norms, gains = grid_gradients(spec, _with_forget_bias(kind, params, grid_bias), xs, grid_scale)
        horizon[:, :, k] = horizons(norms, threshold).reshape(grid)
        gain[:, :, k] = gains.reshape(grid)
        sigma_max[k] = np.linalg.norm(params["weight_hh"], 2) if kind.recurrent else np.nan

    full = (len(scales), len(forget_biases), len(seeds))
    return Sweep(
        cell=cell,
        scales=scales,
        forget_biases=forget_biases,
        seeds=seeds,
        steps=len(xs),
        threshold=float(threshold),
        horizon=np.broadcast_to(horizon, full).copy(),
        gain=np.broadcast_to(gain, full).copy(),
        scale_applies=applies["recurrent_scale"],
        forget_bias_applies=applies["forget_bias"],
        pascanu_scale=None if kind.pascanu_gamma is None else _reciprocal(kind.pascanu_gamma * sigma_max),
    )


def _axis(settings: ModelSettings, field: str, values) -> np.ndarray:
    """The values of one grid axis, each checked as that field of ModelSettings."""
    values = [values] if np.ndim(values) == 0 else list(values)
    if not values:
        raise ValueError(f"give at least one value for {field}")
    return np.array([getattr(replace(settings, **{field: v}), field) for v in values])


def _with_forget_bias(kind, params: dict, grid_bias: np.ndarray) -> dict:
    """``params`` with one row of b_ih per model: the forget-gate slice raised by that model's bias."""
    if kind.forget_row is None or "bias_ih" not in params:
        return params
    hidden = kind.spec.hidden_size
    row = kind.rows.index(kind.forget_row)
    bias = np.tile(params["bias_ih"], (len(grid_bias), 1))
    bias[:, row * hidden : (row + 1) * hidden] += grid_bias[:, None]
    return {**params, "bias_ih": bias}


def _reciprocal(values: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return 1.0 / values


def grid_gradients(spec: ModelSpec, params: dict, xs: np.ndarray, scale: np.ndarray):
    """||delta_h_t|| for the loss "last" (T, G) and ||d h_T / d h_0||_2 (G,) of G models sharing ``params``.

    ``scale`` (G,) multiplies W_hh per model; ``params["bias_ih"]`` may hold a row per model. Models
    run in groups that fit :data:`~lstmviz.limits.SWEEP_CHUNK_BYTES`.
    """
    group = models_per_group(spec, len(xs))
    parts = [_group_gradients(spec, _models(params, part), xs, scale[part])
             for part in (slice(start, start + group) for start in range(0, len(scale), group))]
    return np.concatenate([p[0] for p in parts], axis=1), np.concatenate([p[1] for p in parts])


def _models(params: dict, part: slice) -> dict:
    bias = params.get("bias_ih")
    return params if bias is None or bias.ndim == 1 else {**params, "bias_ih": bias[part]}


def _group_gradients(spec: ModelSpec, params: dict, xs: np.ndarray, scale: np.ndarray):
    cell = cell_for(spec)
    models, width = len(scale), spec.output_size
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        run = cell.batch_forward(params, xs, scale)
        # cotangents of h_T, (width + 1, G, width): [0] the loss "last" (all ones), [1 + i] unit i
        grad_h = np.concatenate([np.ones((1, models, width)), np.repeat(np.eye(width)[:, None], models, 1)])
        grads = (grad_h, np.zeros((width + 1, models, spec.hidden_size))) if cell.cell_state else (grad_h,)
        norms = np.empty((len(xs), models))
        for t in range(len(xs) - 1, -1, -1):
            norms[t] = np.linalg.norm(grads[0][0], axis=-1)
            if t:
                grads = cell.batch_step_vjp(params, run, t, grads, scale)
        return norms, largest_singular_values(np.moveaxis(grads[0][1:], 1, 0))


def horizons(norms: np.ndarray, threshold: float) -> np.ndarray:
    """The gradient horizon of each column of ``norms`` (T, G), as in :mod:`lstmviz.summaries`.

    Steps back from T to the first t with norms[t] < threshold * norms[T]; inf when there is none,
    NaN when norms[T] is 0 or not finite.
    """
    reference = norms[-1]
    below = norms[::-1][1:] < threshold * reference  # below[k - 1]: the step k back from T
    steps = np.where(below.any(axis=0), below.argmax(axis=0) + 1.0, np.inf)
    return np.where(np.isfinite(reference) & (reference != 0), steps, np.nan)


def largest_singular_values(matrices: np.ndarray) -> np.ndarray:
    """||M||_2 of each matrix of a (G, m, n) stack; NaN for a matrix holding NaN, inf for one holding inf."""
    finite = np.isfinite(matrices).all(axis=(1, 2))
    out = np.where(np.isnan(matrices).any(axis=(1, 2)), np.nan, np.inf)
    if finite.any():
        out[finite] = np.linalg.svd(matrices[finite], compute_uv=False)[:, 0]
    return out


def models_per_group(spec: ModelSpec, steps: int) -> int:
    """How many models run at once: as many as :data:`~lstmviz.limits.SWEEP_CHUNK_BYTES` holds, and
    no more than keep one step's cotangents within :data:`STEP_BYTES` (about twice as fast as more)."""
    cell = cell_for(spec)
    step_bytes = 8 * (spec.output_size + 1) * len(cell.rows) * spec.hidden_size  # delta_a of one model
    return max(1, min(SWEEP_CHUNK_BYTES // sweep_bytes_per_model(spec, steps), STEP_BYTES // step_bytes))


def sweep_bytes_per_model(spec: ModelSpec, steps: int) -> int:
    """Bytes one model of a sweep holds: its forward pass with the backward factors, and its cotangents."""
    cell = cell_for(spec)
    forward = steps * cell.arrays_per_step() * spec.hidden_size
    return 8 * (forward + 4 * (spec.output_size + 1) * cell.state_size())


def sweep_cost(spec: ModelSpec, steps: int, models: int) -> float:
    """Multiply-adds of a sweep of ``models`` models: H_out + 1 vector-Jacobian products per step each."""
    cell = cell_for(spec)
    per_cotangent = max(len(cell.rows) * spec.hidden_size * spec.output_size if cell.recurrent else 0,
                        cell.state_size())
    return float(models) * steps * (spec.output_size + 1) * per_cotangent


def check_sweep_budget(spec: ModelSpec, steps: int, models: int) -> None:
    """Refuse, before any work, a sweep above :data:`~lstmviz.limits.SWEEP_BUDGET` or too big a model."""
    cost = sweep_cost(spec, steps, models)
    if cost > SWEEP_BUDGET:
        raise ValueError(
            f"this sweep of {models:,} models over {steps:,} steps would take about {cost:.1e} operations "
            f"(the limit is {SWEEP_BUDGET:.0e}): use fewer grid points, seeds, steps or units"
        )
    size = sweep_bytes_per_model(spec, steps)
    if size > SWEEP_CHUNK_BYTES:
        raise ValueError(
            f"one model of this sweep would hold {size / 2**20:,.0f} MB (the limit is "
            f"{SWEEP_CHUNK_BYTES / 2**20:,.0f} MB): use fewer steps or units"
        )
