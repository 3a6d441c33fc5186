"""Input sequences for a recurrent cell: typed numbers, encoded text, and named test sequences.

Every way in returns a float64 array of shape ``(T, D)``: T steps, D features per step.

- :func:`parse_sequence` reads numbers typed by a user (``"0.5, -1, 2"`` or ``"1 0; 0 1"``) and
  explains any mistake by token and position; :func:`format_sequence` writes an array back in the
  same format.
- :func:`encode_text` one-hot encodes characters, one step per character, so ``"早上好"`` is a
  3-step sequence, as in the worked examples of the tutorials our users follow.
- :func:`preset` generates a named sequence from :data:`PRESETS`; :func:`preset_target` gives the
  answer a trained network should produce; :func:`task_batch` and :func:`task_spec` serve training.

The memory benchmarks among the presets come from the literature:

- ``adding`` and ``temporal_order``: Hochreiter & Schmidhuber (1997), "Long Short-Term Memory",
  Neural Computation 9(8), experiments 4 (adding problem) and 6 (temporal order). ``adding`` takes
  its now common form (values in [0, 1), one marker in each half, target the plain sum) as in
  Arjovsky, Shah & Bengio (2016). ``temporal_order`` keeps the four classes XX, XY, YX, YY among
  the distractors a-d, drops the begin/end markers B and E, and puts X/Y one in each half.
- ``copy``: Graves, Wayne & Danihelka (2014), "Neural Turing Machines", arXiv:1410.5401, in the
  blank/delimiter layout of Arjovsky, Shah & Bengio (2016), "Unitary Evolution Recurrent Neural
  Networks", ICML, except that the delimiter falls on the first recall step, so the task fits any
  length >= 2.
"""

from __future__ import annotations

import itertools
import operator
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from . import limits
from .limits import MAX_ABS_VALUE, MAX_FEATURES, MAX_STEPS

# The limits live in lstmviz.limits; these names are kept for the modules that import them here.
MAX_INPUT_CHARS = limits.MAX_TEXT_CHARS
"""Most characters :func:`parse_sequence` reads; checked before any splitting."""

MAX_TEXT_CHARS = MAX_STEPS
"""Most characters :func:`encode_text` accepts (each character is one step)."""

MAX_VOCAB = MAX_FEATURES
"""Most distinct characters :func:`encode_text` accepts (each one is a feature)."""

MAX_BATCH_STEPS = 2_000_000
"""Most ``batch * length`` in :func:`task_batch`: keeps a mistyped batch from eating memory."""

COPY_ALPHABET = 8
"""Symbols of the copy task; its input adds a blank channel and a delimiter channel."""

TEMPORAL_ORDER_CLASSES = ("XX", "XY", "YX", "YY")

PRESETS: dict[str, str] = {
    "impulse": "x_0 = 1, then zeros: how long does the cell remember its first input?",
    "sine": "sin(2*pi*t / 20): a smooth periodic signal with a period of 20 steps",
    "step": "0 for the first half, 1 for the second: how fast does the cell react?",
    "noise": "independent standard normal values: no structure to remember",
    "adding": "values in [0, 1) plus a marker on two steps (one per half); target: their sum",
    "copy": "K random symbols, blanks, then a delimiter: repeat the symbols over the last K steps",
    "temporal_order": "symbols X/Y at two random steps among distractors; target: XX, XY, YX or YY",
}

TASKS = ("impulse", "adding", "copy", "temporal_order")
"""The presets that :func:`task_batch` can generate for training."""

SINE_PERIOD = 20

# Chinese input methods type full-width forms; accept them as the ASCII characters they look like.
_ROW_SEPARATORS = ";\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029\uff1b"
_VALUE_SEPARATORS = r",\s\uff0c\u3001"
_ROW = re.compile(f"[^{_ROW_SEPARATORS}]+")
_HAS_ROWS = re.compile(f"[{_ROW_SEPARATORS}]")
_TOKEN = re.compile(f"[^{_VALUE_SEPARATORS}]+")
_FULL_WIDTH_NUMBER = str.maketrans("０１２３４５６７８９＋－．ｅＥ", "0123456789+-.eE")
# Stricter than float(), which also takes "1_000", "nan", "inf" and non-ASCII digits.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NON_FINITE = re.compile(r"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)
_SHOWN_TOKEN_CHARS = 40
# A comma between two digits, and digits grouped in thousands by commas (1,000 or 12,345,678.5).
_DIGIT_COMMA = re.compile(r"[0-9],[0-9]")
_DIGIT_COMMA_ONLY = re.compile(r"(?<=[0-9]),(?=[0-9])")
_THOUSANDS = re.compile(r"(?<![0-9.])(?<![0-9],)[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?(?!,?[0-9])")


