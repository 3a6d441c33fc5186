"""Training tasks: what a cell must learn, how it is scored, and its batches.

The memory benchmarks come from :mod:`lstmviz.sequences` (recall the first input, the adding problem,
the copy task, temporal order; their references are there); the next-step tasks read the user's own
numbers or text. Each task has one :class:`TaskInfo` saying how it is scored:

- ``impulse`` (recall the first input), ``adding``: regression at the last step, mean squared error;
- ``temporal_order``: classification at the last step, cross-entropy;
- ``copy``: classification at each of the last K steps, cross-entropy averaged over them;
- ``next_value``: the user's numbers, predict x_{t+1} from x_{<=t} at every step, mean squared error;
- ``next_char``: the user's text, predict the next character at every step, cross-entropy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import sequences

TASKS: dict[str, str] = {
    "impulse": "Recall the first input",
    "adding": "Adding problem",
    "copy": "Copy task",
    "temporal_order": "Temporal order",
    "next_value": "Next-step prediction: your numbers",
    "next_char": "Next-step prediction: your text",
}
"""Training tasks: name -> label."""

NEXT_STEP_TASKS = ("next_value", "next_char")
MAX_PROBE_STEPS = 1000


class TrainingError(ValueError):
    """Settings or data that cannot be trained on, with a message saying why."""


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


def task_info(name: str, length: int, source: str = "") -> tuple[TaskInfo, np.ndarray | None]:
    """The task, and for the next-step tasks the user's whole sequence (N, D) as float32."""
    if name not in TASKS:
        raise TrainingError(f"task must be one of {', '.join(TASKS)}; got {name!r}")
    if name in NEXT_STEP_TASKS:
        return _next_step_task(name, length, source)
    spec = sequences.task_spec(name, length)
    scored = "last" if spec.scored_steps == "last" else "last_k"
    info = TaskInfo(name, TASKS[name], length, spec.input_size, spec.output_size, spec.kind, scored,
                    spec.num_scored)
    return info, None


def _next_step_task(name: str, length: int, source: str) -> tuple[TaskInfo, np.ndarray]:
    try:
        if name == "next_char":
            data, vocabulary = sequences.encode_text(source)
        else:
            data, vocabulary = sequences.parse_sequence(source), ()
    except sequences.SequenceError as error:
        raise TrainingError(str(error)) from None
    if len(data) < 3:
        raise TrainingError(f"next-step prediction needs at least 3 steps; the sequence has {len(data)}")
    if name == "next_char" and len(vocabulary) < 2:
        raise TrainingError("the text uses a single character: there is nothing to predict")
    # Windows of `length` inputs, each with the following step as its target.
    window = min(length, len(data) - 1)
    classes = len(vocabulary) if vocabulary else data.shape[1]
    kind = "classification" if vocabulary else "regression"
    info = TaskInfo(name, TASKS[name], window, data.shape[1], classes, kind, "all", window, tuple(vocabulary))
    return info, data.astype(np.float32)


def batch(task: TaskInfo, source: np.ndarray | None, size: int, rng: np.random.Generator):
    """Inputs (T, B, D) float32 (torch's sequence-first layout) and targets, as torch tensors."""
    import torch

    if source is None:
        x, y = sequences.task_batch(task.name, task.length, size, rng)
        return torch.from_numpy(x).transpose(0, 1).contiguous(), torch.from_numpy(y)
    starts = rng.integers(0, len(source) - task.length, size)
    index = starts[:, None] + np.arange(task.length + 1)[None]
    windows = source[index]  # (B, T + 1, D)
    x = torch.from_numpy(np.ascontiguousarray(windows[:, :-1].transpose(1, 0, 2)))
    after = windows[:, 1:].transpose(1, 0, 2)  # (T, B, D)
    if task.kind == "classification":
        return x, torch.from_numpy(np.ascontiguousarray(after.argmax(axis=2)))
    return x, torch.from_numpy(np.ascontiguousarray(after))


def probe_sequence(task: TaskInfo, source: np.ndarray | None, seed: int) -> np.ndarray:
    """The sequence the gradient heatmaps are traced on, (T, D) float64.

    For the built-in tasks it is the preset of the same name, length and seed, so a snapshot opened
    in the other pages shows exactly the sequence of the heatmap. For the next-step tasks it is the
    user's sequence (its first :data:`MAX_PROBE_STEPS` steps).
    """
    if source is None:
        return sequences.preset(task.name, task.length, seed)
    return source[:MAX_PROBE_STEPS].astype(np.float64)
