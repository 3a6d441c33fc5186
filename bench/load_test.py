"""A classroom on one server: concurrent browser sessions, trainings and the largest views (not part of CI).

    .venv/bin/python bench/load_test.py                 # 20 sessions, 3 trainings, 3 largest views
    .venv/bin/python bench/load_test.py --sessions 8    # a smaller class

It starts ``streamlit run app.py`` on 127.0.0.1 (stopped at the end), then with Debian's chromium:

1. opens ``--sessions`` sessions at once, each with its own configuration (cells, hidden size, preset,
   seed), prints when all have settled, then changes one setting in each, one session after
   another, and prints how long each took to settle (median and worst);
2. starts ``--trainings`` trainings at once on the Training lab and waits for them to finish;
3. opens the largest view the app accepts from ``--largest`` sessions at once;
4. prints the server's peak and retained resident memory (read from /proc every 0.2 s) after each
   phase, and once more after the view cache has evicted its entries (it drops entries idle for
   ``ui.cache.IDLE_SECONDS``; ``--idle`` shortens that for the run through an environment variable);
5. checks that no session ever shows another session's configuration: each session's page must show
   its own hidden size and preset in the sidebar.

Targets (issue "Safe for a classroom"): 20 ordinary sessions under 1.5 GB peak; the largest view from
3 sessions under 3 GB peak and back under 1 GB once evicted; no cross-session leak.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from browser_support import CHROMIUM, CHROMIUM_ARGS, streamlit_server  # noqa: E402
from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

SETTLED = '[data-testid="stApp"][data-test-script-state="notRunning"]'
# A fresh page reads "notRunning" before its first run has started; this input exists only once it ran.
HIDDEN_SIZE = '[data-testid="stSidebar"] input[aria-label="Hidden size"]'
PRESET = '[data-testid="stSidebar"] input[aria-label="Preset"]'
RUNNING = '[data-testid="stApp"][data-test-script-state="running"]'
PRESETS = ("impulse", "sine", "step", "noise", "adding")
CELLS = ("rnn", "lstm", "gru", "mingru", "minlstm")
# The largest view the app accepts within its memory budget (ui.compute refuses larger ones).
LARGEST = "/gradients?preset=noise&len=10000&hidden=72&cells=rnn,lstm,gru&seed=1"


class MemoryWatch:
    """The server's resident memory (its whole process group), sampled every 0.2 s in a thread."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def rss(self) -> int:
        total = 0
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text().split()
                    if int(stat[4]) == self.pid:  # same process group as the server
                        total += int(stat[23]) * os.sysconf("SC_PAGE_SIZE")
                except (OSError, IndexError, ValueError):
                    continue
        return total

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, self.rss())

    def reset(self) -> int:
        current = self.rss()
        self.peak = current
        return current

    def stop(self) -> None:
        self._stop.set()


def settle(page, seconds: float = 120, ready: str | None = None) -> float:
    """Seconds until the page is settled (and still is 300 ms later: a rerun may follow a run)."""
    start = time.perf_counter()
    if ready:
        page.wait_for_selector(ready, state="attached", timeout=seconds * 1000)
    page.wait_for_selector(SETTLED, timeout=seconds * 1000)
    settled = time.perf_counter() - start
    page.wait_for_timeout(300)
    if page.locator(SETTLED).count():
        return settled
    page.wait_for_selector(SETTLED, timeout=seconds * 1000)
    return time.perf_counter() - start


def mb(n: int) -> str:
    return f"{n / 2**20:,.0f} MB"


def session_url(k: int) -> tuple[str, int, str]:
    hidden, preset = 8 + 3 * k, PRESETS[k % len(PRESETS)]
    cells = ",".join(CELLS[j % len(CELLS)] for j in range(k % 3 + 1 + k % 2))
    return f"/?preset={preset}&len={20 + k}&hidden={hidden}&cells={cells}&seed={k}", hidden, preset


