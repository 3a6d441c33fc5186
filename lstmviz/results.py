"""What :func:`lstmviz.trace` and :func:`lstmviz.jacobian_norms` return: frozen dataclasses of NumPy arrays.

Shapes (T steps, D input features, H hidden units, H_out = proj_size or H, dirs = 1 or 2).
Every time axis is in *sequence* order, also for the reverse direction of a bidirectional stack.

``Trace``
    x        (T, D)            the input sequence
    output   (T, dirs*H_out)   equal to ``module(x)[0]`` of the torch module
    loss     float             "last": output[T-1].sum(); "all": output.sum()
    grad_x   (T, D)            dL/dx_t
    layers   layers[l][d]      a :class:`LayerTrace` for layer l, direction d (0 forward, 1 reverse)

``LayerTrace``
    h        (T, H_out)        hidden state h_t
    c        (T, H) | None     LSTM cell state c_t (None for RNN and GRU)
    gates    {letter: (T, H)}  activations: LSTM i f g o, GRU r z n; empty for the RNN
    preactivations {letter: (T, H)}  the arguments of sigma/tanh; the RNN's is keyed "h"
    grad_h   (T, H_out)        total dL/dh_t, through every later step and every layer above
    grad_c   (T, H) | None     total dL/dc_t for the LSTM

``JacobianNorms`` (one per layer and direction; s_t = h_t, or (h_t, c_t) for the LSTM)
    to_last        (T,)         ||ds_T/ds_t||_2 (T = the direction's last step; 1 at T itself)
    step           (T,)         ||ds_t/ds_{t-1}||_2
    forget_path    (T, H) | None  LSTM: prod_{k>t} f_k per unit, the additive cell-state path
    pascanu_bound  (T,) | None  RNN: (gamma * sigma_max(W_hh))^(T-t), gamma = 1 for tanh and relu
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .model import ModelSpec


@dataclass(frozen=True)
class LayerTrace:
    h: np.ndarray
    c: np.ndarray | None
    gates: dict[str, np.ndarray]
    preactivations: dict[str, np.ndarray]
    grad_h: np.ndarray
    grad_c: np.ndarray | None


@dataclass(frozen=True)
class Trace:
    spec: ModelSpec
    loss_kind: str
    x: np.ndarray
    output: np.ndarray
    loss: float
    grad_x: np.ndarray
    layers: tuple[tuple[LayerTrace, ...], ...]

    @property
    def steps(self) -> int:
        return int(self.x.shape[0])

    @property
    def h_n(self) -> np.ndarray:
        """Final hidden states ``(num_layers*dirs, H_out)``, like the ``h_n`` of ``nn.LSTM``."""
        return np.stack([_final(layer.h, d) for lay in self.layers for d, layer in enumerate(lay)])

    @property
    def c_n(self) -> np.ndarray:
        """Final LSTM cell states ``(num_layers*dirs, H)``; a ValueError for other cells."""
        if self.spec.cell != "lstm":
            raise ValueError(f"a {self.spec.cell.upper()} has no cell state")
        return np.stack([_final(layer.c, d) for lay in self.layers for d, layer in enumerate(lay)])


@dataclass(frozen=True)
class JacobianNorms:
    to_last: np.ndarray
    step: np.ndarray
    forget_path: np.ndarray | None
    pascanu_bound: np.ndarray | None


def _final(states: np.ndarray, direction: int) -> np.ndarray:
    # The reverse direction ends its pass at sequence position 0.
    return states[0] if direction else states[-1]
