"""Recurrent models in PyTorch's parameter layout, and their seeded initialisation.

A :class:`Model` is a frozen :class:`ModelSpec` plus a dict of NumPy weights keyed exactly like the
``state_dict`` of ``torch.nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` (``weight_ih_l0``, ``bias_hh_l1_reverse``,
``weight_hr_l0`` ...). Row blocks follow PyTorch: LSTM ``i, f, g, o``; GRU ``r, z, n``.
Reference: https://pytorch.org/docs/stable/generated/torch.nn.LSTM.html

Initialisation schemes (all seeded, none touching the global RNG):

- ``"pytorch"``: every parameter ~ U(-1/sqrt(H), 1/sqrt(H)), as ``reset_parameters`` does.
- ``"xavier"``: Glorot-uniform per gate block for ``W_ih`` and ``W_hh``, zero biases.
- ``"orthogonal"``: orthogonal ``W_hh`` per gate block (Saxe et al. 2014), Glorot ``W_ih``, zero biases.
- ``"identity"``: ``W_hh`` = I per gate block (Le et al. 2015, "IRNN"), small Gaussian ``W_ih``, zero biases.

``recurrent_scale`` then multiplies every ``W_hh`` (to move a cell between vanishing and exploding),
and ``forget_bias`` is added to the LSTM's forget-gate slice of ``b_ih``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

CELLS = ("rnn", "lstm", "gru")
INITS = ("pytorch", "xavier", "orthogonal", "identity")
GATES = {"rnn": (), "lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}
NONLINEARITIES = ("tanh", "relu")
GRU_VARIANTS = ("pytorch", "tutorial")
MAX_SIZE = 1024  # input_size and hidden_size: keeps a mistyped size from allocating gigabytes
MAX_LAYERS = 8


@dataclass(frozen=True)
class ModelSpec:
    """Architecture of a stack, with ``nn.RNN/LSTM/GRU`` constructor semantics."""

    cell: str
    input_size: int
    hidden_size: int
    num_layers: int = 1
    bidirectional: bool = False
    bias: bool = True
    proj_size: int = 0
    nonlinearity: str = "tanh"
    gru_variant: str = "pytorch"

    def __post_init__(self) -> None:
        _check(self.cell in CELLS, f"cell must be one of {CELLS}, got {self.cell!r}")
        for name in ("input_size", "hidden_size"):
            value = getattr(self, name)
            _check(
                isinstance(value, int) and 1 <= value <= MAX_SIZE,
                f"{name} must be an integer in 1..{MAX_SIZE}, got {value!r}",
            )
        _check(
            isinstance(self.num_layers, int) and 1 <= self.num_layers <= MAX_LAYERS,
            f"num_layers must be an integer in 1..{MAX_LAYERS}, got {self.num_layers!r}",
        )
        _check(self.nonlinearity in NONLINEARITIES, f"nonlinearity must be one of {NONLINEARITIES}")
        _check(self.gru_variant in GRU_VARIANTS, f"gru_variant must be one of {GRU_VARIANTS}")
        _check(
            isinstance(self.proj_size, int) and 0 <= self.proj_size < self.hidden_size,
            f"proj_size must be 0 or below hidden_size ({self.hidden_size}), got {self.proj_size!r}",
        )
        _check(self.proj_size == 0 or self.cell == "lstm", "proj_size > 0 is only for the LSTM")

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def output_size(self) -> int:
        """H_out: the size of h_t (``proj_size`` when above 0, else ``hidden_size``)."""
        return self.proj_size or self.hidden_size

    @property
    def gate_count(self) -> int:
        return {"rnn": 1, "lstm": 4, "gru": 3}[self.cell]

    def layer_input_size(self, layer: int) -> int:
        return self.input_size if layer == 0 else self.output_size * self.directions

    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        """``state_dict`` names and shapes, in ``nn.RNNBase._flat_weights_names`` order."""
        rows = self.gate_count * self.hidden_size
        shapes: dict[str, tuple[int, ...]] = {}
        for layer in range(self.num_layers):
            for direction in range(self.directions):
                sfx = _suffix(layer, direction)
                shapes[f"weight_ih{sfx}"] = (rows, self.layer_input_size(layer))
                shapes[f"weight_hh{sfx}"] = (rows, self.output_size)
                if self.bias:
                    shapes[f"bias_ih{sfx}"] = (rows,)
                    shapes[f"bias_hh{sfx}"] = (rows,)
                if self.proj_size:
                    shapes[f"weight_hr{sfx}"] = (self.proj_size, self.hidden_size)
        return shapes


@dataclass(frozen=True)
class Model:
    """A :class:`ModelSpec` and its weights (float64 NumPy, ``state_dict`` names and shapes)."""

    spec: ModelSpec
    weights: dict[str, np.ndarray] = field(repr=False)

    def __post_init__(self) -> None:
        expected = self.spec.parameter_shapes()
        missing = sorted(set(expected) - set(self.weights))
        extra = sorted(set(self.weights) - set(expected))
        _check(
            not missing and not extra, f"weights do not fit the spec: missing {missing}, unexpected {extra}"
        )
        for name, shape in expected.items():
            got = tuple(np.shape(self.weights[name]))
            _check(got == shape, f"{name} has shape {got}, the spec needs {shape}")
            _check(bool(np.all(np.isfinite(self.weights[name]))), f"{name} holds NaN or inf")

    def params(self, layer: int, direction: int) -> dict[str, np.ndarray]:
        """One cell's weights, names without the layer suffix (``weight_ih``, ``bias_hh``, ...)."""
        sfx = _suffix(layer, direction)
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")
        return {name: self.weights[name + sfx] for name in names if name + sfx in self.weights}

    @property
    def parameter_count(self) -> int:
        return int(sum(w.size for w in self.weights.values()))


