"""The Training lab's live loop: Train, Stop, Continue, with progress and charts redrawn as it learns."""

from __future__ import annotations

import streamlit as st

from lstmviz import training, training_plots
from lstmviz.training import TrainConfig, Trainer, TrainingError

from . import page
from .safe_text import plain

TRAINER = "tl_trainer"
RESULT = "tl_result"
RUNS = "tl_runs"
STOP = "tl_stop"
PROGRESS_SECONDS = 0.25  # least time between two updates of the progress bar
LIVE_CHART_SECONDS = 1.5  # least time between two redraws of the live curves and heatmap


def _request_stop() -> None:
    st.session_state[STOP] = True


def _continue() -> None:
    trainer = st.session_state.get(TRAINER)
    if trainer is not None:
        trainer.resume()


def train(config: TrainConfig | None) -> None:
    """The buttons, and the loop while a run is unfinished (it resumes on every rerun)."""
    state = st.session_state
    left, middle, right, _ = st.columns([1, 1, 1, 3])
    if left.button("Train", type="primary", disabled=config is None, key="tl_train", width="stretch"):
        try:
            state[TRAINER] = Trainer(config)
        except TrainingError as error:
            st.error(plain(f"Cannot train on this input: {error}"))
        state.pop(STOP, None)
    trainer = state.get(TRAINER)
    if trainer is not None and state.pop(STOP, False):
        trainer.stop()
    middle.button("Stop", on_click=_request_stop, disabled=trainer is None or trainer.done,
                  key="tl_stop_button", width="stretch")
    stopped = trainer is not None and trainer.stopped and trainer.step < trainer.config.steps
    right.button("Continue", on_click=_continue, disabled=not stopped, key="tl_continue", width="stretch",
                 help="Go on from the step where the run stopped, with everything it learned.")
    if trainer is None:
        return
    if not trainer.done:
        _run(trainer)
    shown = state.get(RESULT)
    if shown is None or shown.config is not trainer.config or shown.steps_done != trainer.step:
        state[RESULT] = trainer.result()
        state[RUNS] = state.get(RUNS, 0) + 1


def _run(trainer: Trainer) -> None:
    # A click on Stop (or any widget) reruns the page: Streamlit interrupts this loop at the next
    # progress update, the trainer keeps every finished step, and the next run stops or resumes.
    bar = st.progress(trainer.step / trainer.config.steps, text="Training…")
    live = st.empty()
    shown = {"bar": 0.0, "charts": 0.0}

    def progress(update: training.Progress) -> None:
        if update.step == update.total or update.seconds - shown["bar"] >= PROGRESS_SECONDS:
            shown["bar"] = update.seconds
            losses = " · ".join(f"{c} {v:.4g}" for c, v in update.losses.items())
            bar.progress(update.step / update.total,
                         text=f"Step {update.step} of {update.total} · {update.seconds:.1f} s · "
                              f"loss {losses}")
        # Redraw only right after a snapshot, where result() adds nothing of its own.
        at_snapshot = update.step % trainer.config.snapshot_every == 0
        if at_snapshot and update.seconds - shown["charts"] >= LIVE_CHART_SECONDS:
            shown["charts"] = update.seconds
            result = trainer.result()
            with live.container():
                page.show("training_curves", training_plots.curves_figure(result))
                page.show("training_horizon", training_plots.gradient_horizon_figure(result))

    trainer.run(on_progress=progress)
    live.empty()
