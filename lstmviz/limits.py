"""Every limit of lstmviz in one place: the library, the app and the README use these numbers.

Sizes are checked before any work; budgets are estimates of memory (bytes) and time (operations)
made from the sizes alone, so a request that would not fit is refused before anything is allocated,
with a message that says what to reduce.
"""

from __future__ import annotations

MAX_STEPS = 10_000
"""Most steps T in a sequence: typed, preset, uploaded or traced."""

MAX_FEATURES = 256
"""Most input features D per step (typed rows, CSV columns, one-hot vocabulary, a model's input)."""

MAX_HIDDEN = 1024
"""Most hidden units H of a layer (``proj_size`` stays below it)."""

MAX_LAYERS = 4
"""Most stacked layers."""

MAX_TEXT_CHARS = 2_000_000
"""Most characters the sequence parser reads; checked before any splitting."""

MAX_ABS_VALUE = 1e6
"""Largest magnitude of a typed number: larger ones only saturate every gate."""

MAX_CSV_BYTES = 1_000_000
"""Largest uploaded CSV sequence."""

MAX_WEIGHTS_BYTES = 50_000_000
"""Largest uploaded weights file (.safetensors or .pt), and the most a .pt may unpack to."""

MAX_TENSORS = 256
"""Most tensors in an uploaded weights file."""

MAX_SAFETENSORS_HEADER_BYTES = 1_000_000
"""Largest JSON header of an uploaded .safetensors file (256 tensors take about 25 kB)."""

MAX_PICKLE_BYTES = 1_000_000
"""Largest pickle (``data.pkl``) inside an uploaded .pt file (256 tensors take about 25 kB)."""

MAX_ZIP_ENTRIES = 4096
"""Most entries in an uploaded .pt zip archive (one per tensor storage, plus a few records)."""
