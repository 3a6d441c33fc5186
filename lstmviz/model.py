"""Recurrent models in PyTorch's parameter layout, the settings that build them, and seeded initialisation.

- :class:`ModelSpec`: the architecture of one stack, with ``nn.RNN``/``nn.LSTM``/``nn.GRU`` constructor
  semantics (what a ``state_dict`` determines, plus the cell's conventions).
- :class:`ModelSettings`: everything that builds fresh models except which cell and its input size,
  validated once. A view or a training run shares one across all its cells, like nanoGPT's frozen
  ``GPTConfig``; :meth:`ModelSettings.build` applies to each cell only the options it has.
- :class:`Model`: a spec plus NumPy weights keyed exactly like the torch ``state_dict``
  (``weight_ih_l0``, ``bias_hh_l1_reverse``, ``weight_hr_l0`` ...), rows in the cell's order
  (LSTM ``i, f, g, o``; GRU ``r, z, n``). Reference: https://pytorch.org/docs/stable/nn.html#recurrent-layers

Initialisation schemes (all drawn from ``numpy.random.default_rng(seed)`` in ``parameter_shapes``
order, so the same settings always give the same weights, and the global RNG is never touched):

- ``"pytorch"``: every parameter ~ U(-1/sqrt(H), 1/sqrt(H)), the distribution of torch's ``reset_parameters``.
- ``"xavier"``: Glorot-uniform per gate block for ``W_ih`` and ``W_hh``, zero biases.
- ``"orthogonal"``: orthogonal ``W_hh`` per gate block (Saxe et al. 2014), Glorot ``W_ih``, zero biases.
- ``"identity"``: ``W_hh`` = I per gate block (Le et al. 2015, "IRNN"), small Gaussian ``W_ih``, zero biases.

``recurrent_scale`` then multiplies every ``W_hh`` (cells without one are unaffected), and
``forget_bias`` is added to the forget-gate slice of ``b_ih`` (LSTM, minLSTM).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field, fields, replace

import numpy as np

from .cells import CELL_NAMES, REGISTRY, cell_class, cell_for
from .limits import (
    FORGET_BIAS_RANGE,
    MAX_FEATURES,
    MAX_HIDDEN,
    MAX_LAYERS,
    MAX_SEED,
    RECURRENT_SCALE_RANGE,
)

INITS = ("pytorch", "xavier", "orthogonal", "identity")
NONLINEARITIES = tuple(dict.fromkeys(n for c in REGISTRY.values() for n in c.nonlinearities))
GRU_VARIANTS = tuple(dict.fromkeys(v for c in REGISTRY.values() for v in c.variants))


# ---------------------------------------------------------------------------------------------
# Validation: one checker per kind of value, each naming the argument


def check_int(name: str, value, low: int, high: int) -> int:
    """An integer (Python or NumPy, not bool) in ``low..high``, as a Python int."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if not low <= int(value) <= high:
        raise ValueError(f"{name} must be an integer in {low}..{high}, got {value!r}")
    return int(value)


def check_flag(name: str, value) -> bool:
    """True or False (Python or NumPy), as a Python bool."""
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_real(name: str, value, low: float, high: float) -> float:
    """A finite real number (not bool) in ``[low, high]``, as a Python float."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not (math.isfinite(float(value)) and low <= float(value) <= high):
        raise ValueError(f"{name} must be a finite number in {low:g}..{high:g}, got {value!r}")
    return float(value)


def check_choice(name: str, value, options: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}; got {value!r}")
    return value


def _normalise(instance, checks: dict) -> None:
    """Validate a frozen dataclass's fields and store them as plain Python values."""
    for name, check in checks.items():
        object.__setattr__(instance, name, check(name, getattr(instance, name)))


