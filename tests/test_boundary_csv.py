"""Uploaded CSV sequences: the delimiter is read off the file, nothing is silently misread."""

from __future__ import annotations

import numpy as np
import pytest

from lstmviz import SequenceError, parse_sequence
from lstmviz.limits import MAX_CSV_BYTES, MAX_FEATURES, MAX_STEPS
from ui.csv_input import csv_text, csv_text_with_notes


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"1;2;3\n4;5;6", [[1, 2, 3], [4, 5, 6]]),
        (b"1,5;2,5", [[1.5, 2.5]]),
        (b"x;y\r\n-0,25;3\r\n1;1e-3\r\n", [[-0.25, 3], [1, 0.001]]),
        (b"1,2,3\n4,5,6\n", [[1, 2, 3], [4, 5, 6]]),
        (b"a,b\n1,0\n0,1\n0.5,0.5\n", [[1, 0], [0, 1], [0.5, 0.5]]),
        (b"1,234\n5,678\n", [[1, 234], [5, 678]]),
        (b"1\t2\t3\n4\t5\t6\n", [[1, 2, 3], [4, 5, 6]]),
        (b"\xef\xbb\xbft\n1\n2\n", [[1], [2]]),
        (b"7\n", [[7]]),
        (b"1,2,3\n", [[1, 2, 3]]),
    ],
)
def test_csv_rows_are_steps_and_columns_are_features(data, expected):
    np.testing.assert_array_equal(parse_sequence(csv_text(data)), np.array(expected, dtype=float))


def test_notes_say_how_the_file_was_read():
    _, notes = csv_text_with_notes(b"a;b\n1,5;2,5\n")
    assert any("decimal commas" in note for note in notes)
    assert any("header" in note for note in notes)
    assert csv_text_with_notes(b"1,2\n3,4\n")[1] == ()


def test_comma_rows_go_into_the_box_as_they_are_when_the_box_reads_them_so():
    assert csv_text(b"x\n1\n2\n") == "1\n2\n"
    assert csv_text(b"1,0\n0,1\n") == "1,0\n0,1\n"


def test_a_single_line_of_100k_columns_says_too_many_features():
    with pytest.raises(SequenceError, match=rf"row 1 has 100,000 columns; at most {MAX_FEATURES} features"):
        csv_text(b",".join([b"1"] * 100_000))
    assert parse_sequence(csv_text(b";".join([b"1"] * MAX_FEATURES))).shape == (1, MAX_FEATURES)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\n \n", "empty"),
        (b"a,b\n", "header row but no numbers"),
        (b"a,b\n1,2\n3\n", r"row 2 has 1 value .*\(rows counted after the header row\)"),
        (b"1;2\n3;x\n", "not a number"),
        (b"\xff\xfe1", "not UTF-8"),
        (b"1\n" * (MAX_STEPS + 2), "rows; at most 10,000 steps"),
        (b"1" * (MAX_CSV_BYTES + 1), "MB"),
    ],
)
def test_bad_files_get_a_clear_message(data, message):
    with pytest.raises(SequenceError, match=message):
        csv_text(data)
