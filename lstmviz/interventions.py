"""Interventions: force a gate or a state to a value on chosen steps and units, then trace.

``lstmviz.trace(model, x, interventions=[Clamp("f", 1.0, (5, 20)), Clamp("i", 0.0, (5, 20))])``
keeps an LSTM's cell state constant on steps 5..19 and carries delta_c through unchanged: the
clamped computation is the one traced, its gates, states and gradients. A clamped gate's activation
is replaced (everything downstream uses the new value); a clamped state (``h``, ``c``) is replaced
right after that step's update. A clamped value is a constant: it passes no gradient to what
computed it. Steps are a half-open range in sequence order (also for a reverse direction).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .cells import Cell, Clamps


@dataclass(frozen=True)
class Clamp:
    """Set ``name`` to ``value`` on steps ``[start, stop)`` for ``units`` (None: all units).

    The clamp acts on one layer and direction (``layer``, ``direction``)."""

    name: str
    value: float
    steps: tuple[int, int]
    units: tuple[int, ...] | None = None
    layer: int = 0
    direction: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise ValueError(f"Clamp name must be a gate letter or a state, got {self.name!r}")
        if (isinstance(self.value, bool) or not isinstance(self.value, numbers.Real)
                or not math.isfinite(self.value)):
            raise ValueError(f"Clamp value must be a finite number, got {self.value!r}")
        object.__setattr__(self, "value", float(self.value))
        steps = tuple(self.steps) if isinstance(self.steps, Iterable) else ()
        if len(steps) != 2 or not all(_is_int(s) for s in steps) or not 0 <= steps[0] < steps[1]:
            raise ValueError(f"Clamp steps must be (start, stop) with 0 <= start < stop, got {self.steps!r}")
        object.__setattr__(self, "steps", (int(steps[0]), int(steps[1])))
        if self.units is not None:
            units = tuple(self.units) if isinstance(self.units, Iterable) else (self.units,)
            if not units or not all(_is_int(u) and u >= 0 for u in units):
                raise ValueError(f"Clamp units must be None or unit indices, got {self.units!r}")
            object.__setattr__(self, "units", tuple(sorted({int(u) for u in units})))
        for what in ("layer", "direction"):
            if not _is_int(getattr(self, what)) or getattr(self, what) < 0:
                raise ValueError(f"Clamp {what} must be a non-negative integer, got {getattr(self, what)!r}")
            object.__setattr__(self, what, int(getattr(self, what)))


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)


def quantity_sizes(cell: Cell) -> dict[str, int]:
    """What can be clamped in ``cell``, with its width: every gate, h, and c for a cell state."""
    spec = cell.spec
    sizes = {gate: spec.hidden_size for gate in cell.gates}
    sizes["h"] = spec.output_size
    if cell.cell_state:
        sizes["c"] = spec.hidden_size
    return sizes


def clamps_for(cell: Cell, interventions: Iterable[Clamp], steps: int, layer: int, direction: int,
               dtype) -> Clamps:
    """The :class:`~lstmviz.cells.Clamps` of one layer and direction, in processing order."""
    sizes = quantity_sizes(cell)
    masks: dict[str, np.ndarray] = {}
    values: dict[str, np.ndarray] = {}
    for clamp in interventions:
        if (clamp.layer, clamp.direction) != (layer, direction):
            continue
        width = sizes[clamp.name]
        mask = masks.setdefault(clamp.name, np.zeros((steps, width), dtype=bool))
        value = values.setdefault(clamp.name, np.zeros((steps, width), dtype=dtype))
        units = slice(None) if clamp.units is None else list(clamp.units)
        start, stop = clamp.steps
        mask[start:stop, units] = True
        value[start:stop, units] = clamp.value
    if direction:
        masks = {k: np.ascontiguousarray(v[::-1]) for k, v in masks.items()}
        values = {k: np.ascontiguousarray(v[::-1]) for k, v in values.items()}
    return Clamps(masks, values)


def check_interventions(interventions, spec, steps: int) -> tuple[Clamp, ...]:
    """The interventions as a tuple, each checked against the model and the sequence length."""
    from .cells import cell_for

    cell = cell_for(spec)
    sizes = quantity_sizes(cell)
    checked = []
    for clamp in interventions:
        if not isinstance(clamp, Clamp):
            raise ValueError(f"interventions must be lstmviz.Clamp objects, got {type(clamp).__name__}")
        if clamp.name not in sizes:
            raise ValueError(
                f"Clamp name {clamp.name!r}: the {cell.label} has {', '.join(map(repr, sizes))}"
            )
        if clamp.layer >= spec.num_layers or clamp.direction >= spec.directions:
            raise ValueError(
                f"Clamp layer {clamp.layer}, direction {clamp.direction}: the model has "
                f"{spec.num_layers} layer(s) and {spec.directions} direction(s)"
            )
        if clamp.steps[1] > steps:
            raise ValueError(f"Clamp steps {clamp.steps}: the sequence has {steps} steps")
        if clamp.units is not None and clamp.units[-1] >= sizes[clamp.name]:
            raise ValueError(f"Clamp units: {clamp.name} has {sizes[clamp.name]} units, "
                             f"got unit {clamp.units[-1]}")
        checked.append(clamp)
    return tuple(checked)
