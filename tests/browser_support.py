"""Shared helpers for browser tests: a `streamlit run app.py` server and Debian's chromium.

``with streamlit_server() as url:`` starts the app on a free port of 127.0.0.1 and always stops it.
Browser tests skip without /usr/bin/chromium, except under ``.ci/run`` (LSTMVIZ_REQUIRE_BROWSER set),
where a missing browser is a failure. Nothing here downloads a browser.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited early with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"streamlit did not answer at {url} within {seconds} s")


def require_browser() -> None:
    """Skip (or, under .ci/run, fail) without Debian's chromium and the playwright package."""
    if not CHROMIUM.exists():
        reason = "needs Debian's chromium at /usr/bin/chromium (.ci/run installs it)"
        if os.environ.get("LSTMVIZ_REQUIRE_BROWSER"):
            pytest.fail(reason)
        pytest.skip(reason)
    pytest.importorskip("playwright.sync_api")


_LAST_PID: list[int] = []


def last_server_pid() -> int:
    """The process id (and process group) of the server the newest :func:`streamlit_server` started."""
    return _LAST_PID[-1]


def own_group_dying_with_parent() -> None:
    """In the child before exec: a new session, and SIGTERM when the parent dies (Linux prctl)."""
    os.setsid()
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


@contextlib.contextmanager
def streamlit_server(script: str | Path = "app.py", env: dict[str, str] | None = None) -> Iterator[str]:
    """`streamlit run <script>` on a free port of 127.0.0.1, logging to test-artifacts/; always stopped.

    ``env`` is added to this process's environment; the repository root is on the server's PYTHONPATH,
    so test apps under tests/apps/ import lstmviz and ui as app.py does."""
    require_browser()
    port = free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    command = [sys.executable, "-m", "streamlit", "run", str(script), "--server.address", "127.0.0.1"]
    command += ["--server.port", str(port), "--server.headless", "true"]
    command += ["--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    environment = {**os.environ, **(env or {}), "PYTHONPATH": str(ROOT)}
    with (ARTIFACTS / f"streamlit-{Path(script).stem}-{port}.log").open("w") as log:
        # Its own process group, so that the kill below reaches anything it started; and it dies with
        # us even when we are killed before the finally below runs.
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=environment,
            preexec_fn=own_group_dying_with_parent,
        )
        _LAST_PID.append(process.pid)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_healthy(url, process)
            yield url
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
