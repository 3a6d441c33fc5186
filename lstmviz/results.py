"""What :func:`lstmviz.trace` and :func:`lstmviz.jacobian_norms` return: frozen dataclasses of NumPy arrays.

Shapes (T steps, D input features, H hidden units, H_out = proj_size or H, dirs = 1 or 2).
Every time axis is in *sequence* order, also for the reverse direction of a bidirectional stack.

``Trace``
    model    the traced :class:`~lstmviz.model.Model` (``spec`` is ``model.spec``)
    x        (T, D)            the input sequence
    output   (T, dirs*H_out)   equal to ``module(x)[0]`` of the torch module
    loss     float             "last": output[T-1].sum(); "all": output.sum()
    grad_x   (T, D)            dL/dx_t
    layers   layers[l][d]      a :class:`LayerTrace` for layer l, direction d (0 forward, 1 reverse)
    interventions              the :class:`~lstmviz.interventions.Clamp` s applied (empty if none)

``LayerTrace``
    h        (T, H_out)        hidden state h_t
    c        (T, H) | None     cell state c_t (cells with a cell state: the LSTM)
    gates    {letter: (T, H)}  activations: LSTM i f g o; GRU r z n; minGRU z n; minLSTM f i f' i' n;
                               empty for the RNN (its activation is h)
    preactivations {row: (T, H)}  the arguments of sigma/tanh per row block; the RNN's is keyed "h"
    grad_h   (T, H_out)        total dL/dh_t, through every later step and every layer above
    grad_c   (T, H) | None     total dL/dc_t
    grad_preactivations {row: (T, H)}  dL/da_t per row block (the delta_a of the BPTT equations)
    grad_h_direct (T, H_out)   the part of dL/dh_t from outside the recurrence: the loss at t
                               (top layer) or the layer above; grad_h = grad_h_direct + (from t+1)
    h0, c0   (H_out,), (H,) | None  the initial states this direction started from

``JacobianNorms`` (one per layer and direction; s_t = h_t, or (h_t, c_t) for a cell state)
    to_last        (T,)         ||ds_T/ds_t||_2 (T = the direction's last step; 1 at T itself)
    step           (T,)         ||ds_t/ds_{t-1}||_2
    carry_path     (T, H) | None  prod over the later steps of the cell's direct per-unit factor:
                                LSTM f on c, PyTorch's GRU z, the tutorial GRU 1 - z, minGRU 1 - z,
                                minLSTM f' (None for the RNN, which has no such path)
    pascanu_bound  (T,) | None  RNN: (gamma * sigma_max(W_hh))^(steps to T), gamma = 1 for tanh and relu
    computed       (T,) bool    where to_last and step were computed (a window may skip early steps)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .cells import Cell, cell_for

if TYPE_CHECKING:
    from .interventions import Clamp
    from .model import Model, ModelSpec


@dataclass(frozen=True)
class LayerTrace:
    h: np.ndarray
    c: np.ndarray | None
    gates: dict[str, np.ndarray]
    preactivations: dict[str, np.ndarray]
    grad_h: np.ndarray
    grad_c: np.ndarray | None
    grad_preactivations: dict[str, np.ndarray]
    grad_h_direct: np.ndarray
    h0: np.ndarray
    c0: np.ndarray | None


@dataclass(frozen=True)
class Trace:
    model: Model = field(repr=False)
    loss_kind: str
    x: np.ndarray
    output: np.ndarray
    loss: float
    grad_x: np.ndarray
    layers: tuple[tuple[LayerTrace, ...], ...]
    interventions: tuple[Clamp, ...] = ()
    runs: tuple = field(default=(), repr=False, compare=False)
    """Per layer and direction, the forward passes with their backward caches (processing order)."""

    @property
    def spec(self) -> ModelSpec:
        return self.model.spec

    @property
    def cell(self) -> Cell:
        return cell_for(self.model.spec)

    @property
    def steps(self) -> int:
        return int(self.x.shape[0])

    @property
    def h_n(self) -> np.ndarray:
        """Final hidden states ``(num_layers*dirs, H_out)``, like the ``h_n`` of ``nn.LSTM``."""
        return np.stack([_final(layer.h, d) for lay in self.layers for d, layer in enumerate(lay)])

    @property
    def c_n(self) -> np.ndarray:
        """Final cell states ``(num_layers*dirs, H)``; a ValueError for cells without one."""
        if not self.cell.cell_state:
            raise ValueError(f"a {self.cell.label} has no cell state")
        return np.stack([_final(layer.c, d) for lay in self.layers for d, layer in enumerate(lay)])


@dataclass(frozen=True)
class JacobianNorms:
    to_last: np.ndarray
    step: np.ndarray
    carry_path: np.ndarray | None
    pascanu_bound: np.ndarray | None
    computed: np.ndarray


def _final(states: np.ndarray, direction: int) -> np.ndarray:
    # The reverse direction ends its pass at sequence position 0.
    return states[0] if direction else states[-1]