# ---------------------------------------------------------------------------------------------
# Architecture


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
        kind = cell_class(self.cell)
        _normalise(
            self,
            {
                "input_size": lambda n, v: check_int(n, v, 1, MAX_FEATURES),
                "hidden_size": lambda n, v: check_int(n, v, 1, MAX_HIDDEN),
                "num_layers": lambda n, v: check_int(n, v, 1, MAX_LAYERS),
                "bidirectional": check_flag,
                "bias": check_flag,
                "proj_size": lambda n, v: check_int(n, v, 0, MAX_HIDDEN),
                "nonlinearity": lambda n, v: check_choice(n, v, NONLINEARITIES),
                "gru_variant": lambda n, v: check_choice(n, v, GRU_VARIANTS),
            },
        )
        label = kind.label
        if self.nonlinearity not in kind.nonlinearities:
            raise ValueError(f"nonlinearity={self.nonlinearity!r} does not apply to the {label}")
        if self.gru_variant not in kind.variants:
            raise ValueError(f"gru_variant={self.gru_variant!r} does not apply to the {label}")
        if self.proj_size and not kind.projection:
            raise ValueError(f"proj_size > 0 is only for the LSTM, not the {label}")
        if self.proj_size >= self.hidden_size:
            raise ValueError(f"proj_size must be below hidden_size ({self.hidden_size}), "
                             f"got {self.proj_size}")

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def output_size(self) -> int:
        """H_out: the size of h_t (``proj_size`` when above 0, else ``hidden_size``)."""
        return self.proj_size or self.hidden_size

    def layer_input_size(self, layer: int) -> int:
        return self.input_size if layer == 0 else self.output_size * self.directions

    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        """``state_dict`` names and shapes, in ``nn.RNNBase._flat_weights_names`` order."""
        cell = cell_for(self)
        shapes: dict[str, tuple[int, ...]] = {}
        for layer in range(self.num_layers):
            for direction in range(self.directions):
                sfx = suffix(layer, direction)
                for name, shape in cell.parameter_shapes(self.layer_input_size(layer)).items():
                    shapes[name + sfx] = shape
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
        if missing or extra:
            raise ValueError(f"weights do not fit the spec: missing {missing}, unexpected {extra}")
        for name, shape in expected.items():
            got = tuple(np.shape(self.weights[name]))
            if got != shape:
                raise ValueError(f"{name} has shape {got}, the spec needs {shape}")
            if not np.all(np.isfinite(self.weights[name])):
                raise ValueError(f"{name} holds NaN or inf")

    def params(self, layer: int, direction: int) -> dict[str, np.ndarray]:
        """One cell's weights, names without the layer suffix (``weight_ih``, ``bias_hh``, ...)."""
        sfx = suffix(layer, direction)
        return {name[: -len(sfx)]: value for name, value in self.weights.items() if name.endswith(sfx)}

    @property
    def parameter_count(self) -> int:
        return int(sum(w.size for w in self.weights.values()))


# ---------------------------------------------------------------------------------------------
# Settings


@dataclass(frozen=True)
class ModelSettings:
    """Everything that builds fresh models except which cell and its input size; validated once.

    Options a cell does not have are left at their defaults for that cell by :meth:`spec` and
    :meth:`build` (``proj_size`` for cells without a projection, ``nonlinearity`` for gated cells,
    ``gru_variant`` for cells other than the GRU, ``forget_bias`` for cells without a forget gate),
    so one settings object serves every cell of a view. :func:`build` refuses them instead.
    """

    hidden_size: int = 16
    num_layers: int = 1
    bidirectional: bool = False
    bias: bool = True
    proj_size: int = 0
    nonlinearity: str = "tanh"
    gru_variant: str = "pytorch"
    init: str = "pytorch"
    recurrent_scale: float = 1.0
    forget_bias: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        _normalise(
            self,
            {
                "hidden_size": lambda n, v: check_int(n, v, 1, MAX_HIDDEN),
                "num_layers": lambda n, v: check_int(n, v, 1, MAX_LAYERS),
                "bidirectional": check_flag,
                "bias": check_flag,
                "proj_size": lambda n, v: check_int(n, v, 0, MAX_HIDDEN),
                "nonlinearity": lambda n, v: check_choice(n, v, NONLINEARITIES),
                "gru_variant": lambda n, v: check_choice(n, v, GRU_VARIANTS),
                "init": lambda n, v: check_choice(n, v, INITS),
                "recurrent_scale": lambda n, v: check_real(n, v, *RECURRENT_SCALE_RANGE),
                "forget_bias": lambda n, v: check_real(n, v, *FORGET_BIAS_RANGE),
                "seed": lambda n, v: check_int(n, v, 0, MAX_SEED),
            },
        )
        if self.proj_size >= self.hidden_size:
            raise ValueError(f"proj_size must be below hidden_size ({self.hidden_size}), "
                             f"got {self.proj_size}")
        if self.forget_bias and not self.bias:
            raise ValueError("forget_bias needs bias=True")

    def applies(self, cell: str) -> dict[str, bool]:
        """Which cell-specific options ``cell`` has (for greying out controls that do not apply)."""
        kind = cell_class(cell)
        return {
            "proj_size": kind.projection,
            "nonlinearity": len(kind.nonlinearities) > 1,
            "gru_variant": len(kind.variants) > 1,
            "forget_bias": kind.forget_row is not None,
            "recurrent_scale": kind.recurrent,
        }

    def for_cell(self, cell: str) -> ModelSettings:
        """These settings with the options ``cell`` does not have at their defaults."""
        applies, default = self.applies(cell), ModelSettings()
        return replace(self, **{name: getattr(default, name) for name, has in applies.items() if not has})

    def spec(self, cell: str, input_size: int) -> ModelSpec:
        own = self.for_cell(cell)
        return ModelSpec(
            cell=cell,
            input_size=input_size,
            hidden_size=own.hidden_size,
            num_layers=own.num_layers,
            bidirectional=own.bidirectional,
            bias=own.bias,
            proj_size=own.proj_size,
            nonlinearity=own.nonlinearity,
            gru_variant=own.gru_variant,
        )

    def build(self, cell: str, input_size: int) -> Model:
        """A freshly initialised ``cell`` model; the same settings always give the same weights."""
        spec = self.spec(cell, input_size)
        own = self.for_cell(cell)
        rng = np.random.default_rng(own.seed)
        kind = cell_for(spec)
        weights = {
            name: _init_parameter(name, shape, len(kind.rows), spec.hidden_size, own.init, rng)
            for name, shape in spec.parameter_shapes().items()
        }
        for name, value in weights.items():
            if name.startswith("weight_hh"):
                value *= own.recurrent_scale
            if name.startswith("bias_ih") and kind.forget_row is not None:
                row = kind.rows.index(kind.forget_row)
                value[row * spec.hidden_size : (row + 1) * spec.hidden_size] += own.forget_bias
        return Model(spec, weights)


