"""Train RNN, LSTM and GRU side by side on a task that needs memory, and keep snapshots as they learn.

Every enabled cell gets the same settings: the same batches (one NumPy generator seeded by
``seed`` draws each batch once and feeds it to every cell), the same number of Adam steps, learning
rate and gradient clipping (``torch.nn.utils.clip_grad_norm_`` on all parameters, readout included).
A linear readout on the top layer's h_t turns the cell into a predictor:

- ``impulse`` (recall the first input), ``adding``: regression at the last step, mean squared error;
- ``temporal_order``: classification at the last step, cross-entropy;
- ``copy``: classification at each of the last K steps, cross-entropy averaged over them;
- ``next_value``: the user's numbers, predict x_{t+1} from x_{<=t} at every step, mean squared error;
- ``next_char``: the user's text, predict the next character at every step, cross-entropy.

Accuracy is the share of correct classes, or for regression the share of predicted values within
:data:`REGRESSION_TOLERANCE` (0.1) of the target. Snapshot losses and accuracies are measured on a
fixed evaluation batch that training never sees; the per-step curves are those of the training batches.

Each snapshot keeps every cell's weights as a :class:`~lstmviz.model.Model` and the per-timestep
gradient norm ||dL/dh_t|| of the top layer on a fixed probe sequence, with the loss of
:func:`lstmviz.trace` (``"last"``: L = sum(h_T)), so a (snapshot x timestep) heatmap shows how far
back the gradient reaches as the cells learn.

PyTorch's own modules (``lstmviz.to_torch``) train the RNN, the LSTM and PyTorch's GRU. The tutorial
GRU (reset applied before W_hn) has no ``torch.nn`` module: it trains through a Python loop over
:func:`lstmviz.cells.gru_tutorial_step`, the same equations the rest of the app traces (on a CPU
about as fast as ``nn.GRU``, up to twice as slow). Training runs on one CPU thread: the matrices
are small, and one thread gives the same numbers on every run.

Defaults (:class:`TrainConfig`): the adding problem at length 40, hidden size 16, 600 Adam steps at
learning rate 0.02, batch 64, clipping at norm 1, LSTM forget-gate bias +2 (the app's default). All
three cells take about 8-12 s on a 2-core CPU. Measured for seeds 0-3: the LSTM and the GRU solve it
(evaluation loss 0.0015-0.003 with 90-98 % within 0.1, and 0.0002 with 100 %) while the RNN stays
at the loss of predicting the mean, 1/6 (0.166-0.171, 17-20 % within 0.1).
Recall-the-first-input (``impulse``) is not the default because, with x_0 followed by zeros, a
vanilla RNN learns it too at lengths up to about 50 within a few hundred steps (measured); the
LSTM's advantage shows from about length 100 with more steps (see ``scripts/make_example.py``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from . import sequences
from .cells import gru_tutorial_step
from .model import CELLS, GRU_VARIANTS, INITS, MAX_SIZE, NONLINEARITIES, Model, ModelSpec, build
from .torch_io import from_torch, to_torch
from .trace import trace

TASKS: dict[str, str] = {
    "impulse": "Recall the first input",
    "adding": "Adding problem",
    "copy": "Copy task",
    "temporal_order": "Temporal order",
    "next_value": "Next-step prediction: your numbers",
    "next_char": "Next-step prediction: your text",
}
"""Training tasks: name -> label."""

SIZE_MODES = ("equal_hidden", "equal_params")
REGRESSION_TOLERANCE = 0.1
"""A regression output counts as correct when it is within this distance of its target."""

EVAL_BATCH = 256
MAX_STEPS = 5000
MAX_BATCH = 512
MAX_LENGTH = 1000
MAX_SNAPSHOTS = 201
MAX_LEARNING_RATE = 1.0
MAX_PROBE_STEPS = 1000

DEFAULT_TASK = "adding"
DEFAULT_LENGTH = 40
DEFAULT_STEPS = 600
DEFAULT_LEARNING_RATE = 0.02
DEFAULT_BATCH = 64
DEFAULT_HIDDEN = 16
DEFAULT_FORGET_BIAS = 2.0
DEFAULT_CLIP = 1.0
DEFAULT_SNAPSHOT_EVERY = 25


class TrainingError(ValueError):
    """Settings or data that cannot be trained on, with a message saying why."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything a run depends on: the same config always gives the same numbers."""

    task: str = DEFAULT_TASK
    length: int = DEFAULT_LENGTH
    steps: int = DEFAULT_STEPS
    batch_size: int = DEFAULT_BATCH
    learning_rate: float = DEFAULT_LEARNING_RATE
    seed: int = 0
    clip_norm: float | None = DEFAULT_CLIP
    size_mode: str = "equal_hidden"
    hidden_size: int = DEFAULT_HIDDEN
    num_layers: int = 1
    cells: tuple[str, ...] = CELLS
    gru_variant: str = "pytorch"
    nonlinearity: str = "tanh"
    init: str = "pytorch"
    recurrent_scale: float = 1.0
    forget_bias: float = DEFAULT_FORGET_BIAS  # added to the LSTM's forget-gate bias at initialisation
    snapshot_every: int = DEFAULT_SNAPSHOT_EVERY
    source: str = ""  # next_value: numbers in parse_sequence format; next_char: text

    def __post_init__(self) -> None:
        _check(self.task in TASKS, f"task must be one of {tuple(TASKS)}, got {self.task!r}")
        _check_int(self.length, "length", 2, MAX_LENGTH)
        _check_int(self.steps, "steps", 1, MAX_STEPS)
        _check_int(self.batch_size, "batch_size", 1, MAX_BATCH)
        _check_int(self.seed, "seed", 0, 2**32 - 1)
        _check_int(self.hidden_size, "hidden_size", 1, MAX_SIZE)
        _check_int(self.num_layers, "num_layers", 1, 4)
        _check_int(self.snapshot_every, "snapshot_every", 1, MAX_STEPS)
        _check(
            isinstance(self.learning_rate, int | float)
            and 0 < self.learning_rate <= MAX_LEARNING_RATE,
            f"learning_rate must be in (0, {MAX_LEARNING_RATE}], got {self.learning_rate!r}",
        )
        _check(
            self.clip_norm is None or (math.isfinite(self.clip_norm) and self.clip_norm > 0),
            f"clip_norm must be None (no clipping) or a positive number, got {self.clip_norm!r}",
        )
        _check(self.size_mode in SIZE_MODES, f"size_mode must be one of {SIZE_MODES}")
        _check(
            isinstance(self.cells, tuple) and len(self.cells) > 0
            and len(set(self.cells)) == len(self.cells) and set(self.cells) <= set(CELLS),
            f"cells must be a non-empty tuple of distinct names from {CELLS}, got {self.cells!r}",
        )
        _check(self.gru_variant in GRU_VARIANTS, f"gru_variant must be one of {GRU_VARIANTS}")
        _check(self.nonlinearity in NONLINEARITIES, f"nonlinearity must be one of {NONLINEARITIES}")
        _check(self.init in INITS, f"init must be one of {INITS}")
        _check(
            math.isfinite(self.forget_bias) and math.isfinite(self.recurrent_scale),
            "forget_bias and recurrent_scale must be finite numbers",
        )
        _check(
            self.steps // self.snapshot_every + 2 <= MAX_SNAPSHOTS,
            f"steps / snapshot_every gives more than {MAX_SNAPSHOTS} snapshots: "
            "take snapshots less often",
        )
        _check(
            self.task in ("next_value", "next_char") or not self.source,
            "source (your numbers or text) is only used by the next-step tasks",
        )


