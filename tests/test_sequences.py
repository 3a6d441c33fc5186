"""Tests for lstmviz.sequences: typed numbers, text encoding, presets and training batches."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lstmviz.sequences import (
    COPY_ALPHABET,
    MAX_ABS_VALUE,
    MAX_FEATURES,
    MAX_INPUT_CHARS,
    MAX_STEPS,
    MAX_TEXT_CHARS,
    MAX_VOCAB,
    PRESETS,
    TASKS,
    SequenceError,
    TaskSpec,
    copy_length,
    encode_text,
    format_sequence,
    parse_sequence,
    parse_sequence_with_notes,
    preset,
    preset_target,
    task_batch,
    task_spec,
)

FAST = settings(max_examples=200, deadline=None, derandomize=True)
RANDOM_PRESETS = ("noise", "adding", "copy", "temporal_order")
NUMBERISH = st.text(alphabet="0123456789.,;eE+- \n\t\rnaif_x１，；", max_size=60)


# ---------------------------------------------------------------------------------------------
# parse_sequence: properties


def _parses_or_refuses(text: str) -> None:
    try:
        x = parse_sequence(text)
    except SequenceError:
        return
    assert isinstance(x, np.ndarray)
    assert x.dtype == np.float64
    assert x.ndim == 2 and x.shape[0] >= 1 and x.shape[1] >= 1
    assert np.isfinite(x).all()
    assert np.abs(x).max() <= MAX_ABS_VALUE


@FAST
@given(st.text())
def test_any_text_parses_or_raises_sequence_error(text):
    _parses_or_refuses(text)


@FAST
@given(NUMBERISH)
def test_number_like_text_parses_or_raises_sequence_error(text):
    _parses_or_refuses(text)


@FAST
@given(NUMBERISH)
def test_notes_come_with_the_same_array_as_parse_sequence(text):
    try:
        x, notes = parse_sequence_with_notes(text)
    except SequenceError:
        with pytest.raises(SequenceError):
            parse_sequence(text)
        return
    np.testing.assert_array_equal(parse_sequence(text), x)
    assert isinstance(notes, tuple) and all(isinstance(note, str) for note in notes)
    assert bool(notes) <= ("," in text)


@FAST
@given(
    hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 50), st.integers(1, 8)),
        elements=st.floats(-MAX_ABS_VALUE, MAX_ABS_VALUE, allow_nan=False),
    )
)
def test_format_then_parse_round_trips(x):
    y = parse_sequence(format_sequence(x))
    assert y.shape == x.shape
    np.testing.assert_allclose(y, x, rtol=1e-5, atol=1e-300)


# ---------------------------------------------------------------------------------------------
# parse_sequence: examples


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.5, -1, 2", [[0.5], [-1.0], [2.0]]),
        ("0.5 -1 2", [[0.5], [-1.0], [2.0]]),
        ("7", [[7.0]]),
        ("1 0; 0 1", [[1.0, 0.0], [0.0, 1.0]]),
        ("1, 0\n0, 1\n", [[1.0, 0.0], [0.0, 1.0]]),
        ("1 0\r\n0 1\r\n\r\n", [[1.0, 0.0], [0.0, 1.0]]),
        ("1,2 3\t4;", [[1.0, 2.0, 3.0, 4.0]]),
        ("1, 2 ,3,, 4", [[1.0], [2.0], [3.0], [4.0]]),
        ("1e-3, +2, .5, 3., -2.5E+2", [[0.001], [2.0], [0.5], [3.0], [-250.0]]),
        ("1 2;\n\n  ;\n3 4;;", [[1.0, 2.0], [3.0, 4.0]]),
        ("１，２；３，４", [[1.0, 2.0], [3.0, 4.0]]),
        ("1e6, -1e6", [[1e6], [-1e6]]),
    ],
)
def test_parses_examples(text, expected):
    x = parse_sequence(text)
    assert x.dtype == np.float64
    np.testing.assert_array_equal(x, np.array(expected))


@pytest.mark.parametrize("text", ["", "   \n\t ", ";;", ", ,", "\n\n"])
def test_empty_input_is_refused(text):
    with pytest.raises(SequenceError, match="empty"):
        parse_sequence(text)


@pytest.mark.parametrize("value", [None, 1.5, b"1, 2", ["1", "2"]])
def test_non_string_input_is_refused(value):
    with pytest.raises(SequenceError, match="text"):
        parse_sequence(value)


def test_non_number_names_token_and_position():
    with pytest.raises(SequenceError, match=r"'abc' at position 2 is not a number"):
        parse_sequence("1, abc, 3")


def test_non_number_in_rows_names_row_and_column():
    with pytest.raises(SequenceError, match=r"'abc' at row 2, column 3 is not a number"):
        parse_sequence("1 2 3\n4 5 abc")


@pytest.mark.parametrize("token", ["1_000", "١٢", "0x10", "1e", "--1", "1.2.3", "e5", "."])
def test_what_float_accepts_but_a_user_did_not_mean_is_refused(token):
    with pytest.raises(SequenceError, match="not a number"):
        parse_sequence(f"1, {token}")


@pytest.mark.parametrize("token", ["nan", "NaN", "-nan", "inf", "-inf", "+Infinity"])
def test_nan_and_inf_are_refused(token):
    with pytest.raises(SequenceError, match="finite"):
        parse_sequence(f"1, {token}, 3")


@pytest.mark.parametrize("token", ["1e400", "-1e400", "1000001", "2e6"])
def test_huge_magnitudes_are_refused(token):
    with pytest.raises(SequenceError, match=f"'{token}' at position 1 is too large"):
        parse_sequence(token)


def test_ragged_rows_name_the_row():
    with pytest.raises(SequenceError, match="row 3 has 2 values but row 1 has 3"):
        parse_sequence("1 2 3; 4 5 6; 7 8; 9 10 11")


def test_long_token_is_shortened_in_the_message():
    with pytest.raises(SequenceError) as error:
        parse_sequence("x" * 100_000)
    assert len(str(error.value)) < 200


def test_too_many_steps_is_refused_quickly():
    start = time.perf_counter()
    with pytest.raises(SequenceError, match="steps"):
        parse_sequence("1, " * (MAX_STEPS + 1))
    with pytest.raises(SequenceError, match="steps"):
        parse_sequence("0;" * (MAX_INPUT_CHARS // 2))
    with pytest.raises(SequenceError, match="characters"):
        parse_sequence("1," * 5_000_000)
    assert time.perf_counter() - start < 1.0


def test_max_steps_is_accepted():
    assert parse_sequence(", ".join(["1"] * MAX_STEPS)).shape == (MAX_STEPS, 1)


def test_too_many_features_is_refused():
    row = " ".join(["1"] * MAX_FEATURES)
    assert parse_sequence(row + ";").shape == (1, MAX_FEATURES)
    with pytest.raises(SequenceError, match="row 2 has more than 256 values"):
        parse_sequence(f"{row}; {row} 1")


# ---------------------------------------------------------------------------------------------
# Commas between digits: separators, said so when a decimal comma would also have made sense


@pytest.mark.parametrize(
    ("text", "expected", "noted"),
    [
        ("1,5;2,5", [[1.0, 5.0], [2.0, 5.0]], "'1,5' is 1 and 5"),
        ("1,5 2,5", [[1.0], [5.0], [2.0], [5.0]], "'1,5' is 1 and 5"),
        ("0,1,0,1", [[0.0], [1.0], [0.0], [1.0]], None),  # not a decimal: no note
        ("1,0\n0,1\n0.5,0.5", [[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]], None),
        ("1, 5; 2, 5", [[1.0, 5.0], [2.0, 5.0]], None),
        ("1.5, 2.5", [[1.5], [2.5]], None),
    ],
)
def test_a_comma_between_digits_separates_values_with_a_note_when_ambiguous(text, expected, noted):
    x, notes = parse_sequence_with_notes(text)
    np.testing.assert_array_equal(x, expected)
    if noted is None:
        assert notes == ()
    else:
        assert len(notes) == 1 and noted in notes[0] and "1.5, not 1,5" in notes[0]


@pytest.mark.parametrize("number", ["1,000", "-12,345", "1,000,000", "2,500.75"])
def test_thousands_separators_are_refused_with_how_to_type_it(number):
    with pytest.raises(SequenceError, match="thousands separator") as error:
        parse_sequence(f"3, {number}, 4")
    assert number.replace(",", "") in str(error.value)


def test_a_long_ambiguous_word_keeps_the_note_short():
    _, notes = parse_sequence_with_notes("1,5" + ",,2,5" * 2000)
    assert len(notes) == 1 and len(notes[0]) < 300


# ---------------------------------------------------------------------------------------------
# format_sequence


def test_format_uses_the_parser_format():
    assert format_sequence(np.array([0.5, -1.0, 2.0])) == "0.5, -1, 2"
    assert format_sequence(np.array([[0.5], [-1.0]])) == "0.5, -1"
    assert format_sequence(np.array([[1.0, 0.0], [0.0, 1.0]])) == "1 0; 0 1"


def test_format_keeps_a_single_vector_a_row():
    x = np.array([[1.0, 2.0, 3.0]])
    assert parse_sequence(format_sequence(x)).shape == (1, 3)


@pytest.mark.parametrize("bad", [np.array([]), np.zeros((2, 2, 2)), np.array([1.0, np.nan])])
def test_format_refuses_what_cannot_round_trip(bad):
    with pytest.raises(SequenceError):
        format_sequence(bad)


# ---------------------------------------------------------------------------------------------
# encode_text


def test_encode_text_chinese_greeting():
    x, vocabulary = encode_text("早上好")
    assert x.shape == (3, 3)
    assert x.dtype == np.float64
    assert vocabulary == tuple(sorted("早上好"))
    np.testing.assert_array_equal(x.sum(axis=1), np.ones(3))
    assert [vocabulary[i] for i in x.argmax(axis=1)] == list("早上好")


def test_encode_text_counts_spaces_and_repeats():
    x, vocabulary = encode_text("a b a")
    assert vocabulary == (" ", "a", "b")
    assert x.shape == (5, 3)
    np.testing.assert_array_equal(x.argmax(axis=1), [1, 0, 2, 0, 1])


@FAST
@given(st.text(min_size=1, max_size=200))
def test_encode_text_is_one_hot_in_code_point_order(text):
    x, vocabulary = encode_text(text)
    assert x.shape == (len(text), len(set(text)))
    assert list(vocabulary) == sorted(set(text), key=ord)
    assert set(np.unique(x)) <= {0.0, 1.0}
    np.testing.assert_array_equal(x.sum(axis=1), np.ones(len(text)))
    assert "".join(vocabulary[i] for i in x.argmax(axis=1)) == text


def test_encode_text_errors():
    with pytest.raises(SequenceError, match="empty"):
        encode_text("")
    with pytest.raises(SequenceError, match="characters"):
        encode_text("a" * (MAX_TEXT_CHARS + 1))
    with pytest.raises(SequenceError, match="distinct"):
        encode_text("".join(chr(0x4E00 + i) for i in range(MAX_VOCAB + 1)))
    with pytest.raises(SequenceError):
        encode_text(42)


# ---------------------------------------------------------------------------------------------
# Presets


@pytest.mark.parametrize("name", list(PRESETS))
@pytest.mark.parametrize("length", [2, 20, 1000])
def test_every_preset_works_and_is_deterministic(name, length):
    x = preset(name, length, seed=3)
    assert x.dtype == np.float64
    assert x.ndim == 2 and x.shape[0] == length
    assert np.isfinite(x).all()
    np.testing.assert_array_equal(x, preset(name, length, seed=3))
    np.testing.assert_array_equal(preset_target(name, length, 3), preset_target(name, length, 3))


@pytest.mark.parametrize("name", RANDOM_PRESETS)
def test_random_presets_differ_between_seeds(name):
    assert not np.array_equal(preset(name, 50, seed=0), preset(name, 50, seed=1))


@pytest.mark.parametrize("name", ["impulse", "sine", "step"])
def test_signal_presets_ignore_the_seed(name):
    np.testing.assert_array_equal(preset(name, 30, seed=0), preset(name, 30, seed=9))


def test_default_arguments():
    assert preset("impulse").shape == (20, 1)


def test_impulse_is_one_then_zeros():
    x = preset("impulse", 6)
    np.testing.assert_array_equal(x, [[1.0], [0.0], [0.0], [0.0], [0.0], [0.0]])
    np.testing.assert_array_equal(preset_target("impulse", 6), [1.0])


def test_sine_and_step():
    np.testing.assert_allclose(preset("sine", 21)[[0, 5, 10, 20], 0], [0, 1, 0, 0], atol=1e-12)
    np.testing.assert_array_equal(preset("step", 6)[:, 0], [0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(preset("step", 5)[:, 0], [0, 0, 1, 1, 1])


@pytest.mark.parametrize("name", ["sine", "step", "noise"])
def test_signal_targets_are_the_next_step(name):
    x = preset(name, 30, seed=4)
    np.testing.assert_array_equal(preset_target(name, 30, seed=4), x[1:])


def test_noise_is_standard_normal():
    x = preset("noise", MAX_STEPS, seed=0)
    assert abs(x.mean()) < 0.05 and abs(x.std() - 1) < 0.05


@pytest.mark.parametrize("length", [2, 3, 20, 1001])
@pytest.mark.parametrize("seed", range(5))
def test_adding_has_one_marker_per_half_and_target_is_their_sum(length, seed):
    x = preset("adding", length, seed)
    assert x.shape == (length, 2)
    values, markers = x[:, 0], x[:, 1]
    assert ((values >= 0) & (values < 1)).all()
    assert set(np.unique(markers)) <= {0.0, 1.0}
    half = length // 2
    assert markers[:half].sum() == 1 and markers[half:].sum() == 1
    target = preset_target("adding", length, seed)
    assert target.shape == (1,)
    np.testing.assert_allclose(target, [values[markers == 1].sum()])


@pytest.mark.parametrize("length", [2, 3, 5, 20, 1000])
@pytest.mark.parametrize("seed", range(5))
def test_copy_layout_and_target(length, seed):
    x = preset("copy", length, seed)
    k = copy_length(length)
    blank, delimiter = COPY_ALPHABET, COPY_ALPHABET + 1
    assert x.shape == (length, COPY_ALPHABET + 2)
    np.testing.assert_array_equal(x.sum(axis=1), np.ones(length))
    codes = x.argmax(axis=1)
    target = preset_target("copy", length, seed)
    assert target.dtype == np.int64 and target.shape == (k,)
    np.testing.assert_array_equal(codes[:k], target)
    assert codes[length - k] == delimiter
    assert (np.delete(codes[k:], length - 2 * k) == blank).all()


@pytest.mark.parametrize(("length", "k"), [(2, 1), (5, 1), (6, 2), (24, 8), (1000, 8)])
def test_copy_length_is_clamped(length, k):
    assert copy_length(length) == k


@pytest.mark.parametrize("length", [2, 3, 20, 1000])
@pytest.mark.parametrize("seed", range(5))
def test_temporal_order_target_matches_the_symbols(length, seed):
    x = preset("temporal_order", length, seed)
    assert x.shape == (length, 6)
    np.testing.assert_array_equal(x.sum(axis=1), np.ones(length))
    codes = x.argmax(axis=1)
    relevant = np.flatnonzero(codes >= 4)
    assert len(relevant) == 2
    half = length // 2
    assert relevant[0] < half <= relevant[1]
    order = "".join("XY"[codes[t] - 4] for t in relevant)
    target = preset_target("temporal_order", length, seed)
    assert target.dtype == np.int64 and target.shape == (1,)
    assert ["XX", "XY", "YX", "YY"][target[0]] == order


def test_temporal_order_uses_all_four_classes():
    classes = {int(preset_target("temporal_order", 20, seed)[0]) for seed in range(40)}
    assert classes == {0, 1, 2, 3}


@pytest.mark.parametrize("length", [0, 1, -5, MAX_STEPS + 1, 2.5, "20", True, None])
def test_invalid_length_is_refused(length):
    with pytest.raises(SequenceError, match="length"):
        preset("sine", length)


def test_numpy_integer_length_is_accepted():
    assert preset("sine", np.int64(7)).shape == (7, 1)


@pytest.mark.parametrize("seed", [-1, 1.5, "0"])
def test_invalid_seed_is_refused(seed):
    with pytest.raises(SequenceError, match="seed"):
        preset("noise", 10, seed)


@pytest.mark.parametrize("name", ["bogus", "Impulse", "", None])
def test_unknown_preset_lists_the_valid_names(name):
    with pytest.raises(SequenceError) as error:
        preset(name)
    assert all(valid in str(error.value) for valid in PRESETS)
    with pytest.raises(SequenceError):
        preset_target(name)


def test_sequence_error_is_a_value_error():
    assert issubclass(SequenceError, ValueError)


# ---------------------------------------------------------------------------------------------
# Training tasks


@pytest.mark.parametrize("name", TASKS)
@pytest.mark.parametrize("length", [2, 30])
def test_task_batch_matches_its_spec(name, length):
    spec = task_spec(name, length)
    assert isinstance(spec, TaskSpec)
    x, y = task_batch(name, length, 16, np.random.default_rng(0))
    assert x.dtype == np.float32 and x.shape == (16, length, spec.input_size)
    if spec.kind == "regression":
        assert y.dtype == np.float32 and y.shape == (16, spec.output_size)
    elif spec.scored_steps == "last_k":
        assert y.dtype == np.int64 and y.shape == (16, spec.num_scored)
    else:
        assert y.dtype == np.int64 and y.shape == (16,)
    if spec.kind == "classification":
        assert y.min() >= 0 and y.max() < spec.output_size


def test_task_specs():
    assert task_spec("impulse", 20) == TaskSpec("impulse", 1, "regression", 1, "last")
    assert task_spec("adding", 20) == TaskSpec("adding", 2, "regression", 1, "last")
    assert task_spec("copy", 20) == TaskSpec(
        "copy", COPY_ALPHABET + 2, "classification", COPY_ALPHABET, "last_k", 6
    )
    assert task_spec("temporal_order", 20) == TaskSpec("temporal_order", 6, "classification", 4, "last")


def test_impulse_batch_target_is_the_first_value():
    x, y = task_batch("impulse", 10, 64, np.random.default_rng(1))
    np.testing.assert_array_equal(y[:, 0], x[:, 0, 0])
    assert (np.abs(y) <= 1).all() and y.std() > 0.3
    assert not x[:, 1:].any()


def test_adding_batch_target_is_the_marked_sum():
    x, y = task_batch("adding", 40, 32, np.random.default_rng(2))
    sums = (x[:, :, 0] * x[:, :, 1]).sum(axis=1)
    np.testing.assert_allclose(y[:, 0], sums, rtol=1e-6)


def test_task_batch_is_deterministic_per_generator():
    a = task_batch("copy", 20, 8, np.random.default_rng(5))
    b = task_batch("copy", 20, 8, np.random.default_rng(5))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_task_batch_errors():
    rng = np.random.default_rng(0)
    with pytest.raises(SequenceError, match="sine"):
        task_batch("sine", 20, 4, rng)
    with pytest.raises(SequenceError, match="batch"):
        task_batch("adding", 20, 0, rng)
    with pytest.raises(SequenceError, match="batch"):
        task_batch("adding", MAX_STEPS, 10_000, rng)
    with pytest.raises(SequenceError, match="length"):
        task_batch("adding", 1, 4, rng)
    with pytest.raises(TypeError, match="Generator"):
        task_batch("adding", 20, 4, 0)
    with pytest.raises(SequenceError, match="noise"):
        task_spec("noise", 20)