SETTINGS_FIELDS = tuple(f.name for f in fields(ModelSettings))


def build(cell: str, input_size: int, hidden_size: int, **options) -> Model:
    """A freshly initialised model, e.g. ``build("lstm", 1, 16, forget_bias=1.0, seed=0)``.

    ``options`` are the fields of :class:`ModelSettings`. Unlike :meth:`ModelSettings.build`, an
    option the cell does not have (``nonlinearity="relu"`` for an LSTM ...) is refused.
    """
    unknown = sorted(set(options) - set(SETTINGS_FIELDS))
    if unknown:
        raise ValueError(f"unknown option(s) {', '.join(unknown)}; build takes {', '.join(SETTINGS_FIELDS)}")
    settings = ModelSettings(hidden_size=hidden_size, **options)
    default = ModelSettings()
    label = cell_class(cell).label
    for name, has in settings.applies(cell).items():
        if not has and getattr(settings, name) != getattr(default, name):
            raise ValueError(f"{name} does not apply to the {label}")
    return settings.build(cell, input_size)


# ---------------------------------------------------------------------------------------------
# Initialisation


def _init_parameter(name: str, shape: tuple[int, ...], blocks: int, hidden: int, init: str,
                    rng: np.random.Generator) -> np.ndarray:
    if init == "pytorch":
        bound = 1.0 / math.sqrt(hidden)
        return rng.uniform(-bound, bound, shape)
    if name.startswith("bias"):
        return np.zeros(shape)
    if name.startswith("weight_hr"):
        return _glorot(shape, rng)
    rows, cols = shape[0] // blocks, shape[1]
    parts = []
    for _ in range(blocks):
        if name.startswith("weight_ih"):
            block = (rng.normal(0.0, 0.001**0.5, (rows, cols)) if init == "identity"
                     else _glorot((rows, cols), rng))
        elif init == "xavier":
            block = _glorot((rows, cols), rng)
        elif init == "orthogonal":
            block = _orthogonal((rows, cols), rng)
        else:
            block = np.eye(rows, cols)
        parts.append(block)
    return np.concatenate(parts, axis=0)


def _glorot(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    fan_out, fan_in = shape
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, shape)


def _orthogonal(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    rows, cols = shape
    q, r = np.linalg.qr(rng.standard_normal((max(rows, cols), min(rows, cols))))
    q = q * np.sign(np.diagonal(r))  # makes the decomposition unique (Mezzadri 2007)
    return q if rows >= cols else q.T


def suffix(layer: int, direction: int) -> str:
    """The ``state_dict`` suffix of a layer and direction: ``_l0``, ``_l1_reverse`` ..."""
    return f"_l{layer}" + ("_reverse" if direction else "")


__all__ = ["CELL_NAMES", "INITS", "Model", "ModelSettings", "ModelSpec", "build", "suffix"]