class SequenceError(ValueError):
    """A sequence that cannot be used, with a message naming what and where."""


@dataclass(frozen=True)
class TaskSpec:
    """How a training task is scored.

    ``kind`` is ``"regression"`` (mean squared error on ``output_size`` values) or
    ``"classification"`` (cross-entropy over ``output_size`` classes). ``scored_steps`` says which
    outputs are compared with the target: ``"last"`` (the final step only) or ``"last_k"`` (the
    final ``num_scored`` steps, one target per step).
    """

    name: str
    input_size: int
    kind: str
    output_size: int
    scored_steps: str
    num_scored: int = 1


# ---------------------------------------------------------------------------------------------
# Typed numbers


def parse_sequence(text: str) -> np.ndarray:
    """Parse typed numbers into a float64 array of shape ``(T, D)``.

    Text containing ``;`` or a line break is read as rows, one step per non-blank row, entries
    separated by commas and/or spaces: ``"1 0; 0 1"`` has shape (2, 2). Other text is a single
    line of scalars, one step each: ``"0.5, -1, 2"`` has shape (3, 1). Full-width digits, commas
    and semicolons (as typed by Chinese input methods) are accepted too.

    A comma always separates values, and the decimal mark is a point. A comma between two digits
    (``"1,5"``) could also be meant as a decimal comma: it is read as a separator, and
    :func:`parse_sequence_with_notes` says so whenever the decimal reading would have given a
    valid sequence too. Digits grouped in thousands (``"1,000"``, ``"12,345.5"``) are refused,
    since they almost always mean one number: type ``1000``, or ``1, 000`` for two values.

    Raises :class:`SequenceError` naming the offending token and its position for: empty input,
    non-numbers, ``nan``/``inf``, magnitudes above :data:`MAX_ABS_VALUE`, rows of unequal
    length, more than :data:`MAX_STEPS` steps, more than :data:`MAX_FEATURES` features, thousands
    separators, or text longer than :data:`MAX_INPUT_CHARS` characters.
    """
    return parse_sequence_with_notes(text)[0]


