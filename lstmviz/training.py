"""Train recurrent cells side by side on a task that needs memory, and keep snapshots as they learn.

Every enabled cell gets the same settings: the same batches (one NumPy generator seeded by the
model settings' ``seed`` draws each batch once and feeds it to every cell), the same number of Adam
steps, learning rate and gradient clipping (``torch.nn.utils.clip_grad_norm_`` on all parameters,
readout included). A linear readout on the top layer's h_t turns the cell into a predictor; the tasks
and their scoring are in :mod:`lstmviz.tasks`. Accuracy is the share of correct classes, or for
regression the share of predicted values within :data:`REGRESSION_TOLERANCE` (0.1) of the target.
Snapshot losses and accuracies are measured on a fixed evaluation batch that training never sees;
the per-step curves are those of the training batches.

Each snapshot keeps every cell's weights as a :class:`~lstmviz.model.Model` and the per-timestep
gradient norm ||dL/dh_t|| of the top layer on a fixed probe sequence, with the loss of
:func:`lstmviz.trace` (``"last"``: L = sum(h_T)), so a (snapshot x timestep) heatmap shows how far
back the gradient reaches as the cells learn.

Each cell trains through its own torch module (:meth:`lstmviz.cells.Cell.torch_module`): PyTorch's
``nn.RNN``/``nn.LSTM``/``nn.GRU`` where the cell has that twin, otherwise a loop over the cell's
reference step (the tutorial GRU, minGRU, minLSTM: the same equations the rest of lstmviz traces).
Training runs on one CPU thread: the matrices are small, and one thread gives the same numbers on
every run. Before any work, :func:`step_bytes` estimates what autograd will keep per step and a run
above :data:`~lstmviz.limits.TRAIN_STEP_BUDGET_BYTES` is refused with what to reduce.

Defaults (:class:`TrainConfig`): the adding problem at length 40, hidden size 16, 600 Adam steps at
learning rate 0.02, batch 64, clipping at norm 1, LSTM forget-gate bias +2 (the app's default).
Recall-the-first-input (``impulse``) is not the default because, with x_0 followed by zeros, a
vanilla RNN learns it too at lengths up to about 50 within a few hundred steps (measured); the
LSTM's advantage shows from about length 100 with more steps (see ``scripts/make_example.py``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import numpy as np

from .cells import CELL_NAMES, DEFAULT_CELLS, cell_for
from .limits import (
    MAX_HIDDEN,
    MAX_SNAPSHOTS,
    MAX_TRAIN_BATCH,
    MAX_TRAIN_LENGTH,
    MAX_TRAIN_STEPS,
    TRAIN_STEP_BUDGET_BYTES,
)
from .model import Model, ModelSettings, ModelSpec, check_int, check_real
from .summaries import row_norms
from .tasks import NEXT_STEP_TASKS, TASKS, TaskInfo, TrainingError, batch, probe_sequence, task_info
from .trace import trace

SIZE_MODES = ("equal_hidden", "equal_params")
REGRESSION_TOLERANCE = 0.1
"""A regression output counts as correct when it is within this distance of its target."""

EVAL_BATCH = 256
MAX_LEARNING_RATE = 1.0

DEFAULT_TASK = "adding"
DEFAULT_LENGTH = 40
DEFAULT_STEPS = 600
DEFAULT_LEARNING_RATE = 0.02
DEFAULT_BATCH = 64
DEFAULT_CLIP = 1.0
DEFAULT_SNAPSHOT_EVERY = 25
DEFAULT_MODEL = ModelSettings(hidden_size=16, forget_bias=2.0)

__all__ = ["TASKS", "TrainConfig", "Trainer", "TrainingError", "TrainingResult", "train"]


@dataclass(frozen=True)
class TrainConfig:
    """Everything a run depends on: the same config always gives the same numbers.

    ``model`` holds the cells' settings (sizes, initialisation, seed); its ``seed`` also draws the
    batches. Training runs one direction only (a backward pass would read the answer first).
    """

    task: str = DEFAULT_TASK
    length: int = DEFAULT_LENGTH
    steps: int = DEFAULT_STEPS
    batch_size: int = DEFAULT_BATCH
    learning_rate: float = DEFAULT_LEARNING_RATE
    clip_norm: float | None = DEFAULT_CLIP
    size_mode: str = "equal_hidden"
    cells: tuple[str, ...] = DEFAULT_CELLS
    model: ModelSettings = DEFAULT_MODEL
    snapshot_every: int = DEFAULT_SNAPSHOT_EVERY
    source: str = ""  # next_value: numbers in parse_sequence format; next_char: text

    def __post_init__(self) -> None:
        try:
            _check(self.task in TASKS, f"task must be one of {', '.join(TASKS)}; got {self.task!r}")
            object.__setattr__(self, "length", check_int("length", self.length, 2, MAX_TRAIN_LENGTH))
            object.__setattr__(self, "steps", check_int("steps", self.steps, 1, MAX_TRAIN_STEPS))
            object.__setattr__(self, "batch_size",
                               check_int("batch_size", self.batch_size, 1, MAX_TRAIN_BATCH))
            object.__setattr__(self, "snapshot_every",
                               check_int("snapshot_every", self.snapshot_every, 1, MAX_TRAIN_STEPS))
            rate = check_real("learning_rate", self.learning_rate, 0.0, MAX_LEARNING_RATE)
            _check(rate > 0, "learning_rate must be above 0")
            if self.clip_norm is not None:
                check_real("clip_norm", self.clip_norm, 1e-6, 1e6)
        except ValueError as error:
            raise TrainingError(str(error)) from None
        _check(self.size_mode in SIZE_MODES, f"size_mode must be one of {', '.join(SIZE_MODES)}")
        _check(
            isinstance(self.cells, tuple) and len(self.cells) > 0
            and len(set(self.cells)) == len(self.cells) and set(self.cells) <= set(CELL_NAMES),
            f"cells must be a non-empty tuple of distinct names from {', '.join(CELL_NAMES)}; "
            f"got {self.cells!r}",
        )
        _check(isinstance(self.model, ModelSettings), "model must be a ModelSettings")
        _check(
            self.steps // self.snapshot_every + 2 <= MAX_SNAPSHOTS,
            f"steps / snapshot_every gives more than {MAX_SNAPSHOTS} snapshots: take snapshots less often",
        )
        _check(
            self.task in NEXT_STEP_TASKS or not self.source,
            "source (your numbers or text) is only used by the next-step tasks",
        )

    @property
    def seed(self) -> int:
        return self.model.seed

    def settings_for(self, hidden: int) -> ModelSettings:
        """The model settings a cell trains with: one direction, at its own hidden size."""
        return replace(self.model, hidden_size=hidden, bidirectional=False,
                       proj_size=min(self.model.proj_size, hidden - 1))


@dataclass(frozen=True)
class Snapshot:
    """One cell at one training step."""

    step: int
    loss: float  # on the fixed evaluation batch
    accuracy: float  # on the fixed evaluation batch
    model: Model
    grad_norms: np.ndarray = field(repr=False)  # (T,) ||dL/dh_t|| of the top layer on the probe, float64
    readout_weight: np.ndarray = field(repr=False)  # (outputs, H_out): scores = W h + b
    readout_bias: np.ndarray = field(repr=False)  # (outputs,)


@dataclass(frozen=True)
class CellResult:
    cell: str
    hidden_size: int
    parameter_count: int  # recurrent weights plus readout
    train_loss: np.ndarray = field(repr=False)  # (steps_done,) per training batch; NaN after divergence
    train_accuracy: np.ndarray = field(repr=False)  # (steps_done,)
    grad_norm: np.ndarray = field(repr=False)  # (steps_done,) total gradient norm before clipping
    snapshots: tuple[Snapshot, ...]
    diverged_at: int | None  # the step whose loss or gradient was not finite; None if never

    @property
    def final(self) -> Snapshot:
        return self.snapshots[-1]

    def grad_heatmap(self) -> np.ndarray:
        """(snapshots, T) gradient norms, one row per snapshot."""
        return np.stack([snap.grad_norms for snap in self.snapshots])


@dataclass(frozen=True)
class TrainingResult:
    config: TrainConfig
    task: TaskInfo
    steps_done: int
    stopped: bool
    seconds: float
    probe_x: np.ndarray = field(repr=False)  # (T, D) the sequence the gradient heatmaps are traced on
    cells: dict[str, CellResult] = field(repr=False)

    @property
    def snapshot_steps(self) -> tuple[int, ...]:
        first = next(iter(self.cells.values()))
        return tuple(snap.step for snap in first.snapshots)

    def models_at(self, index: int) -> dict[str, Model]:
        """Every cell's model at snapshot ``index`` (negative counts from the end)."""
        return {cell: result.snapshots[index].model for cell, result in self.cells.items()}


