"""The Training lab's results: summary, curves, horizon heatmaps, snapshots to open or download."""

from __future__ import annotations

import streamlit as st

from lstmviz import training, training_plots, weights
from lstmviz.cells import REGISTRY
from lstmviz.training import TrainingResult

from . import page
from .handover import open_models
from .models import loaded_models
from .training_controls import BASELINES, BUILTIN_TASKS
from .training_loop import RESULT, RUNS

OPENED = "tl_opened"
OTHER_PAGES = (
    ("pages/step_through.py", "Step through", ":material/step:"),
    ("pages/gates_states.py", "Gates and states", ":material/grid_view:"),
    ("pages/gradients.py", "Gradients", ":material/trending_down:"),
)


def show() -> None:
    result = st.session_state.get(RESULT)
    if result is None:
        return
    runs = st.session_state.get(RUNS, 0)
    st.header(f"{result.task.label}, length {result.task.length}")
    _summary(result)
    selected = st.session_state.get(f"tl_snapshot_{runs}", result.snapshot_steps[-1])
    page.show("training_curves", training_plots.curves_figure(result, selected_step=selected),
              key="tl_curves")
    absolute = st.toggle("Absolute colour scale (all cells on one scale)", key="tl_absolute",
                         help="Off: each row is relative to its own largest value, so a small gradient that "
                         "still reaches the first steps is as visible as a large one.")
    st.caption(
        "Each row of a heatmap is one snapshot; each column a timestep of the probe sequence (the sidebar "
        "preset of this task, or your sequence). Bright far to the left = the loss still reaches "
        "the first steps."
    )
    page.show("training_horizon",
              training_plots.gradient_horizon_figure(result, selected_step=selected, normalise=not absolute),
              key="tl_horizon")
    with st.expander("Total gradient norm per step (what clipping acts on)"):
        page.show("grad_norm", training_plots.grad_norm_figure(result), key="tl_gradnorm")
    _snapshots(result, runs)


def _summary(result: TrainingResult) -> None:
    done = f"{result.steps_done} of {result.config.steps} steps in {result.seconds:.1f} s"
    if result.stopped:
        st.warning(f"Stopped after {done}. *Continue* goes on from there.")
    else:
        st.caption(f"Trained {done}.")
    for column, (cell, run) in zip(st.columns(len(result.cells)), result.cells.items(), strict=True):
        final = run.final
        column.metric(
            f"{REGISTRY[cell].label} · hidden {run.hidden_size} · {run.parameter_count:,} parameters",
            f"{final.accuracy:.0%} correct",
            f"loss {final.loss:.4g}",
            delta_color="off",
            delta_arrow="off",
            border=True,
            help="On a fixed evaluation batch of 256 sequences never used in training. "
            + ("A regression output counts as correct within "
               f"{training.REGRESSION_TOLERANCE:g} of its target."
               if result.task.kind == "regression" else "Correct = the highest score is on the right class."),
        )
        if run.diverged_at is not None:
            column.warning(
                f"Diverged at step {run.diverged_at} (loss or gradient not finite): its weights stay those "
                "before that step. Turn clipping on or lower the learning rate."
            )
    if result.task.name in BASELINES:
        what, value = BASELINES[result.task.name]
        st.caption(f"Loss to beat: {value:.3f}, by {what}. A cell stuck there has learned nothing "
                   "about the past.")


def _open_snapshot(index: int) -> None:
    result: TrainingResult = st.session_state[RESULT]
    step = result.snapshot_steps[index]
    label = f"trained on {result.task.label.lower()} (length {result.task.length}), step {step}"
    task = result.task
    if task.name in BUILTIN_TASKS:
        open_models(label, result.models_at(index), preset=task.name, length=task.length,
                    seed=result.config.seed)
    else:
        open_models(label, result.models_at(index))
    st.session_state[OPENED] = label


def _snapshots(result: TrainingResult, runs: int) -> None:
    st.header("Snapshots")
    steps = result.snapshot_steps
    step = st.select_slider("Training step of the snapshot", steps, value=steps[-1],
                            key=f"tl_snapshot_{runs}")
    index = steps.index(step)
    page.show("snapshot_profile", training_plots.snapshot_profile_figure(result, index), key="tl_profile")
    left, right = st.columns([2, 3])
    left.button(f"Open step {step} in the other pages", on_click=_open_snapshot, args=(index,),
                type="primary", key="tl_open_snapshot", width="stretch")
    opened = st.session_state.get(OPENED)
    current = loaded_models()
    if opened and current is not None and current.label == opened:
        right.success(f"Every page now traces the cells {opened}.")
        page_links()
    st.subheader("Download the weights")
    st.caption("PyTorch state_dicts as .safetensors: "
               "`nn.LSTM(...).load_state_dict(safetensors.torch.load_file(path))`. The readout layer "
               "is not included.")
    for column, (cell, run) in zip(st.columns(len(result.cells)), result.cells.items(), strict=True):
        model = run.snapshots[index].model
        column.download_button(
            f"{REGISTRY[cell].label} at step {step} (.safetensors)",
            data=weights.save_safetensors(model),
            file_name=f"{result.task.name}_{cell}_h{run.hidden_size}_step{step}.safetensors",
            mime="application/octet-stream",
            on_click="ignore",
            key=f"tl_download_{cell}",
            width="stretch",
        )


def page_links() -> None:
    for column, (path, title, icon) in zip(st.columns(len(OTHER_PAGES)), OTHER_PAGES, strict=True):
        column.page_link(path, label=title, icon=icon)