@dataclass(frozen=True)
class TaskInfo:
    """The task as trained: sizes, scoring and, for text, the vocabulary."""

    name: str
    label: str
    length: int
    input_size: int
    output_size: int
    kind: str  # "regression" or "classification"
    scored: str  # "last", "last_k" (the final num_scored steps) or "all"
    num_scored: int
    vocabulary: tuple[str, ...] = ()


@dataclass(frozen=True)
class Snapshot:
    """One cell at one training step."""

    step: int
    loss: float  # on the fixed evaluation batch
    accuracy: float  # on the fixed evaluation batch
    model: Model
    grad_norms: np.ndarray = field(repr=False)  # (T,) ||dL/dh_t|| of the top layer on the probe
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


class Trainer:
    """Training that can pause between steps and go on later (a Streamlit rerun, a stop button).

    ``run`` trains until the end, a time budget, or ``should_stop()``; ``result`` gives everything
    trained so far. Pausing and resuming never changes the numbers.
    """

    def __init__(self, config: TrainConfig) -> None:
        self.config = config
        self.task, self._source = _task_info(config)
        self.hidden_sizes = hidden_sizes(config, self.task)
        self._train_rng = np.random.default_rng([config.seed, 0])
        eval_rng = np.random.default_rng([config.seed, 1])
        self._eval = _batch(self.task, self._source, EVAL_BATCH, eval_rng)
        self.probe_x = probe_sequence(config, self.task, self._source)
        self._cells = {
            cell: _CellTrainer(cell, self.hidden_sizes[cell], config, self.task)
            for cell in config.cells
        }
        self.step = 0
        self.stopped = False
        self.seconds = 0.0
        with _one_thread():
            for state in self._cells.values():
                state.snapshot(0, self._eval, self.probe_x)

    @property
    def done(self) -> bool:
        return self.stopped or self.step >= self.config.steps

    def stop(self) -> None:
        """End training here: :meth:`result` then closes with a snapshot of the current weights."""
        self.stopped = True

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
        x, y = _batch(self.task, self._source, self.config.batch_size, self._train_rng)
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


