"""The Training lab's settings: its own controls plus the sidebar's cells and model settings."""

from __future__ import annotations

import math

import streamlit as st

from lstmviz import training
from lstmviz.limits import MAX_TRAIN_LENGTH, MAX_TRAIN_STEPS
from lstmviz.sequences import PRESETS
from lstmviz.tasks import TASKS
from lstmviz.training import TrainConfig, TrainingError

from . import page
from .config import AppConfig
from .safe_text import plain

NEXT_STEP = "next_step"
BUILTIN_TASKS = ("impulse", "adding", "copy", "temporal_order")
TASK_CHOICES = (*BUILTIN_TASKS, NEXT_STEP)
TASK_LABELS = {**TASKS, NEXT_STEP: "Next-step prediction on the sidebar's sequence"}
LEARNING_RATES = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1)
BATCH_SIZES = (8, 16, 32, 64, 128, 256)
SIZE_LABELS = {"equal_hidden": "Equal hidden size", "equal_params": "≈ Equal parameter count"}
# What a cell that ignores its input can reach on each task: the loss to beat.
BASELINES = {
    "impulse": ("predicting 0 for every sequence", 1 / 3),
    "adding": ("predicting the mean 1 for every sequence", 1 / 6),
    "copy": ("guessing one of the 8 symbols", math.log(8)),
    "temporal_order": ("guessing one of the 4 classes", math.log(4)),
}


def settings() -> TrainConfig | None:
    """The page's controls and the sidebar's cells as one TrainConfig (None, with a message, if unusable)."""
    app = page.config()
    chosen = _controls()
    task, source = _task_and_source(chosen.pop("task"), app)
    _explain_sidebar_settings(app)
    if not app.cells:
        st.info("Enable at least one cell in the sidebar.")
        return None
    try:
        config = TrainConfig(task=task, cells=app.cells, model=app.model, source=source, **chosen)
        training.check_budget(config)
    except TrainingError as error:
        st.error(plain(f"Cannot train with these settings: {error}"))
        return None
    return config


def _controls() -> dict:
    """The page's own training controls, as TrainConfig fields (plus ``task`` as picked)."""
    with st.container(border=True):
        left, middle, right = st.columns(3)
        task = left.selectbox("Task", TASK_CHOICES, index=TASK_CHOICES.index(training.DEFAULT_TASK),
                              format_func=TASK_LABELS.get, key="tl_task", persist_state="session")
        length = middle.number_input(
            "Length (steps per sequence)" if task != NEXT_STEP else "Window length", 2, MAX_TRAIN_LENGTH,
            value=training.DEFAULT_LENGTH, step=5, key="tl_length", persist_state="session",
            help="The distance the memory must bridge. Longer is harder, above all for the RNN.",
        )
        steps = right.number_input("Training steps", 1, MAX_TRAIN_STEPS, value=training.DEFAULT_STEPS,
                                   step=50, key="tl_steps", persist_state="session")
        learning_rate = left.select_slider("Learning rate (Adam)", LEARNING_RATES,
                                           value=training.DEFAULT_LEARNING_RATE, key="tl_lr",
                                           persist_state="session")
        batch = middle.select_slider("Batch size", BATCH_SIZES, value=training.DEFAULT_BATCH, key="tl_batch",
                                     persist_state="session")
        every = right.number_input("Snapshot every … steps", 1, MAX_TRAIN_STEPS,
                                   value=training.DEFAULT_SNAPSHOT_EVERY, key="tl_every",
                                   persist_state="session")
        size_mode = left.segmented_control(
            "Cell sizes", tuple(SIZE_LABELS), format_func=SIZE_LABELS.get, default="equal_hidden",
            required=True, key="tl_size_mode", persist_state="session",
            help="≈ equal parameters: each cell gets the hidden size whose parameter count (readout "
            "included) is closest to the LSTM's at the sidebar's hidden size.",
        )
        clip_on = middle.toggle("Clip the gradient norm", value=True, key="tl_clip_on",
                                persist_state="session")
        clip = right.number_input("Max gradient norm", 0.01, 1000.0, value=training.DEFAULT_CLIP,
                                  key="tl_clip", disabled=not clip_on, persist_state="session",
                                  help="torch.nn.utils.clip_grad_norm_ over all parameters, "
                                       "readout included.")
    return {
        "task": task,
        "length": int(length),
        "steps": int(steps),
        "batch_size": int(batch),
        "learning_rate": float(learning_rate),
        "clip_norm": float(clip) if clip_on else None,
        "size_mode": size_mode,
        "snapshot_every": int(every),
    }


def _task_and_source(task: str, app: AppConfig) -> tuple[str, str]:
    """The training task, with next-step prediction resolved against the sidebar's sequence."""
    if task != NEXT_STEP:
        what, loss = BASELINES[task]
        st.caption(plain(f"{TASK_LABELS[task]}: {PRESETS[task]}. Loss to beat: {loss:.3f}, by {what}."))
        return task, ""
    kind = "characters: classification over its vocabulary" if app.mode == "text" else "numbers: regression"
    st.caption(f"Next-step prediction reads the sidebar's sequence ({kind}) and learns x_{{t+1}} from x_≤t "
               "on random windows of it.")
    return ("next_char" if app.mode == "text" else "next_value"), app.text


def _explain_sidebar_settings(app: AppConfig) -> None:
    m = app.model
    st.caption(
        plain(
            f"From the sidebar: cells {', '.join(app.cells) or 'none'} · hidden size {m.hidden_size} · "
            f"{m.num_layers} layer(s) · seed {m.seed} · init {m.init} · W_hh × {m.recurrent_scale:g} · "
            f"forget-gate bias {m.forget_bias:+g} · GRU {m.gru_variant} · RNN {m.nonlinearity}. Training "
            "starts from fresh cells built with these settings, one direction only (a backward pass would "
            "read the answer before the question)."
        )
    )
