"""Training lab: train the cells side by side, watch the gradient horizon move, load and save weights."""

import math

import numpy as np
import streamlit as st

from lstmviz import training, training_plots, weights
from lstmviz.model import CELLS
from lstmviz.sequences import PRESETS, format_sequence
from lstmviz.training import TASKS, TrainConfig, Trainer, TrainingError
from ui import page
from ui.compute import sequence
from ui.config import AppConfig, preset_text
from ui.models import active_models, use_models

TRAINER = "tl_trainer"
RESULT = "tl_result"
RUNS = "tl_runs"
STOP = "tl_stop"
MESSAGES = "tl_messages"
OPENED = "tl_opened"
PROGRESS_SECONDS = 0.25  # least time between two updates of the progress bar
LIVE_CHART_SECONDS = 1.5  # least time between two redraws of the live curves and heatmap

NEXT_STEP = "next_step"
BUILTIN_TASKS = ("impulse", "adding", "copy", "temporal_order")
TASK_CHOICES = (*BUILTIN_TASKS, NEXT_STEP)
TASK_LABELS = {**TASKS, NEXT_STEP: "Next-step prediction on the sidebar's sequence"}
LEARNING_RATES = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1)
BATCH_SIZES = (8, 16, 32, 64, 128, 256)
SIZE_LABELS = {"equal_hidden": "Equal hidden size", "equal_params": "≈ Equal parameter count"}
NONLINEARITY_LABELS = {"auto": "from the file, else tanh", "tanh": "tanh", "relu": "relu"}
# What a cell that ignores its input can reach on each task: the loss to beat.
BASELINES = {
    "impulse": ("predicting 0 for every sequence", 1 / 3),
    "adding": ("predicting the mean 1 for every sequence", 1 / 6),
    "copy": ("guessing one of the 8 symbols", math.log(8)),
    "temporal_order": ("guessing one of the 4 classes", math.log(4)),
}

OTHER_PAGES = (
    ("pages/step_through.py", "Step through", "⏯️"),
    ("pages/gates_states.py", "Gates and states", "🚦"),
    ("pages/gradients.py", "Gradients", "📉"),
)

st.title("Training lab")
st.markdown(
    "Untrained cells only show how gradients *can* flow. Here every enabled cell **learns** a task "
    "that needs memory, with identical settings: the same seed, the same batches, Adam with the same "
    "learning rate and the same number of steps. Snapshots keep the weights and "
    "‖∂L/∂h_t‖ on a fixed probe sequence, so you can watch how far back the gradient reaches "
    "while each cell learns, and open any snapshot in the other pages."
)


# ---------------------------------------------------------------------------------------------
# Sidebar hand-over: what the other pages trace after a snapshot, an upload or the example opens


def _point_sidebar(cells, *, preset: str | None = None, length: int = 0, seed: int = 0) -> None:
    """Enable ``cells`` in the sidebar and, given a preset, make it the sequence; loss: last step.

    Runs in widget callbacks only (before the sidebar's widgets exist in the next run).
    """
    state = st.session_state
    enabled = set(state.get("w_cells", ())) | set(cells)
    state["w_cells"] = [cell for cell in CELLS if cell in enabled]
    state["w_loss"] = "last"
    if preset is not None:
        state["w_preset"], state["w_length"], state["w_pseed"] = preset, length, seed
        state["w_mode"], state["w_text"] = preset_text(preset, length, seed)
        state["w_edited"] = False


def _fit_sidebar_input(input_size: int) -> str:
    """Give the sidebar a sequence with ``input_size`` features if it has another width."""
    state = st.session_state
    try:
        x, _ = sequence(page.config())
        if x.shape[1] == input_size:
            return ""
    except ValueError:
        pass
    if input_size == 1:
        _point_sidebar((), preset="impulse", length=30, seed=0)
        return "The sidebar now holds the impulse preset (one feature per step)."
    values = np.random.default_rng(0).standard_normal((20, input_size)).round(3)
    state["w_mode"], state["w_text"], state["w_edited"] = "numbers", format_sequence(values), True
    return (
        f"The model reads {input_size} features per step, so the sidebar now holds 20 random steps of "
        f"{input_size} values: replace them with your own sequence."
    )