def run_sessions(browser, url: str, count: int, memory: MemoryWatch) -> bool:
    contexts = [browser.new_context(viewport={"width": 1280, "height": 800}) for _ in range(count)]
    pages = [c.new_page() for c in contexts]
    wanted = [session_url(k) for k in range(count)]
    start = time.perf_counter()
    for page, (path, _, _) in zip(pages, wanted, strict=True):
        page.goto(url + path, wait_until="commit")
    for page in pages:
        settle(page, ready=HIDDEN_SIZE)
    opened = time.perf_counter() - start
    second = []
    for page in pages:  # change one setting in each: a bigger hidden size, through the sidebar
        box = page.locator(HIDDEN_SIZE)
        box.fill(str(int(box.input_value()) + 1))
        start = time.perf_counter()
        box.press("Enter")
        try:  # the rerun starts a moment after Enter; a settle before it would measure nothing
            page.wait_for_selector(RUNNING, timeout=5000)
        except PlaywrightTimeout:
            pass
        settle(page)
        second.append(time.perf_counter() - start)
    leaks = 0
    for page, (_, hidden, preset) in zip(pages, wanted, strict=True):
        shown = page.locator(HIDDEN_SIZE).input_value(), page.locator(PRESET).input_value()
        if shown != (str(hidden + 1), preset):
            leaks += 1
            print(f"  a session asked for hidden {hidden + 1} and {preset!r} but shows {shown}")
    print(f"  {count} sessions opened at once: all settled after {opened:.1f} s; then a change in each, "
          f"one by one: settled after median {statistics.median(second):.1f} s, worst {max(second):.1f} s")
    print(f"  server memory peak {mb(memory.peak)}; sessions showing another's configuration: {leaks}")
    for context in contexts:
        context.close()
    return leaks == 0


def run_trainings(browser, url: str, count: int, memory: MemoryWatch) -> None:
    contexts = [browser.new_context(viewport={"width": 1280, "height": 900}) for _ in range(count)]
    pages = [c.new_page() for c in contexts]
    for page in pages:
        page.goto(url + "/training")
        settle(page)
    start = time.perf_counter()
    for page in pages:
        page.get_by_role("button", name="Train", exact=True).click()
    for page in pages:
        page.get_by_text("Trained 600 of 600 steps").wait_for(timeout=600_000)
    print(f"  {count} default trainings at once: all done in {time.perf_counter() - start:.0f} s; "
          f"server memory peak {mb(memory.peak)}")
    for context in contexts:
        context.close()


def run_largest(browser, url: str, count: int, memory: MemoryWatch) -> None:
    contexts = [browser.new_context(viewport={"width": 1280, "height": 900}) for _ in range(count)]
    pages = [c.new_page() for c in contexts]
    start = time.perf_counter()
    for page in pages:
        page.goto(url + LARGEST, wait_until="commit")
    times = [settle(p, 600) for p in pages]
    refused = sum(p.get_by_text("Cannot trace this input").count() > 0 for p in pages)
    print(f"  largest view from {count} sessions: settled in {max(times):.0f} s (all within "
          f"{time.perf_counter() - start:.0f} s), refused {refused}; server memory peak {mb(memory.peak)}")
    for context in contexts:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--trainings", type=int, default=3)
    parser.add_argument("--largest", type=int, default=3)
    parser.add_argument("--idle", type=float, default=30.0, help="seconds before the view cache evicts")
    args = parser.parse_args()
    os.environ["LSTMVIZ_CACHE_IDLE_SECONDS"] = str(args.idle)

    with streamlit_server() as url, sync_playwright() as playwright:
        from browser_support import last_server_pid

        memory = MemoryWatch(last_server_pid())
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        print(f"server at start: {mb(memory.reset())}")
        ok = run_sessions(browser, url, args.sessions, memory)
        print(f"  retained: {mb(memory.reset())}")
        run_trainings(browser, url, args.trainings, memory)
        print(f"  retained: {mb(memory.reset())}")
        run_largest(browser, url, args.largest, memory)
        print(f"  retained right after: {mb(memory.reset())}")
        time.sleep(args.idle + 40)
        print(f"  retained once the cache evicted ({args.idle:g} s idle): {mb(memory.rss())}")
        browser.close()
        memory.stop()
    print("no cross-session leak" if ok else "CROSS-SESSION LEAK")


if __name__ == "__main__":
    main()
