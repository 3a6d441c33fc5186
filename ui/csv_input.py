"""Uploaded CSV files as sequence text: rows are steps, columns are features.

The file is read as plain numbers (no code, no pickles, no quoted fields). Its delimiter is read off
the file, as spreadsheet programs write it (RFC 4180 for commas; the semicolon form is what they write
where the comma is the decimal mark, e.g. Excel in German or French locales):

- a semicolon anywhere: columns split at semicolons, and a comma inside a field is a decimal comma,
  so ``1,5;2,5`` is one step of two features, 1.5 and 2.5;
- else a tab anywhere: columns split at tabs;
- else columns split at commas.

A non-numeric first row is taken as a header and skipped. The result is the text that goes into the
sequence box, in :func:`lstmviz.parse_sequence`'s format, so what is traced is what the box shows:
comma- and tab-separated rows go in as they are when the box reads them so, and are otherwise
rewritten with ``", "`` between values (``1,234`` would be refused there as a thousands separator);
semicolon rows are rewritten with decimal points and ``", "`` between values.
"""

from __future__ import annotations

from lstmviz.limits import MAX_CSV_BYTES, MAX_FEATURES, MAX_STEPS
from lstmviz.sequences import SequenceError, parse_sequence

__all__ = ["MAX_CSV_BYTES", "csv_text", "csv_text_with_notes"]


def csv_text(data: bytes) -> str:
    """The box text for an uploaded CSV; raises SequenceError with a message for the user."""
    return csv_text_with_notes(data)[0]


def csv_text_with_notes(data: bytes) -> tuple[str, tuple[str, ...]]:
    """The box text for an uploaded CSV and notes on how it was read (delimiter, header)."""
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
    if len(lines) > MAX_STEPS + 1:  # one more for a header row
        raise SequenceError(f"the file has {len(lines):,} rows; at most {MAX_STEPS:,} steps are read")
    delimiter = ";" if ";" in text else "\t" if "\t" in text else ","
    for r, line in enumerate(lines, start=1):
        columns = line.count(delimiter) + 1
        if columns > MAX_FEATURES:
            raise SequenceError(f"row {r} has {columns:,} columns; at most {MAX_FEATURES} features are read")
    rows = [[field.strip() for field in line.split(delimiter)] for line in lines]
    notes = []
    if delimiter == ";":
        rows = [[field.replace(",", ".") for field in row] for row in rows]
        notes.append("columns are separated by semicolons, so commas were read as decimal commas")
    skipped = ""
    if not _numeric_row(", ".join(rows[0])):
        lines, rows, skipped = lines[1:], rows[1:], " (rows counted after the header row)"
        notes.append("the first row is not numbers: it was skipped as a header")
        if not lines:
            raise SequenceError("the file has a header row but no numbers")
    # A newline after the last row makes even a single row one step of D features.
    body = "\n".join(lines) + "\n"
    if delimiter == ";" or not _numeric_row(body):
        body = "\n".join(", ".join(row) for row in rows) + "\n"
    try:
        parse_sequence(body)
    except SequenceError as error:
        raise SequenceError(f"{error}{skipped}") from None
    return body, tuple(notes)


def _numeric_row(text: str) -> bool:
    try:
        parse_sequence(text + "\n")
    except SequenceError:
        return False
    return True