def _open_snapshot(index: int) -> None:
    result = st.session_state[RESULT]
    step = result.snapshot_steps[index]
    label = f"trained on {result.task.label.lower()} (length {result.task.length}), step {step}"
    use_models(label, result.models_at(index))
    if result.task.name in BUILTIN_TASKS:
        task = result.task
        _point_sidebar(result.cells, preset=task.name, length=task.length, seed=result.config.seed)
    else:
        _point_sidebar(result.cells)
    st.session_state[OPENED] = label


def _open_example() -> None:
    info = weights.example_info("recall_first")
    models = weights.load_example("recall_first")
    length = info["task"]["length"]
    label = f"example: {weights.EXAMPLES['recall_first']} (length {length})"
    use_models(label, models)
    _point_sidebar(models, preset=info["task"]["name"], length=length, seed=info["config"]["seed"])
    finals = ", ".join(
        f"{cell.upper()} loss {final['loss']:.4g}, accuracy {final['accuracy']:.0%}"
        for cell, final in info["final"].items()
    )
    st.session_state[MESSAGES] = [
        (
            "success",
            f"Opened the {label}. Trained by scripts/make_example.py: {info['config']['steps']} steps, "
            f"hidden size {info['config']['hidden_size']}, LSTM forget-gate bias "
            f"{info['config']['forget_bias']:g}; final {finals} (|error| < 0.1 counts as correct). "
            "The sidebar now shows the impulse preset: x₀ = 1, then zeros.",
        )
    ]


def _load_upload() -> None:
    state = st.session_state
    upload = state.get("tl_upload")
    state[MESSAGES] = []
    if upload is None:
        return
    if upload.size > weights.MAX_WEIGHTS_BYTES:  # refused before reading a byte of it
        state[MESSAGES] = [
            (
                "error",
                f"{upload.name} has {upload.size / 1e6:.1f} MB; weights files up to "
                f"{weights.MAX_WEIGHTS_BYTES / 1e6:.0f} MB are read.",
            )
        ]
        return
    choice = state.get("tl_nonlinearity", "auto")
    try:
        loaded = weights.read_weights(
            upload.getvalue(), upload.name, nonlinearity=None if choice == "auto" else choice
        )
    except weights.WeightsError as error:
        state[MESSAGES] = [("error", f"{upload.name}: {error}")]
        return
    spec = loaded.model.spec
    use_models(f"uploaded {upload.name}", {spec.cell: loaded.model})
    _point_sidebar((spec.cell,))
    described = (
        f"{spec.num_layers} layer(s){', bidirectional' if spec.bidirectional else ''}, input size "
        f"{spec.input_size}, hidden size {spec.hidden_size}"
        f"{f', proj_size {spec.proj_size}' if spec.proj_size else ''}"
        f"{'' if spec.bias else ', no bias'}"
        f"{f', {spec.nonlinearity}' if spec.cell == 'rnn' else ''}"
    )
    loaded_text = f"Loaded an {spec.cell.upper()} ({described}) from {upload.name}: every page now traces it."
    messages = [("success", loaded_text)]
    messages += [("info", note) for note in loaded.notes]
    fitted = _fit_sidebar_input(spec.input_size)
    if fitted:
        messages.append(("info", fitted))
    state[MESSAGES] = messages


def _request_stop() -> None:
    st.session_state[STOP] = True


# ---------------------------------------------------------------------------------------------
# Settings


def _settings() -> TrainConfig | None:
    """The page's controls and the sidebar's cells as one TrainConfig (None, with a message, if unusable)."""
    app = page.config()
    chosen = _controls()
    task, source = _task_and_source(chosen.pop("task"), app)
    _explain_sidebar_settings(app)
    if not app.cells:
        st.info("Enable at least one cell in the sidebar.")
        return None
    try:
        return TrainConfig(
            task=task,
            seed=int(app.seed),
            hidden_size=int(app.hidden_size),
            num_layers=int(app.num_layers),
            cells=tuple(app.cells),
            gru_variant=app.gru_variant,
            init=app.init,
            recurrent_scale=float(app.recurrent_scale),
            forget_bias=float(app.forget_bias),
            source=source,
            **chosen,
        )
    except TrainingError as error:
        st.error(f"Cannot train with these settings: {error}")
        return None


