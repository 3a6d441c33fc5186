"""Real models in: upload a state_dict (.safetensors or weights-only .pt), or open the shipped example."""

from __future__ import annotations

import streamlit as st

from lstmviz import weights
from lstmviz.cells import cell_for
from lstmviz.limits import MAX_WEIGHTS_BYTES

from .handover import open_models
from .models import loaded_models
from .safe_text import plain
from .training_results import page_links

MESSAGES = "tl_messages"
CHOICES = "tl_module_choices"
NONLINEARITY_LABELS = {"auto": "from the file, else tanh", "tanh": "tanh", "relu": "relu"}


def _article(title: str) -> str:
    """ "an LSTM", "an RNN", but "a GRU", "a minGRU": by the sound of the first letter."""
    return "an" if title[:1] in "AEIOULR" else "a"


def _load_upload(module: str | None = None) -> None:
    state = st.session_state
    upload = state.get("tl_upload")
    state[MESSAGES], state[CHOICES] = [], ()
    if upload is None:
        return
    if upload.size > MAX_WEIGHTS_BYTES:  # refused before reading a byte of it
        state[MESSAGES] = [("error", f"{upload.name} has {upload.size / 1e6:.1f} MB; weights files up to "
                                     f"{MAX_WEIGHTS_BYTES / 1e6:.0f} MB are read.")]
        return
    choice = state.get("tl_nonlinearity", "auto")
    try:
        loaded = weights.read_weights(upload.getvalue(), upload.name,
                                      nonlinearity=None if choice == "auto" else choice, module=module)
    except weights.ChooseModule as several:
        state[CHOICES] = several.prefixes
        state[MESSAGES] = [("info", f"{upload.name} holds several recurrent modules: choose one below.")]
        return
    except weights.WeightsError as error:
        state[MESSAGES] = [("error", f"{upload.name}: {error}")]
        return
    spec = loaded.model.spec
    title = cell_for(spec).title
    note = open_models(f"uploaded {upload.name}", {spec.cell: loaded.model})
    messages = [("success", f"Loaded {_article(title)} {title} from {upload.name}: "
                            "every page now traces it.")]
    messages += [("info", n) for n in loaded.notes]
    if note:
        messages.append(("info", note))
    state[MESSAGES] = messages


def _open_example() -> None:
    info = weights.example_info("recall_first")
    models = weights.load_example("recall_first")
    task = info["task"]
    label = f"example: {weights.EXAMPLES['recall_first']} (length {task['length']})"
    open_models(label, models, preset=task["name"], length=task["length"],
                seed=info["config"]["model"]["seed"])
    finals = ", ".join(f"{cell.upper()} loss {final['loss']:.4g}, accuracy {final['accuracy']:.0%}"
                       for cell, final in info["final"].items())
    st.session_state[MESSAGES] = [
        ("success", f"Opened the {label}, trained by scripts/make_example.py; final {finals} (|error| < 0.1 "
                    "counts as correct). The sidebar now shows the impulse preset: x₀ = 1, then zeros.")
    ]


def section() -> None:
    st.header("Your own model, or the shipped example")
    st.caption(
        "Load the state_dict of an `nn.RNN`, `nn.LSTM` or `nn.GRU` (any layers, directions, `proj_size`, "
        "bias), or a larger model's state_dict that holds one. `.pt` files are read as plain data (tensors "
        "only, checked before anything is copied): nothing in them can run. The architecture is read from "
        "the names and shapes."
    )
    left, right = st.columns([3, 2])
    left.file_uploader(
        "State dict (.safetensors, .pt, .pth)",
        type=["safetensors", "pt", "pth"],
        key="tl_upload",
        on_change=_load_upload,
        max_upload_size=MAX_WEIGHTS_BYTES // 1_000_000,
        help="Save one with safetensors.torch.save_file(module.state_dict(), 'w.safetensors') or "
        "torch.save(module.state_dict(), 'w.pt').",
    )
    right.segmented_control("An nn.RNN's nonlinearity (not stored in its weights)",
                            tuple(NONLINEARITY_LABELS),
                            format_func=NONLINEARITY_LABELS.get, default="auto", required=True,
                            key="tl_nonlinearity", persist_state="session")
    for prefix in st.session_state.get(CHOICES, ()):
        st.button(f"Load the module {prefix or '(top level)'}", key=f"tl_module_{prefix}",
                  on_click=_load_upload, args=(prefix,))
    st.button(f"Open example: {weights.EXAMPLES['recall_first']}", on_click=_open_example,
              key="tl_open_example", help="Trained by scripts/make_example.py, no training needed.")
    for kind, text in st.session_state.get(MESSAGES, []):
        getattr(st, kind)(plain(text))
    current = loaded_models()
    if current is not None:
        st.caption(plain(f"Every page now traces: {current.label}")
                   + " (the sidebar's *Back to fresh cells* undoes it).")
        page_links()