def probe_sequence(config: TrainConfig, task: TaskInfo, source: np.ndarray | None) -> np.ndarray:
    """The sequence the gradient heatmaps are traced on, (T, D) float64.

    For the built-in tasks it is the app's preset of the same name, length and seed, so a snapshot
    opened in the other pages shows exactly the sequence of the heatmap. For the next-step tasks it
    is the user's sequence (its first :data:`MAX_PROBE_STEPS` steps).
    """
    if source is None:
        return sequences.preset(task.name, task.length, config.seed)
    return source[:MAX_PROBE_STEPS].astype(np.float64)


def hidden_sizes(config: TrainConfig, task: TaskInfo | None = None) -> dict[str, int]:
    """Each cell's hidden size: ``hidden_size`` for all, or for ``equal_params`` the size whose
    parameter count (recurrent weights plus readout) is closest to the LSTM's at ``hidden_size``."""
    task = task or _task_info(config)[0]
    if config.size_mode == "equal_hidden":
        return {cell: config.hidden_size for cell in config.cells}
    target = parameter_count("lstm", config.hidden_size, config, task)
    return {
        cell: min(
            range(1, MAX_SIZE + 1),
            key=lambda h, cell=cell: (abs(parameter_count(cell, h, config, task) - target), h),
        )
        for cell in config.cells
    }


def parameter_count(cell: str, hidden: int, config: TrainConfig, task: TaskInfo) -> int:
    """Trainable numbers of ``cell`` at hidden size ``hidden``: recurrent stack plus readout."""
    spec = ModelSpec(
        cell=cell, input_size=task.input_size, hidden_size=hidden, num_layers=config.num_layers
    )
    recurrent = sum(math.prod(shape) for shape in spec.parameter_shapes().values())
    return recurrent + spec.output_size * task.output_size + task.output_size


# ---------------------------------------------------------------------------------------------
# Tasks and batches


def _task_info(config: TrainConfig) -> tuple[TaskInfo, np.ndarray | None]:
    """The task, and for the next-step tasks the user's whole sequence (N, D) as float32."""
    label = TASKS[config.task]
    if config.task in ("next_value", "next_char"):
        return _next_step_task(config, label)
    spec = sequences.task_spec(config.task, config.length)
    scored = "last" if spec.scored_steps == "last" else "last_k"
    info = TaskInfo(
        name=config.task,
        label=label,
        length=config.length,
        input_size=spec.input_size,
        output_size=spec.output_size,
        kind=spec.kind,
        scored=scored,
        num_scored=spec.num_scored,
    )
    return info, None


def _next_step_task(config: TrainConfig, label: str) -> tuple[TaskInfo, np.ndarray]:
    try:
        if config.task == "next_char":
            data, vocabulary = sequences.encode_text(config.source)
        else:
            data, vocabulary = sequences.parse_sequence(config.source), ()
    except sequences.SequenceError as error:
        raise TrainingError(str(error)) from None
    if len(data) < 3:
        raise TrainingError(
            f"next-step prediction needs at least 3 steps; the sequence has {len(data)}"
        )
    if config.task == "next_char" and len(vocabulary) < 2:
        raise TrainingError("the text uses a single character: there is nothing to predict")
    # Windows of `length` inputs, each with the following step as its target.
    length = min(config.length, len(data) - 1)
    classes = len(vocabulary) if vocabulary else data.shape[1]
    info = TaskInfo(
        name=config.task,
        label=label,
        length=length,
        input_size=data.shape[1],
        output_size=classes,
        kind="classification" if vocabulary else "regression",
        scored="all",
        num_scored=length,
        vocabulary=tuple(vocabulary),
    )
    return info, data.astype(np.float32)