def _controls() -> dict:
    """The page's own training controls, as TrainConfig fields (plus ``task`` as picked)."""
    with st.container(border=True):
        left, middle, right = st.columns(3)
        task = left.selectbox(
            "Task",
            TASK_CHOICES,
            index=TASK_CHOICES.index(training.DEFAULT_TASK),
            format_func=TASK_LABELS.get,
            key="tl_task",
            persist_state="session",
        )
        length = middle.number_input(
            "Length (steps per sequence)" if task != NEXT_STEP else "Window length",
            2,
            training.MAX_LENGTH,
            value=training.DEFAULT_LENGTH,
            step=5,
            key="tl_length",
            persist_state="session",
            help="The distance the memory must bridge. Longer is harder, above all for the RNN.",
        )
        steps = right.number_input(
            "Training steps",
            1,
            training.MAX_STEPS,
            value=training.DEFAULT_STEPS,
            step=50,
            key="tl_steps",
            persist_state="session",
        )
        learning_rate = left.select_slider(
            "Learning rate (Adam)",
            LEARNING_RATES,
            value=training.DEFAULT_LEARNING_RATE,
            key="tl_lr",
            persist_state="session",
        )
        batch = middle.select_slider(
            "Batch size", BATCH_SIZES, value=training.DEFAULT_BATCH, key="tl_batch", persist_state="session"
        )
        every = right.number_input(
            "Snapshot every … steps",
            1,
            training.MAX_STEPS,
            value=training.DEFAULT_SNAPSHOT_EVERY,
            key="tl_every",
            persist_state="session",
        )
        size_mode = left.segmented_control(
            "Cell sizes",
            tuple(SIZE_LABELS),
            format_func=SIZE_LABELS.get,
            default="equal_hidden",
            required=True,
            key="tl_size_mode",
            persist_state="session",
            help="≈ equal parameters: each cell gets the hidden size whose parameter count (readout "
            "included) is closest to the LSTM's at the sidebar's hidden size.",
        )
        clip_on = middle.toggle(
            "Clip the gradient norm", value=True, key="tl_clip_on", persist_state="session"
        )
        clip = right.number_input(
            "Max gradient norm",
            0.01,
            1000.0,
            value=training.DEFAULT_CLIP,
            key="tl_clip",
            disabled=not clip_on,
            persist_state="session",
            help="torch.nn.utils.clip_grad_norm_ over all parameters, readout included.",
        )
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
        st.caption(
            f"{TASK_LABELS[task]}: {PRESETS[task]}. "
            f"Loss to beat: {BASELINES[task][1]:.3f}, by {BASELINES[task][0]}."
        )
        return task, ""
    kind = "characters: classification over its vocabulary" if app.mode == "text" else "numbers: regression"
    st.caption(
        f"Next-step prediction reads the sidebar's sequence ({kind}) and learns x_{{t+1}} from "
        "x_≤t on random windows of it."
    )
    return ("next_char" if app.mode == "text" else "next_value"), app.text


def _explain_sidebar_settings(app: AppConfig) -> None:
    st.caption(
        f"From the sidebar: cells {', '.join(c.upper() for c in app.cells) or 'none'} · hidden size "
        f"{app.hidden_size} · {app.num_layers} layer(s) · seed {app.seed} · init {app.init} · "
        f"W_hh × {app.recurrent_scale:g} · LSTM forget-gate bias {app.forget_bias:+g} · GRU "
        f"{app.gru_variant}. Training starts from fresh cells built with these settings, one direction "
        "only (a backward pass would read the answer before the question)."
    )
    if "gru" in app.cells and app.gru_variant == "tutorial":
        st.caption(
            "The tutorial GRU has no torch.nn module: it trains through a Python loop over its own "
            "equations (on a CPU about as fast as nn.GRU, up to twice as slow)."
        )


# ---------------------------------------------------------------------------------------------
# Training


