"""Config in, traces out: the one cached computation behind every page.

:func:`run` is plain Python (no Streamlit): sequence, models, traces and Jacobian norms for every enabled
cell, or a :class:`Computed` holding the error message to show. :func:`compute` is the same function
behind ``st.cache_data`` with a bounded number of entries.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import streamlit as st

import lstmviz
from lstmviz import JacobianNorms, Model, Trace
from lstmviz.summaries import nonfinite_counts

from .config import AppConfig

JACOBIAN_BUDGET = 3e8
"""Most sum over steps and cells of (state size)^3 spent on Jacobians (about 2 s on one core)."""

MAX_TRACE_BYTES = 512 * 2**20
"""Most bytes of stored trace arrays: float32 gates, states and gradients of every enabled cell."""

_ARRAYS_PER_CELL = {"rnn": 3, "lstm": 12, "gru": 8}  # (T, H) arrays a layer and direction keeps


@dataclass(frozen=True)
class Computed:
    """What the pages draw. ``error`` is set (and the rest empty) when the input cannot be traced."""

    x: np.ndarray | None = None
    vocabulary: tuple[str, ...] | None = None
    traces: dict[str, Trace] = field(default_factory=dict)
    jacobians: dict[str, tuple[tuple[JacobianNorms, ...], ...]] = field(default_factory=dict)
    jacobian_windows: dict[str, int] = field(default_factory=dict)
    nonfinite: dict[str, dict[str, int]] = field(default_factory=dict)
    """Per cell, the quantities holding inf/NaN and how many (only cells that have any)."""
    error: str | None = None
    seconds: float = 0.0

    @property
    def steps(self) -> int:
        return 0 if self.x is None else len(self.x)


def sequence(config: AppConfig) -> tuple[np.ndarray, tuple[str, ...] | None]:
    """The input (T, D) and, in text mode, the vocabulary; raises ``lstmviz.SequenceError``."""
    if config.mode == "text":
        return lstmviz.encode_text(config.text)
    if not config.edited:
        return lstmviz.preset(config.preset, config.preset_length, config.preset_seed), None
    return lstmviz.parse_sequence(config.text), None


def fresh_models(config: AppConfig, input_size: int) -> dict[str, Model]:
    """The enabled cells built from the sidebar's settings (forget bias for the LSTM only)."""
    return {
        cell: lstmviz.build(
            cell,
            input_size,
            config.hidden_size,
            num_layers=config.num_layers,
            bidirectional=config.bidirectional,
            gru_variant=config.gru_variant,
            init=config.init,
            recurrent_scale=config.recurrent_scale,
            forget_bias=config.forget_bias if cell == "lstm" else 0.0,
            seed=config.seed,
        )
        for cell in config.cells
    }


def check_input_size(models: Mapping[str, Model], input_size: int) -> None:
    for cell, model in models.items():
        if model.spec.input_size != input_size:
            raise ValueError(
                f"the {cell.upper()} model takes {model.spec.input_size} input feature(s) per step, "
                f"but the sequence has {input_size}: enter a sequence with {model.spec.input_size} "
                "value(s) per step, or go back to fresh cells"
            )


def trace_bytes(models: Mapping[str, Model], steps: int) -> int:
    """Bytes of float32 arrays the traces of ``models`` over ``steps`` steps keep."""
    total = 0
    for cell, model in models.items():
        spec = model.spec
        total += _ARRAYS_PER_CELL[cell] * steps * spec.hidden_size * spec.num_layers * spec.directions
    return 4 * total


def jacobian_windows(
    models: Mapping[str, Model], steps: int, budget: float = JACOBIAN_BUDGET
) -> dict[str, int]:
    """Steps K per cell whose Jacobians fit the budget (split evenly between the cells)."""
    windows = {}
    for cell, model in models.items():
        spec = model.spec
        state = spec.hidden_size + (spec.output_size if cell == "lstm" else 0)
        cost = state**3 * spec.num_layers * spec.directions
        windows[cell] = int(min(steps, max(1, budget / len(models) // cost)))
    return windows


def run(
    config: AppConfig, models: Mapping[str, Model] | None = None, *, jacobian_budget: float = JACOBIAN_BUDGET
) -> Computed:
    """Trace every enabled cell of ``config`` (or the given ``models``) over its sequence."""
    start = time.perf_counter()
    try:
        x, vocabulary = sequence(config)
        if models is None:
            models = fresh_models(config, x.shape[1])
        else:
            models = {cell: models[cell] for cell in config.cells if cell in models}
            check_input_size(models, x.shape[1])
    except ValueError as error:  # SequenceError is a ValueError; so are bad sizes
        return Computed(error=str(error))
    size = trace_bytes(models, len(x))
    if size > MAX_TRACE_BYTES:
        return Computed(
            error=f"this configuration would keep {size / 2**20:,.0f} MB of gates, states and gradients "
            f"(the limit is {MAX_TRACE_BYTES / 2**20:,.0f} MB): use a shorter sequence, fewer units "
            "or layers, no second direction, or fewer cells"
        )
    windows = jacobian_windows(models, len(x), jacobian_budget)
    traces, jacobians = {}, {}
    with np.errstate(over="ignore", invalid="ignore"):
        for cell, model in models.items():
            traces[cell] = lstmviz.trace(model, x, loss=config.loss)
            window = windows[cell] if windows[cell] < len(x) else None
            jacobians[cell] = lstmviz.jacobian_norms(model, x, max_steps=window)
    cut = {cell: k for cell, k in windows.items() if k < len(x)}
    exploded = {cell: counts for cell, trace in traces.items() if (counts := nonfinite_counts(trace))}
    return Computed(
        x=x,
        vocabulary=vocabulary,
        traces=traces,
        jacobians=jacobians,
        jacobian_windows=cut,
        nonfinite=exploded,
        seconds=time.perf_counter() - start,
    )


@st.cache_data(max_entries=6, show_spinner="Tracing the cells…")
def compute(config: AppConfig, _models: Mapping[str, Model] | None = None) -> Computed:
    """:func:`run`, cached per config (``config.models_key`` stands for ``_models``, not hashed)."""
    return run(config, _models)