def parse_sequence_with_notes(text: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """:func:`parse_sequence`'s array and the notes to show with it (how an ambiguity was read)."""
    if not isinstance(text, str):
        raise SequenceError(f"a sequence must be text, not {type(text).__name__}")
    if len(text) > MAX_INPUT_CHARS:
        raise SequenceError(f"the text has {len(text):,} characters; at most {MAX_INPUT_CHARS:,} are read")
    grouped = _THOUSANDS.search(text)
    if grouped:
        number = grouped.group()
        raise SequenceError(
            f"{_shown(number)} looks like one number with a thousands separator, but a comma "
            f"separates values here: type {number.replace(',', '')} for one number, or put a "
            f"space after each comma for separate values ({number.replace(',', ', ')})"
        )
    x = _parse(text)
    comma = _DIGIT_COMMA.search(text)
    if comma is None or not _also_parses(_DIGIT_COMMA_ONLY.sub(".", text)):
        return x, ()
    word = _around(text, comma)
    example = f"{word!r} is {' and '.join(word.split(','))}" if len(word) <= 12 else _shown(word)
    steps, features = x.shape
    return x, (
        f"commas between digits were read as separators ({example}), giving {steps:,} step(s) of "
        f"{features} feature(s). For a decimal number type a point: 1.5, not 1,5",
    )


def _parse(text: str) -> np.ndarray:
    return _parse_rows(text) if _HAS_ROWS.search(text) else _parse_scalars(text)


def _also_parses(text: str) -> bool:
    try:
        _parse(text)
    except SequenceError:
        return False
    return True


def _around(text: str, match: re.Match) -> str:
    """The whitespace-delimited word of ``text`` around ``match``, for a message."""
    start = max(text.rfind(c, 0, match.start()) for c in " \t\n;") + 1
    ends = [i for i in (text.find(c, match.end()) for c in " \t\n;") if i >= 0]
    return text[start : min(ends, default=len(text))]


def _parse_scalars(text: str) -> np.ndarray:
    # One token past the limit is enough to know the input is too long.
    tokens = _tokens(text, MAX_STEPS + 1)
    if not tokens:
        raise SequenceError("the sequence is empty: type numbers such as 0.5, -1, 2")
    if len(tokens) > MAX_STEPS:
        raise SequenceError(f"more than {MAX_STEPS:,} values: at most {MAX_STEPS:,} steps")
    values = [_to_number(token, f"position {i}") for i, token in enumerate(tokens, start=1)]
    return np.array(values, dtype=np.float64).reshape(-1, 1)


def _parse_rows(text: str) -> np.ndarray:
    rows = list(itertools.islice(_token_rows(text), MAX_STEPS + 1))
    if not rows:
        raise SequenceError("the sequence is empty: type rows such as 1 0; 0 1")
    if len(rows) > MAX_STEPS:
        raise SequenceError(f"more than {MAX_STEPS:,} rows: at most {MAX_STEPS:,} steps")
    width = len(rows[0])
    for r, row in enumerate(rows, start=1):
        if len(row) != width:
            raise SequenceError(
                f"row {r} has {_values(len(row))} but row 1 has {_values(width)}: "
                "every row needs the same number of values"
            )
    values = [
        [_to_number(token, f"row {r}, column {c}") for c, token in enumerate(row, start=1)]
        for r, row in enumerate(rows, start=1)
    ]
    return np.array(values, dtype=np.float64)


def _values(count: int) -> str:
    return f"{count} value" if count == 1 else f"{count} values"


def _token_rows(text: str) -> Iterator[list[str]]:
    """Yield the tokens of each non-blank row, refusing a row wider than MAX_FEATURES."""
    rows = (_tokens(match.group(), MAX_FEATURES + 1) for match in _ROW.finditer(text))
    for r, row in enumerate((row for row in rows if row), start=1):
        if len(row) > MAX_FEATURES:
            raise SequenceError(
                f"row {r} has more than {MAX_FEATURES} values: at most {MAX_FEATURES} features"
            )
        yield row


def _tokens(text: str, limit: int) -> list[str]:
    """The first ``limit`` tokens of ``text``; stopping early keeps a huge input cheap to refuse."""
    return [match.group() for match in itertools.islice(_TOKEN.finditer(text), limit)]


def _to_number(token: str, where: str) -> float:
    shown = _shown(token)
    if _NON_FINITE.fullmatch(token):
        raise SequenceError(f"{shown} at {where} is not a finite number: values must be finite")
    ascii_token = token.translate(_FULL_WIDTH_NUMBER)
    if not _NUMBER.fullmatch(ascii_token):
        raise SequenceError(f"{shown} at {where} is not a number")
    value = float(ascii_token)
    if not abs(value) <= MAX_ABS_VALUE:
        raise SequenceError(
            f"{shown} at {where} is too large: magnitudes above {MAX_ABS_VALUE:,.0f} are refused"
        )
    return value


def _shown(token: str) -> str:
    if len(token) > _SHOWN_TOKEN_CHARS:
        token = token[:_SHOWN_TOKEN_CHARS] + "…"
    return repr(token)


def format_sequence(x: np.ndarray) -> str:
    """Write ``x`` in the text format :func:`parse_sequence` reads, to 6 significant digits.

    A ``(T,)`` or ``(T, 1)`` array becomes scalars (``"0.5, -1, 2"``); a ``(T, D)`` array with
    ``D > 1`` becomes rows (``"1 0; 0 1"``), with a trailing ``;`` when T = 1 so that it still
    reads back as one row rather than D scalars.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x.reshape(-1, 1)
    if x.ndim != 2 or x.size == 0:
        raise SequenceError(f"expected a non-empty (T, D) array, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise SequenceError("cannot write nan or inf: parse_sequence would refuse them")
    if x.shape[1] == 1:
        return ", ".join(_format_number(v) for v in x[:, 0])
    text = "; ".join(" ".join(_format_number(v) for v in row) for row in x)
    return text + ";" if x.shape[0] == 1 else text


def _format_number(value: float) -> str:
    return f"{value:.6g}"


# ---------------------------------------------------------------------------------------------
# Text


def encode_text(text: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """One-hot encode ``text``, one step per character, over its sorted distinct characters.

    Returns ``(x, vocabulary)``: ``x`` is float64 of shape ``(T, V)`` with a single 1 per row,
    ``vocabulary`` the V distinct characters sorted by code point, so ``x[t, v] == 1`` means
    character t is ``vocabulary[v]``. A character is one Python ``str`` element, so ``"早上好"``
    gives (3, 3); spaces and line breaks are characters like any other.

    Raises :class:`SequenceError` for empty text, more than :data:`MAX_TEXT_CHARS` characters or
    more than :data:`MAX_VOCAB` distinct characters.
    """
    if not isinstance(text, str):
        raise SequenceError(f"text must be a string, not {type(text).__name__}")
    if not text:
        raise SequenceError("the text is empty: type at least one character")
    if len(text) > MAX_TEXT_CHARS:
        raise SequenceError(
            f"the text has {len(text):,} characters; at most {MAX_TEXT_CHARS:,} (one step each)"
        )
    vocabulary = tuple(sorted(set(text)))
    if len(vocabulary) > MAX_VOCAB:
        raise SequenceError(
            f"the text has {len(vocabulary)} distinct characters; at most {MAX_VOCAB} (one feature each)"
        )
    index = {char: i for i, char in enumerate(vocabulary)}
    codes = np.fromiter((index[char] for char in text), dtype=np.int64, count=len(text))
    return _one_hot(codes, len(vocabulary)), vocabulary


def _one_hot(codes: np.ndarray, depth: int) -> np.ndarray:
    return np.eye(depth, dtype=np.float64)[codes]


# ---------------------------------------------------------------------------------------------
# Presets and training tasks
#
# Each random task has one generator of shape (B, T, D) float64 inputs and targets, so that a
# preset (B = 1, seeded) and a training batch follow exactly the same rules.


def preset(name: str, length: int = 20, seed: int = 0) -> np.ndarray:
    """The preset ``name`` (see :data:`PRESETS`) as a float64 ``(length, D)`` array.

    Deterministic for ``(name, length, seed)``; ``seed`` only matters for the random presets
    (noise, adding, copy, temporal_order). ``length`` must be in 2..:data:`MAX_STEPS`.
    """
    return _preset_with_target(name, length, seed)[0]


def preset_target(name: str, length: int = 20, seed: int = 0) -> np.ndarray:
    """The answer to :func:`preset` with the same arguments.

    - impulse: the first input, shape (1,);
    - adding: the sum of the two marked values, shape (1,);
    - copy: the K symbol indices (int64) to be repeated over the last K steps, shape (K,);
    - temporal_order: the class index (int64) into ``TEMPORAL_ORDER_CLASSES``, shape (1,);
    - sine, step, noise: the next-step values ``x[1:]``, shape (length - 1, 1).
    """
    return _preset_with_target(name, length, seed)[1]


def _preset_with_target(name: str, length: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    _check_name(name, PRESETS, "preset")
    length = _check_length(length)
    rng = np.random.default_rng(_check_seed(seed))
    if name in _SIGNALS:
        x = _SIGNALS[name](rng, length)
        target = x[0].copy() if name == "impulse" else x[1:].copy()
        return x, target
    x, y = _SAMPLERS[name](rng, 1, length)
    return x[0], np.atleast_1d(y[0])


def _impulse(rng: np.random.Generator, length: int) -> np.ndarray:
    x = np.zeros((length, 1))
    x[0, 0] = 1.0
    return x


def _sine(rng: np.random.Generator, length: int) -> np.ndarray:
    return np.sin(2 * np.pi * np.arange(length) / SINE_PERIOD).reshape(-1, 1)


def _step(rng: np.random.Generator, length: int) -> np.ndarray:
    return (np.arange(length) >= length // 2).astype(np.float64).reshape(-1, 1)


def _noise(rng: np.random.Generator, length: int) -> np.ndarray:
    return rng.standard_normal((length, 1))


# The presets that are a signal rather than a task; the impulse task samples its first value.
_SIGNALS: dict[str, Callable[[np.random.Generator, int], np.ndarray]] = {
    "impulse": _impulse,
    "sine": _sine,
    "step": _step,
    "noise": _noise,
}


def copy_length(length: int) -> int:
    """K, the number of symbols to copy in ``length`` steps: ``length // 3`` clamped to 1..8."""
    return max(1, min(8, length // 3))


def _impulse_batch(rng: np.random.Generator, batch: int, length: int):
    first = rng.uniform(-1.0, 1.0, batch)
    x = np.zeros((batch, length, 1))
    x[:, 0, 0] = first
    return x, first.reshape(-1, 1)


def _adding_batch(rng: np.random.Generator, batch: int, length: int):
    values = rng.uniform(0.0, 1.0, (batch, length))
    first, second = _one_step_per_half(rng, batch, length)
    rows = np.arange(batch)
    markers = np.zeros((batch, length))
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    target = values[rows, first] + values[rows, second]
    return np.stack([values, markers], axis=-1), target.reshape(-1, 1)


def _copy_batch(rng: np.random.Generator, batch: int, length: int):
    # The delimiter arrives on the first recall step rather than one step before it, so that the
    # layout fits every length >= 2 (symbols, blanks, delimiter + recall).
    k = copy_length(length)
    blank, delimiter = COPY_ALPHABET, COPY_ALPHABET + 1
    symbols = rng.integers(0, COPY_ALPHABET, (batch, k))
    codes = np.full((batch, length), blank)
    codes[:, :k] = symbols
    codes[:, length - k] = delimiter
    return _one_hot(codes, COPY_ALPHABET + 2), symbols.astype(np.int64)


def _temporal_order_batch(rng: np.random.Generator, batch: int, length: int):
    # Channels 0-3 are the distractors a-d, 4 is X and 5 is Y.
    codes = rng.integers(0, 4, (batch, length))
    first, second = _one_step_per_half(rng, batch, length)
    first_is_y = rng.integers(0, 2, batch)
    second_is_y = rng.integers(0, 2, batch)
    rows = np.arange(batch)
    codes[rows, first] = 4 + first_is_y
    codes[rows, second] = 4 + second_is_y
    label = 2 * first_is_y + second_is_y
    return _one_hot(codes, 6), label.astype(np.int64)


def _one_step_per_half(rng: np.random.Generator, batch: int, length: int):
    half = length // 2
    return rng.integers(0, half, batch), rng.integers(half, length, batch)


_SAMPLERS = {
    "impulse": _impulse_batch,
    "adding": _adding_batch,
    "copy": _copy_batch,
    "temporal_order": _temporal_order_batch,
}


def task_spec(name: str, length: int) -> TaskSpec:
    """How the training task ``name`` (one of :data:`TASKS`) is scored at ``length`` steps.

    - impulse: regression of the first input, scored at the last step;
    - adding: regression of the sum of the two marked values, scored at the last step;
    - copy: classification over the symbols at each of the last K steps (``last_k``);
    - temporal_order: classification into XX, XY, YX, YY at the last step.
    """
    _check_name(name, _SAMPLERS, "training task")
    length = _check_length(length)
    if name == "impulse":
        return TaskSpec(name, 1, "regression", 1, "last")
    if name == "adding":
        return TaskSpec(name, 2, "regression", 1, "last")
    if name == "copy":
        k = copy_length(length)
        return TaskSpec(name, COPY_ALPHABET + 2, "classification", COPY_ALPHABET, "last_k", k)
    return TaskSpec(name, 6, "classification", len(TEMPORAL_ORDER_CLASSES), "last")


def task_batch(name: str, length: int, batch: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A training batch ``(x, y)`` for the task ``name``; see :func:`task_spec` for its scoring.

    ``x`` is float32 ``(batch, length, D)``. ``y`` is float32 ``(batch, 1)`` for the regression
    tasks (impulse: the first input, drawn uniformly from [-1, 1]; adding: the sum), int64
    ``(batch, K)`` class indices for copy and int64 ``(batch,)`` class indices for temporal_order.
    """
    _check_name(name, _SAMPLERS, "training task")
    length = _check_length(length)
    batch = _check_batch(batch, length)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, not {type(rng).__name__}")
    x, y = _SAMPLERS[name](rng, batch, length)
    if y.dtype != np.int64:
        y = y.astype(np.float32)
    return x.astype(np.float32), y


def _check_name(name: str, valid, what: str) -> None:
    if not isinstance(name, str) or name not in valid:
        raise SequenceError(f"unknown {what} {name!r}; choose one of: {', '.join(valid)}")


def _check_length(length: int) -> int:
    length = _as_int(length, "length")
    if not 2 <= length <= MAX_STEPS:
        raise SequenceError(f"length must be between 2 and {MAX_STEPS:,} steps, got {length}")
    return length


def _check_seed(seed: int) -> int:
    seed = _as_int(seed, "seed")
    if seed < 0:
        raise SequenceError(f"seed must be a non-negative integer, got {seed}")
    return seed


def _check_batch(batch: int, length: int) -> int:
    batch = _as_int(batch, "batch")
    if batch < 1 or batch * length > MAX_BATCH_STEPS:
        raise SequenceError(
            f"batch must be at least 1 with batch * length at most {MAX_BATCH_STEPS:,}; "
            f"got batch {batch} at length {length}"
        )
    return batch


def _as_int(value: int, what: str) -> int:
    # bool is an int subclass, but True steps is a mistake, not a length of 1.
    if isinstance(value, bool):
        raise SequenceError(f"{what} must be an integer, not a bool")
    try:
        return operator.index(value)
    except TypeError:
        raise SequenceError(f"{what} must be an integer, got {value!r}") from None
