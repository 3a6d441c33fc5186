"""The cell registry: one module per kind of recurrent cell, one line each here.

``REGISTRY`` maps a name ("rnn", "lstm", "gru", "mingru", "minlstm") to its :class:`~.base.Cell`
class; :func:`cell_for` binds one to a :class:`~lstmviz.model.ModelSpec`. Adding a cell is a new
module and a line in ``_CELLS``: everything else (trace, Jacobians, plots, pages, training, weights,
export, links) loops over the registry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import Cell, CellGrads, CellRun, Clamps, Layout, Node
from .gru import GRU
from .lstm import LSTM
from .mingru import MinGRU
from .minlstm import MinLSTM
from .rnn import RNN

if TYPE_CHECKING:
    from ..model import ModelSpec

_CELLS: tuple[type[Cell], ...] = (RNN, LSTM, GRU, MinGRU, MinLSTM)

REGISTRY: dict[str, type[Cell]] = {cls.name: cls for cls in _CELLS}
CELL_NAMES: tuple[str, ...] = tuple(REGISTRY)
DEFAULT_CELLS: tuple[str, ...] = ("rnn", "lstm", "gru")
"""The cells a fresh view shows."""


def cell_class(name: str) -> type[Cell]:
    """The cell class registered as ``name``; a ValueError naming the choices otherwise."""
    if name not in REGISTRY:
        raise ValueError(f"cell must be one of {', '.join(CELL_NAMES)}; got {name!r}")
    return REGISTRY[name]


def cell_for(spec: ModelSpec) -> Cell:
    """The cell of ``spec``, bound to its options (nonlinearity, GRU convention, projection)."""
    return cell_class(spec.cell)(spec)


__all__ = [
    "CELL_NAMES",
    "DEFAULT_CELLS",
    "REGISTRY",
    "Cell",
    "CellGrads",
    "CellRun",
    "Clamps",
    "Layout",
    "Node",
    "cell_class",
    "cell_for",
]
