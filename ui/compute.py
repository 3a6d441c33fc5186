"""Config in, traces out: the one cached computation behind every page.

:func:`run` is plain Python (no Streamlit): the sequence, the models (fresh cells built from the
config's :class:`lstmviz.ModelSettings`, or loaded ones), one float64 trace per cell and the
Jacobian norms computed from that same trace. It returns a :class:`View`, or a :class:`Refused` with
the message to show when the input cannot be traced or the view would pass its memory budget.
:func:`compute` is :func:`run` behind the shared, byte-bounded :class:`ui.cache.BytesCache`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import streamlit as st

import lstmviz
from lstmviz import JacobianNorms, Model, Trace
from lstmviz.cells import cell_for
from lstmviz.jacobian import jacobian_cost
from lstmviz.limits import VIEW_BUDGET_BYTES, VIEW_JACOBIAN_BUDGET
from lstmviz.sequences import parse_sequence_with_notes
from lstmviz.summaries import nonfinite_counts
from lstmviz.trace import trace_bytes

from .cache import BytesCache
from .config import AppConfig


@dataclass(frozen=True)
class View:
    """What the pages draw: one float64 trace per enabled cell, and what is read off it."""

    x: np.ndarray
    vocabulary: tuple[str, ...] | None
    characters: tuple[str, ...] | None  # the typed characters, one per step (text mode)
    notes: tuple[str, ...]  # how typed numbers were read, when another reading was possible
    traces: dict[str, Trace]
    labels: dict[str, str]  # cell -> label on screen ("LSTM", "LSTM (loaded)")
    jacobians: dict[str, tuple[tuple[JacobianNorms, ...], ...]]
    jacobian_windows: dict[str, int]  # cells whose Jacobians cover their last K steps only
    nonfinite: dict[str, dict[str, int]]  # cells holding inf/NaN: quantity -> count
    seconds: float

    @property
    def steps(self) -> int:
        return len(self.x)

    def labelled(self) -> dict[str, Trace]:
        """The traces keyed by their label, as the library's figures take them."""
        return {self.labels[cell]: trace for cell, trace in self.traces.items()}

    @property
    def nbytes(self) -> int:
        arrays = [self.x] + [a for tr in self.traces.values() for a in _arrays(tr)]
        return int(sum(a.nbytes for a in arrays))


@dataclass(frozen=True)
class Refused:
    """A view that cannot be drawn, and why (shown to the user as plain text)."""

    message: str


def _arrays(tr: Trace):
    yield from (tr.x, tr.output, tr.grad_x)
    for lt in (lt for layer in tr.layers for lt in layer):
        yield from (a for a in (lt.h, lt.c, lt.grad_h, lt.grad_c, lt.grad_h_direct) if a is not None)
        for group in (lt.gates, lt.preactivations, lt.grad_preactivations):
            yield from group.values()
    for run in (run for layer in tr.runs for run in layer):
        yield from (a for a in run.cache.values() if isinstance(a, np.ndarray))


def sequence(config: AppConfig) -> tuple[np.ndarray, tuple[str, ...] | None]:
    """The input (T, D) and, in text mode, the vocabulary; raises ``lstmviz.SequenceError``."""
    x, vocabulary, _ = sequence_with_notes(config)
    return x, vocabulary


def sequence_with_notes(config: AppConfig) -> tuple[np.ndarray, tuple[str, ...] | None, tuple[str, ...]]:
    """:func:`sequence` and the parser's notes on how typed numbers were read."""
    if config.mode == "text":
        return (*lstmviz.encode_text(config.text), ())
    if not config.edited:
        return lstmviz.preset(config.preset, config.preset_length, config.preset_seed), None, ()
    x, notes = parse_sequence_with_notes(config.text)
    return x, None, notes


def build_models(config: AppConfig, input_size: int, loaded: Mapping[str, Model] | None) -> dict[str, Model]:
    """The enabled cells: a loaded model where there is one for that cell, else a fresh one."""
    loaded = loaded or {}
    for model in loaded.values():
        if model.spec.input_size != input_size:
            raise ValueError(
                f"the loaded {cell_for(model.spec).title} reads {model.spec.input_size} feature(s) per step, "
                f"but the sequence has {input_size}: enter a sequence with {model.spec.input_size} "
                "value(s) per step, or go back to fresh cells"
            )
    return {cell: loaded.get(cell) or config.model.build(cell, input_size) for cell in config.cells}


def jacobian_windows(models: Mapping[str, Model], steps: int,
                     budget: float = VIEW_JACOBIAN_BUDGET) -> dict[str, int]:
    """Steps K per cell whose Jacobians fit the budget (split evenly between the cells)."""
    return {
        cell: int(min(steps, max(1, budget / len(models) // jacobian_cost(model.spec, 1))))
        for cell, model in models.items()
    }


def run(config: AppConfig, loaded: Mapping[str, Model] | None = None, *,
        jacobian_budget: float = VIEW_JACOBIAN_BUDGET) -> View | Refused:
    """Trace every enabled cell of ``config`` over its sequence (float64, so nothing drawn on a log
    scale is a float32 artefact)."""
    start = time.perf_counter()
    try:
        x, vocabulary, notes = sequence_with_notes(config)
        models = build_models(config, x.shape[1], loaded)
    except ValueError as error:  # SequenceError is a ValueError; so are bad sizes
        return Refused(str(error))
    size = sum(trace_bytes(model.spec, len(x)) for model in models.values())
    if size > VIEW_BUDGET_BYTES:
        return Refused(
            f"this view would keep {size / 2**20:,.0f} MB of gates, states and gradients (the limit is "
            f"{VIEW_BUDGET_BYTES / 2**20:,.0f} MB): use a shorter sequence, fewer units or layers, no "
            "second direction, or fewer cells"
        )
    windows = jacobian_windows(models, len(x), jacobian_budget)
    traces, jacobians = {}, {}
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            for cell, model in models.items():
                clamps = [clamp for c, clamp in config.interventions if c == cell]
                traces[cell] = lstmviz.trace(model, x, loss=config.loss, dtype="float64",
                                             interventions=clamps)
    except ValueError as error:  # a clamp that does not fit this model or sequence
        return Refused(f"{cell_for(models[cell].spec).title}: {error}")
    with np.errstate(over="ignore", invalid="ignore"):
        for cell in models:
            window = windows[cell] if windows[cell] < len(x) else None
            jacobians[cell] = lstmviz.jacobian_norms(traces[cell], max_steps=window)
    labels = {cell: cell_for(m.spec).title + (" (loaded)" if loaded and cell in loaded else "")
              for cell, m in models.items()}
    return View(
        x=x,
        vocabulary=vocabulary,
        characters=tuple(config.text) if config.mode == "text" else None,
        notes=notes,
        traces=traces,
        labels=labels,
        jacobians=jacobians,
        jacobian_windows={cell: k for cell, k in windows.items() if k < len(x)},
        nonfinite={cell: counts for cell, tr in traces.items() if (counts := nonfinite_counts(tr))},
        seconds=time.perf_counter() - start,
    )


@st.cache_resource
def shared_cache() -> BytesCache:
    cache = BytesCache()
    cache.start_janitor()
    return cache


def compute(config: AppConfig, loaded: Mapping[str, Model] | None = None) -> View | Refused:
    """:func:`run`, cached for every session (``config.models_key`` stands for ``loaded``)."""
    return shared_cache().get_or_compute(
        config, lambda: run(config, loaded), lambda v: v.nbytes if isinstance(v, View) else 0
    )