def build(
    cell: str,
    input_size: int,
    hidden_size: int,
    *,
    num_layers: int = 1,
    bidirectional: bool = False,
    bias: bool = True,
    proj_size: int = 0,
    nonlinearity: str = "tanh",
    gru_variant: str = "pytorch",
    init: str = "pytorch",
    recurrent_scale: float = 1.0,
    forget_bias: float = 0.0,
    seed: int = 0,
) -> Model:
    """A freshly initialised model; the same arguments always give the same weights."""
    spec = ModelSpec(
        cell=cell,
        input_size=input_size,
        hidden_size=hidden_size,
        num_layers=num_layers,
        bidirectional=bidirectional,
        bias=bias,
        proj_size=proj_size,
        nonlinearity=nonlinearity,
        gru_variant=gru_variant,
    )
    _check(init in INITS, f"init must be one of {INITS}, got {init!r}")
    _check(
        math.isfinite(recurrent_scale) and math.isfinite(forget_bias),
        "recurrent_scale and forget_bias must be finite numbers",
    )
    _check(forget_bias == 0.0 or cell == "lstm", "forget_bias only applies to the LSTM")
    _check(forget_bias == 0.0 or bias, "forget_bias needs bias=True")
    generator = torch.Generator().manual_seed(int(seed))
    weights = {
        name: _init_parameter(name, shape, spec, init, generator).numpy()
        for name, shape in spec.parameter_shapes().items()
    }
    for name in weights:
        if name.startswith("weight_hh"):
            weights[name] = weights[name] * recurrent_scale
        if cell == "lstm" and name.startswith("bias_ih"):
            h = hidden_size
            weights[name][h : 2 * h] += forget_bias
    return Model(spec, weights)


def _init_parameter(
    name: str, shape: tuple[int, ...], spec: ModelSpec, init: str, generator: torch.Generator
) -> torch.Tensor:
    tensor = torch.empty(shape, dtype=torch.float64)
    if init == "pytorch":
        bound = 1.0 / math.sqrt(spec.hidden_size)
        return tensor.uniform_(-bound, bound, generator=generator)
    if name.startswith("bias"):
        return tensor.zero_()
    if name.startswith("weight_hr"):
        return _glorot(tensor, generator)
    blocks = tensor.view(spec.gate_count, spec.hidden_size, shape[1]).unbind(0)
    for block in blocks:
        if name.startswith("weight_ih"):
            if init == "identity":
                block.normal_(0.0, 0.001**0.5, generator=generator)
            else:
                _glorot(block, generator)
        elif init == "xavier":
            _glorot(block, generator)
        elif init == "orthogonal":
            _orthogonal(block, generator)
        else:
            torch.nn.init.eye_(block)
    return tensor


def _glorot(tensor: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    fan_out, fan_in = tensor.shape
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    return tensor.uniform_(-bound, bound, generator=generator)


def _orthogonal(tensor: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    rows, cols = tensor.shape
    flat = torch.empty(max(rows, cols), min(rows, cols), dtype=torch.float64).normal_(generator=generator)
    q, r = torch.linalg.qr(flat)
    q = q * torch.sign(torch.diagonal(r))  # makes the decomposition unique (Mezzadri 2007)
    tensor.copy_(q if rows >= cols else q.T)
    return tensor


def _suffix(layer: int, direction: int) -> str:
    return f"_l{layer}" + ("_reverse" if direction else "")


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)
