"""`.streamlit/config.toml`: `streamlit run app.py` on a fresh desktop (no ~/.streamlit, stdin closed)
serves the app at once, asks for nothing and reports no usage statistics."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tomllib
import urllib.request

from browser_support import ROOT, free_port, own_group_dying_with_parent, wait_healthy

from lstmviz.limits import MAX_WEIGHTS_BYTES


def test_config_sets_what_a_classroom_server_needs():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["headless"] is True and config["server"]["showEmailPrompt"] is False
    assert config["server"]["maxUploadSize"] == MAX_WEIGHTS_BYTES // 1_000_000
    assert config["browser"]["gatherUsageStats"] is False
    assert config["client"]["showErrorDetails"] in ("type", "none")


def test_streamlit_run_starts_without_a_prompt_on_a_fresh_home(tmp_path):
    port = free_port()
    # Only the address and port are given on the command line: everything else is the config's.
    command = [sys.executable, "-m", "streamlit", "run", "app.py"]
    command += ["--server.address", "127.0.0.1", "--server.port", str(port)]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")}
    environment["HOME"] = str(tmp_path)
    log = tmp_path / "streamlit.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=environment,
            preexec_fn=own_group_dying_with_parent,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_healthy(url, process, seconds=30)
            with urllib.request.urlopen(f"{url}/_stcore/host-config", timeout=5) as response:
                assert response.status == 200
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
    printed = log.read_text()
    assert "You can now view your Streamlit app" in printed
    assert "Email" not in printed and "usage statistics" not in printed, printed
    assert not (tmp_path / ".streamlit").exists()  # nothing was asked, so nothing was saved