@dataclass(frozen=True)
class Progress:
    step: int
    total: int
    seconds: float
    losses: dict[str, float]


def train(
    config: TrainConfig,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainingResult:
    """Train every cell of ``config`` to the end, or until ``should_stop()`` returns True."""
    trainer = Trainer(config)
    trainer.run(on_progress=on_progress, should_stop=should_stop)
    return trainer.result()


def step_bytes(config: TrainConfig, task: TaskInfo | None = None) -> int:
    """Memory one training step of all cells may take: what autograd keeps, estimated from the sizes.

    Per sample, step and layer a cell keeps about 2 copies of its row pre-activations and 3 of each
    state (activations, derivatives and temporaries, float32); a cell looping over its reference step
    in Python keeps about half as much again. The readout's scores are added for the next-step tasks.
    Measured against the peak memory of real runs (copy task, length 500, batch 128, hidden 128), the
    estimate is 1.2x (LSTM) to 1.4x (minGRU) what the step took.
    """
    task = task or task_info(config.task, config.length, config.source)[0]
    total = 0
    for cell, hidden in hidden_sizes(config, task).items():
        kind = cell_for(config.settings_for(hidden).spec(cell, task.input_size))
        per_step = 2 * len(kind.rows) * hidden + 3 * (2 if kind.cell_state else 1) * hidden
        per_step = per_step if kind.torch_twin else per_step * 3 // 2
        total += per_step * config.model.num_layers + task.output_size * (task.scored == "all")
    return 4 * total * config.batch_size * task.length


def check_budget(config: TrainConfig, task: TaskInfo | None = None) -> None:
    """Refuse, before any work, a run whose training step would pass the memory budget."""
    size = step_bytes(config, task)
    if size > TRAIN_STEP_BUDGET_BYTES:
        raise TrainingError(
            f"one training step would need about {size / 2**20:,.0f} MB (the limit is "
            f"{TRAIN_STEP_BUDGET_BYTES / 2**20:,.0f} MB): use a smaller batch, a shorter length, fewer "
            "units or layers, or fewer cells"
        )


class Trainer:
    """Training that can pause between steps and go on later (a Streamlit rerun, a stop button).

    ``run`` trains until the end, a time budget, or ``should_stop()``; ``result`` gives everything
    trained so far; after ``stop`` (or ``should_stop``), ``resume`` lets ``run`` continue where it
    stopped. Pausing and resuming never changes the numbers.
    """

    def __init__(self, config: TrainConfig) -> None:
        self.config = config
        self.task, self._source = task_info(config.task, config.length, config.source)
        check_budget(config, self.task)
        self.hidden_sizes = hidden_sizes(config, self.task)
        self._train_rng = np.random.default_rng([config.seed, 0])
        self._eval = batch(self.task, self._source, EVAL_BATCH, np.random.default_rng([config.seed, 1]))
        self.probe_x = probe_sequence(self.task, self._source, config.seed)
        with _one_thread():
            self._cells = {
                cell: _CellTrainer(cell, self.hidden_sizes[cell], config, self.task) for cell in config.cells
            }
            for state in self._cells.values():
                state.snapshot(0, self._eval, self.probe_x)
        self.step = 0
        self.stopped = False
        self.seconds = 0.0

    @property
    def done(self) -> bool:
        return self.stopped or self.step >= self.config.steps

    def stop(self) -> None:
        """End training here: :meth:`result` then closes with a snapshot of the current weights."""
        self.stopped = True

    def resume(self) -> None:
        """Continue a stopped run from where it stopped."""
        self.stopped = False

    def run(
        self,
        on_progress: Callable[[Progress], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        max_seconds: float | None = None,
    ) -> None:
        """Train until the last step, ``should_stop()`` is True, or ``max_seconds`` have passed."""
        begun = started = time.perf_counter()
        with _one_thread():
            while not self.done:
                if should_stop is not None and should_stop():
                    self.stopped = True
                    break
                if max_seconds is not None and time.perf_counter() - begun >= max_seconds:
                    break
                self._train_step()
                self.seconds += time.perf_counter() - started
                started = time.perf_counter()
                if on_progress is not None:
                    losses = {cell: state.train_loss[-1] for cell, state in self._cells.items()}
                    on_progress(Progress(self.step, self.config.steps, self.seconds, losses))

    def _train_step(self) -> None:
        x, y = batch(self.task, self._source, self.config.batch_size, self._train_rng)
        self.step += 1
        for state in self._cells.values():
            state.train_step(x, y, self.step)
        if self.step % self.config.snapshot_every == 0 or self.step == self.config.steps:
            for state in self._cells.values():
                state.snapshot(self.step, self._eval, self.probe_x)

    def result(self) -> TrainingResult:
        """Everything so far; a stopped run ends with a snapshot of its current weights."""
        with _one_thread():
            for state in self._cells.values():
                if state.snapshots[-1].step != self.step:
                    state.snapshot(self.step, self._eval, self.probe_x)
        return TrainingResult(
            config=self.config,
            task=self.task,
            steps_done=self.step,
            stopped=self.stopped and self.step < self.config.steps,
            seconds=self.seconds,
            probe_x=self.probe_x,
            cells={cell: state.result() for cell, state in self._cells.items()},
        )


def hidden_sizes(config: TrainConfig, task: TaskInfo | None = None) -> dict[str, int]:
    """Each cell's hidden size: the settings' for all, or for ``equal_params`` the size whose
    parameter count (recurrent weights plus readout) is closest to the LSTM's at that size."""
    task = task or task_info(config.task, config.length, config.source)[0]
    hidden = config.model.hidden_size
    if config.size_mode == "equal_hidden":
        return {cell: hidden for cell in config.cells}
    target = parameter_count("lstm", hidden, config, task)
    return {
        cell: min(
            range(1, MAX_HIDDEN + 1),
            key=lambda h, cell=cell: (abs(parameter_count(cell, h, config, task) - target), h),
        )
        for cell in config.cells
    }


def parameter_count(cell: str, hidden: int, config: TrainConfig, task: TaskInfo) -> int:
    """Trainable numbers of ``cell`` at hidden size ``hidden``: recurrent stack plus readout."""
    spec = ModelSpec(cell=cell, input_size=task.input_size, hidden_size=hidden,
                     num_layers=config.model.num_layers)
    recurrent = sum(math.prod(shape) for shape in spec.parameter_shapes().values())
    return recurrent + spec.output_size * task.output_size + task.output_size


class _CellTrainer:
    def __init__(self, cell: str, hidden: int, config: TrainConfig, task: TaskInfo) -> None:
        import torch
        from torch import nn

        self.cell = cell
        self.hidden = hidden
        self.config = config
        self.task = task
        initial = config.settings_for(hidden).build(cell, task.input_size)
        self.module = cell_for(initial.spec).torch_module(initial)
        generator = torch.Generator().manual_seed(config.seed)
        width = initial.spec.output_size
        self.readout = nn.Linear(width, task.output_size)
        bound = 1.0 / math.sqrt(width)
        with torch.no_grad():
            self.readout.weight.uniform_(-bound, bound, generator=generator)
            self.readout.bias.uniform_(-bound, bound, generator=generator)
        self.params = [*self.module.parameters(), *self.readout.parameters()]
        self.parameter_count = sum(p.numel() for p in self.params)
        self.optimizer = torch.optim.Adam(self.params, lr=config.learning_rate)
        self.train_loss: list[float] = []
        self.train_accuracy: list[float] = []
        self.grad_norm: list[float] = []
        self.snapshots: list[Snapshot] = []
        self.diverged_at: int | None = None

    def _scores(self, x):
        """Readout outputs on the scored steps: (B, out), (B, K, out) or (T, B, out)."""
        outputs, _ = self.module(x)
        if self.task.scored == "last":
            return self.readout(outputs[-1])
        if self.task.scored == "last_k":
            return self.readout(outputs[-self.task.num_scored :]).transpose(0, 1)
        return self.readout(outputs)

    def _loss_and_accuracy(self, scores, y):
        from torch import nn

        if self.task.kind == "regression":
            loss = nn.functional.mse_loss(scores, y)
            accuracy = (scores - y).abs().lt(REGRESSION_TOLERANCE).float().mean()
        else:
            classes = scores.shape[-1]
            loss = nn.functional.cross_entropy(scores.reshape(-1, classes), y.reshape(-1))
            accuracy = scores.argmax(-1).eq(y).float().mean()
        return loss, float(accuracy)

    def train_step(self, x, y, step: int) -> None:
        import torch

        if self.diverged_at is not None:
            self._record(math.nan, math.nan, math.nan)
            return
        loss, accuracy = self._loss_and_accuracy(self._scores(x), y)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        limit = self.config.clip_norm if self.config.clip_norm is not None else math.inf
        norm = float(torch.nn.utils.clip_grad_norm_(self.params, limit))
        value = loss.detach().item()
        if not (math.isfinite(value) and math.isfinite(norm)):
            # Keep the last finite weights: an update with NaN would destroy them.
            self.diverged_at = step
            self._record(math.nan, math.nan, norm if math.isfinite(norm) else math.nan)
            return
        self.optimizer.step()
        self._record(value, accuracy, norm)

    def _record(self, loss: float, accuracy: float, norm: float) -> None:
        self.train_loss.append(loss)
        self.train_accuracy.append(accuracy)
        self.grad_norm.append(norm)

    def model(self) -> Model:
        from .torch_io import from_torch

        return self.module.to_model() if hasattr(self.module, "to_model") else from_torch(self.module)

    def snapshot(self, step: int, evaluation, probe_x) -> None:
        import torch

        with torch.no_grad():
            loss, accuracy = self._loss_and_accuracy(self._scores(evaluation[0]), evaluation[1])
        model = self.model()
        # float64: the probe's gradients fall far below float32's range within a few hundred steps
        top = trace(model, probe_x, loss="last", dtype="float64").layers[-1][0]
        self.snapshots.append(
            Snapshot(
                step=step,
                loss=float(loss),
                accuracy=accuracy,
                model=model,
                grad_norms=row_norms(top.grad_h),
                readout_weight=self.readout.weight.detach().to(torch.float64).numpy().copy(),
                readout_bias=self.readout.bias.detach().to(torch.float64).numpy().copy(),
            )
        )

    def result(self) -> CellResult:
        return CellResult(
            cell=self.cell,
            hidden_size=self.hidden,
            parameter_count=self.parameter_count,
            train_loss=np.array(self.train_loss, dtype=np.float64),
            train_accuracy=np.array(self.train_accuracy, dtype=np.float64),
            grad_norm=np.array(self.grad_norm, dtype=np.float64),
            snapshots=tuple(self.snapshots),
            diverged_at=self.diverged_at,
        )


@contextmanager
def _one_thread() -> Iterator[None]:
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise TrainingError(message)
