"""Uploaded CSV files as sequence text: rows are steps, columns are features.

The file is read as plain numbers (no code, no pickles): a non-numeric first row is taken as a header
and skipped, the rest must parse with :func:`lstmviz.parse_sequence`. The result is the text that goes
into the sequence box, so what is traced is what the box shows.
"""

from __future__ import annotations

from lstmviz import SequenceError, parse_sequence

MAX_CSV_BYTES = 1_000_000


def csv_text(data: bytes) -> str:
    """The box text for an uploaded CSV; raises SequenceError with a message for the user."""
    if len(data) > MAX_CSV_BYTES:
        raise SequenceError(
            f"the file has {len(data) / 1e6:.1f} MB; CSV files up to {MAX_CSV_BYTES / 1e6:g} MB are read"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise SequenceError(f"the file is not UTF-8 text (byte {error.start} cannot be read)") from None
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise SequenceError("the file is empty")
    note = ""
    if not _numeric_row(lines[0]):
        lines, note = lines[1:], " (rows counted after the header row)"
        if not lines:
            raise SequenceError("the file has a header row but no numbers")
    body = "\n".join(lines) + "\n"  # a newline makes even a single row one step of D features
    try:
        parse_sequence(body)
    except SequenceError as error:
        raise SequenceError(f"{error}{note}") from None
    return body


def _numeric_row(line: str) -> bool:
    try:
        parse_sequence(line + "\n")
    except SequenceError:
        return False
    return True