def _batch(
    task: TaskInfo,
    source: np.ndarray | None,
    batch: int,
    rng: np.random.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs (T, B, D) float32 (torch's sequence-first layout) and targets."""
    if source is None:
        x, y = sequences.task_batch(task.name, task.length, batch, rng)
        return torch.from_numpy(x).transpose(0, 1).contiguous(), torch.from_numpy(y)
    starts = rng.integers(0, len(source) - task.length, batch)
    index = starts[:, None] + np.arange(task.length + 1)[None]
    windows = source[index]  # (B, T + 1, D)
    x = torch.from_numpy(np.ascontiguousarray(windows[:, :-1].transpose(1, 0, 2)))
    after = windows[:, 1:].transpose(1, 0, 2)  # (T, B, D)
    if task.kind == "classification":
        return x, torch.from_numpy(np.ascontiguousarray(after.argmax(axis=2)))
    return x, torch.from_numpy(np.ascontiguousarray(after))


# ---------------------------------------------------------------------------------------------
# One cell


class _TutorialGRU(nn.Module):
    """A stack of tutorial GRU cells with ``nn.GRU``'s parameter names, looping over time."""

    def __init__(self, model: Model) -> None:
        super().__init__()
        self.spec = model.spec
        self.weights = nn.ParameterDict(
            {name: nn.Parameter(torch.from_numpy(value).float()) for name, value in model.weights.items()}
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        for layer in range(self.spec.num_layers):
            p = {
                name: self.weights[f"{name}_l{layer}"]
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
                if f"{name}_l{layer}" in self.weights
            }
            h = x.new_zeros(x.shape[1], self.spec.hidden_size)
            outputs = []
            for t in range(x.shape[0]):
                h = gru_tutorial_step(p, x[t], h)
                outputs.append(h)
            x = torch.stack(outputs)
        return x, None

    def to_model(self) -> Model:
        weights = {
            name: value.detach().to(torch.float64).numpy().copy()
            for name, value in self.weights.items()
        }
        return Model(self.spec, weights)


class _CellTrainer:
    def __init__(self, cell: str, hidden: int, config: TrainConfig, task: TaskInfo) -> None:
        self.cell = cell
        self.hidden = hidden
        self.config = config
        self.task = task
        initial = build(
            cell,
            task.input_size,
            hidden,
            num_layers=config.num_layers,
            nonlinearity=config.nonlinearity if cell == "rnn" else "tanh",
            gru_variant=config.gru_variant if cell == "gru" else "pytorch",
            init=config.init,
            recurrent_scale=config.recurrent_scale,
            forget_bias=config.forget_bias if cell == "lstm" else 0.0,
            seed=config.seed,
        )
        if cell == "gru" and config.gru_variant == "tutorial":
            self.module: nn.Module = _TutorialGRU(initial)
        else:
            self.module = to_torch(initial).train()
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

    def _scores(self, x: torch.Tensor) -> torch.Tensor:
        """Readout outputs on the scored steps: (B, out), (B, K, out) or (T, B, out)."""
        outputs, _ = self.module(x)
        if self.task.scored == "last":
            return self.readout(outputs[-1])
        if self.task.scored == "last_k":
            return self.readout(outputs[-self.task.num_scored :]).transpose(0, 1)
        return self.readout(outputs)

    def _loss_and_accuracy(self, scores: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, float]:
        if self.task.kind == "regression":
            loss = nn.functional.mse_loss(scores, y)
            accuracy = (scores - y).abs().lt(REGRESSION_TOLERANCE).float().mean()
        else:
            classes = scores.shape[-1]
            loss = nn.functional.cross_entropy(scores.reshape(-1, classes), y.reshape(-1))
            accuracy = scores.argmax(-1).eq(y).float().mean()
        return loss, float(accuracy)

    def train_step(self, x: torch.Tensor, y: torch.Tensor, step: int) -> None:
        if self.diverged_at is not None:
            self.train_loss.append(math.nan)
            self.train_accuracy.append(math.nan)
            self.grad_norm.append(math.nan)
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
            self.train_loss.append(math.nan)
            self.train_accuracy.append(math.nan)
            self.grad_norm.append(norm if math.isfinite(norm) else math.nan)
            return
        self.optimizer.step()
        self.train_loss.append(value)
        self.train_accuracy.append(accuracy)
        self.grad_norm.append(norm)

    def model(self) -> Model:
        if isinstance(self.module, _TutorialGRU):
            return self.module.to_model()
        return from_torch(self.module)

    def snapshot(self, step: int, evaluation: tuple[torch.Tensor, torch.Tensor], probe_x) -> None:
        with torch.no_grad():
            loss, accuracy = self._loss_and_accuracy(self._scores(evaluation[0]), evaluation[1])
        model = self.model()
        top = trace(model, probe_x, loss="last").layers[-1][0]
        self.snapshots.append(
            Snapshot(
                step=step,
                loss=float(loss),
                accuracy=accuracy,
                model=model,
                grad_norms=np.linalg.norm(top.grad_h.astype(np.float64), axis=1),
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
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise TrainingError(message)


def _check_int(value, name: str, low: int, high: int) -> None:
    _check(
        isinstance(value, int) and not isinstance(value, bool) and low <= value <= high,
        f"{name} must be an integer in {low}..{high}, got {value!r}",
    )