def _train(config: TrainConfig | None) -> None:
    state = st.session_state
    left, right, _ = st.columns([1, 1, 4])
    if left.button("Train", type="primary", disabled=config is None, key="tl_train", width="stretch"):
        try:
            state[TRAINER] = Trainer(config)
        except TrainingError as error:
            st.error(f"Cannot train on this input: {error}")
        state.pop(STOP, None)
    trainer = state.get(TRAINER)
    right.button(
        "Stop", on_click=_request_stop, disabled=trainer is None, key="tl_stop_button", width="stretch"
    )
    if trainer is None:
        return
    if state.pop(STOP, False):
        trainer.stop()
    if not trainer.done:
        # A click on Stop (or any widget) reruns the page: Streamlit interrupts this loop at the next
        # progress update, the trainer keeps every finished step, and the next run stops or resumes.
        bar = st.progress(trainer.step / trainer.config.steps, text="Training…")
        live = st.empty()
        shown = {"bar": 0.0, "charts": 0.0}

        def progress(update: training.Progress) -> None:
            if update.step == update.total or update.seconds - shown["bar"] >= PROGRESS_SECONDS:
                shown["bar"] = update.seconds
                losses = " · ".join(f"{c.upper()} {v:.4g}" for c, v in update.losses.items())
                bar.progress(
                    update.step / update.total,
                    text=f"Step {update.step} of {update.total} · {update.seconds:.1f} s · loss {losses}",
                )
            # Redraw only right after a snapshot, where result() adds nothing of its own.
            at_snapshot = update.step % trainer.config.snapshot_every == 0
            if at_snapshot and update.seconds - shown["charts"] >= LIVE_CHART_SECONDS:
                shown["charts"] = update.seconds
                _live_charts(live, trainer.result())

        trainer.run(on_progress=progress)
        live.empty()
    state[RESULT] = trainer.result()
    state[RUNS] = state.get(RUNS, 0) + 1
    del state[TRAINER]


def _live_charts(slot, result: training.TrainingResult) -> None:
    """Loss curves and the gradient-horizon heatmap so far, while the cells are still learning."""
    with slot.container():
        st.plotly_chart(training_plots.curves_figure(result), width="stretch", config=page.PLOTLY_CONFIG)
        st.plotly_chart(
            training_plots.gradient_horizon_figure(result), width="stretch", config=page.PLOTLY_CONFIG
        )


# ---------------------------------------------------------------------------------------------
# Results


def _summary(result: training.TrainingResult) -> None:
    done = f"{result.steps_done} of {result.config.steps} steps in {result.seconds:.1f} s"
    if result.stopped:
        st.warning(f"Stopped after {done}.")
    else:
        st.caption(f"Trained {done}.")
    columns = st.columns(len(result.cells))
    for column, (cell, run) in zip(columns, result.cells.items(), strict=True):
        final = run.final
        column.metric(
            f"{cell.upper()} · hidden {run.hidden_size} · {run.parameter_count:,} parameters",
            f"{final.accuracy:.0%} correct",
            f"loss {final.loss:.4g}",
            delta_color="off",
            delta_arrow="off",
            border=True,
            help="On a fixed evaluation batch of 256 sequences never used in training. "
            + (
                f"A regression output counts as correct within {training.REGRESSION_TOLERANCE:g} "
                "of its target."
                if result.task.kind == "regression"
                else "Correct = the highest score is on the right class."
            ),
        )
        if run.diverged_at is not None:
            column.warning(
                f"Diverged at step {run.diverged_at} (loss or gradient not finite): its weights stay "
                "those before that step. Turn clipping on or lower the learning rate."
            )
    if result.task.name in BASELINES:
        what, value = BASELINES[result.task.name]
        st.caption(
            f"Loss to beat: {value:.3f}, by {what}. A cell stuck there has learned nothing about the past."
        )


def _snapshots(result: training.TrainingResult, runs: int) -> None:
    st.header("Snapshots")
    steps = result.snapshot_steps
    step = st.select_slider(
        "Training step of the snapshot", steps, value=steps[-1], key=f"tl_snapshot_{runs}"
    )
    index = steps.index(step)
    page.show(training_plots.snapshot_profile_figure(result, index), key="tl_profile")
    left, right = st.columns([2, 3])
    left.button(
        f"Open step {step} in the other pages",
        on_click=_open_snapshot,
        args=(index,),
        type="primary",
        key="tl_open_snapshot",
        width="stretch",
    )
    opened = st.session_state.get(OPENED)
    current = active_models()
    if opened and current is not None and current.label == opened:
        right.success(f"Every page now traces the cells {opened}.")
        for column, (path, title, icon) in zip(st.columns(len(OTHER_PAGES)), OTHER_PAGES, strict=True):
            column.page_link(path, label=title, icon=icon)
    st.subheader("Download the weights")
    st.caption(
        "PyTorch state_dicts as .safetensors: "
        "`nn.LSTM(...).load_state_dict(safetensors.torch.load_file(path))`. "
        "The readout layer is not included."
    )
    columns = st.columns(len(result.cells))
    for column, (cell, run) in zip(columns, result.cells.items(), strict=True):
        model = run.snapshots[index].model
        column.download_button(
            f"{cell.upper()} at step {step} (.safetensors)",
            data=weights.save_safetensors(model),
            file_name=f"{result.task.name}_{cell}_h{run.hidden_size}_step{step}.safetensors",
            mime="application/octet-stream",
            on_click="ignore",
            key=f"tl_download_{cell}",
            width="stretch",
        )


def _results() -> None:
    result = st.session_state.get(RESULT)
    if result is None:
        return
    runs = st.session_state.get(RUNS, 0)
    st.header(f"{result.task.label}, length {result.task.length}")
    _summary(result)
    selected = st.session_state.get(f"tl_snapshot_{runs}", result.snapshot_steps[-1])
    page.show(training_plots.curves_figure(result, selected_step=selected), key="tl_curves")
    st.caption(
        "Each row of a heatmap is one snapshot; each column a timestep of the probe sequence (the "
        "sidebar preset of this task, or your sequence). Bright far to the left = the loss still "
        "reaches the first steps. Colours are shared by all cells."
    )
    page.show(training_plots.gradient_horizon_figure(result, selected_step=selected), key="tl_horizon")
    with st.expander("Total gradient norm per step (what clipping acts on)"):
        page.show(training_plots.grad_norm_figure(result), key="tl_gradnorm")
    _snapshots(result, runs)


# ---------------------------------------------------------------------------------------------
# Real models in


def _models_in() -> None:
    st.header("Your own model, or the shipped example")
    st.caption(
        "Load the state_dict of an `nn.RNN`, `nn.LSTM` or `nn.GRU` (any layers, directions, "
        "`proj_size`, bias). `.pt` files are read with `torch.load(..., weights_only=True)`: only "
        "tensors, nothing is unpickled into code. The architecture is read from the names and shapes."
    )
    left, right = st.columns([3, 2])
    left.file_uploader(
        "State dict (.safetensors, .pt, .pth)",
        type=["safetensors", "pt", "pth"],
        key="tl_upload",
        on_change=_load_upload,
        max_upload_size=weights.MAX_WEIGHTS_BYTES // 1_000_000,
        help="Save one with safetensors.torch.save_file(module.state_dict(), 'w.safetensors') "
        "or torch.save(module.state_dict(), 'w.pt').",
    )
    right.segmented_control(
        "An nn.RNN's nonlinearity (not stored in its weights)",
        tuple(NONLINEARITY_LABELS),
        format_func=NONLINEARITY_LABELS.get,
        default="auto",
        required=True,
        key="tl_nonlinearity",
        persist_state="session",
    )
    st.button(
        f"Open example: {weights.EXAMPLES['recall_first']}",
        on_click=_open_example,
        key="tl_open_example",
        help="Trained by scripts/make_example.py, no training needed.",
    )
    for kind, text in st.session_state.get(MESSAGES, []):
        getattr(st, kind)(text)
    current = active_models()
    if current is not None:
        st.caption(
            f"Every page now traces: **{current.label}** (the sidebar's *Back to fresh cells* undoes it)."
        )
        for column, (path, title, icon) in zip(st.columns(len(OTHER_PAGES)), OTHER_PAGES, strict=True):
            column.page_link(path, label=title, icon=icon)


config = _settings()
_train(config)
_results()
_models_in()
