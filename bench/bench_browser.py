"""What a person waits for, measured in Debian's chromium (not part of CI).

    .venv/bin/python bench/bench_browser.py             # 5 runs of each interaction
    .venv/bin/python bench/bench_browser.py --runs 3

For lstmviz (``streamlit run app.py``) and, in the same run, a minimal Streamlit app with the same
interactions (``bench/floor/app.py``: the floor any Streamlit app pays), it prints the median of:

- cold start: a fresh server's first page load to the first chart drawn (target ≤ 3 s);
- step latency: a click on the stepper's Previous (the click event, i.e. the button's release, as
  Interaction to Next Paint counts it) until the frame that shows
  the new step has been rendered (a task queued from that frame's requestAnimationFrame runs after
  its rendering) (target ≤ 50 ms; lstmviz only: the floor has no in-browser stepping);
- page switch: a click in the sidebar navigation to the page settled, its charts drawn (target ≤ 600 ms);
- typing: a sequence typed in the sidebar box (Ctrl+Enter) to the page settled (target ≤ 500 ms).

Settled = Streamlit's script state is "notRunning" and every chart on the page has drawn.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from browser_support import CHROMIUM, CHROMIUM_ARGS, streamlit_server  # noqa: E402

SETTLED = '[data-testid="stApp"][data-test-script-state="notRunning"]'
DRAWN = """() => { const charts = document.querySelectorAll('[data-testid="stPlotlyChart"]');
  return charts.length > 0 && [...charts].every(c => c.querySelector('.main-svg')); }"""


def settle(page, since: float) -> float:
    page.wait_for_selector(SETTLED, timeout=120_000)
    page.wait_for_function(DRAWN, timeout=120_000)
    return time.perf_counter() - since


def cold_start(browser, script: str, path: str) -> float:
    with streamlit_server(script) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        start = time.perf_counter()
        page.goto(url + path)
        page.wait_for_function(DRAWN, timeout=120_000)
        seconds = time.perf_counter() - start
        page.close()
        return seconds


def page_switch(page, names: tuple[str, str], runs: int) -> list[float]:
    times = []
    for k in range(runs):
        link = page.locator('[data-testid="stSidebarNav"]').get_by_text(names[k % 2], exact=True)
        start = time.perf_counter()
        link.click()
        page.wait_for_timeout(50)  # the click starts a run before "settled" can be read
        times.append(settle(page, start))
    return times


def typing(page, runs: int) -> list[float]:
    times = []
    box = page.locator('[data-testid="stSidebar"] [data-testid="stTextArea"] textarea')
    for k in range(runs):
        box.fill(", ".join(str((k + j) % 3) for j in range(12)))
        start = time.perf_counter()
        box.press("Control+Enter")
        page.wait_for_timeout(50)
        times.append(settle(page, start))
    return times


def step_latency(page, clicks: int) -> list[float]:
    root = ("document.querySelector('[data-testid=\"stBidiComponentIsolated\"]')"
            ".shadowRoot.querySelector('.stp')")
    page.evaluate(
        f"""() => {{ const root = {root}; window.__lat = []; window.__down = 0;
        root.querySelector('button[data-act=prev]').addEventListener('click',
          (e) => {{ window.__down = e.timeStamp; }}, {{capture: true}});
        new MutationObserver(() => requestAnimationFrame(() => setTimeout(
          () => window.__lat.push(performance.now() - window.__down))))
          .observe(root, {{attributes: true, attributeFilter: ['data-step']}}); }}"""
    )
    box = page.locator(".stp button[data-act='prev']").bounding_box()
    for i in range(clicks):
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_function(f"() => window.__lat.length >= {i + 1}")
        page.wait_for_timeout(80)
    return [value / 1000 for value in page.evaluate("() => window.__lat")]


def report(name: str, values: list[float], target: float | None) -> None:
    median = statistics.median(values)
    goal = f" (target ≤ {target * 1000:.0f} ms)" if target else ""
    print(f"  {name:<32} median {median * 1000:7.0f} ms over {len(values)}{goal}; all: "
          + ", ".join(f"{v * 1000:.0f}" for v in values))


def measure(browser, script: str, first_path: str, pages: tuple[str, str], runs: int, stepper: bool) -> None:
    report("cold start to first chart", [cold_start(browser, script, first_path) for _ in range(runs)], 3.0)
    with streamlit_server(script) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(url + first_path)
        settle(page, time.perf_counter())
        report("page switch to settled", page_switch(page, pages, runs * 2), 0.6)
        report("typing a sequence to settled", typing(page, runs * 2), 0.5)
        if stepper:
            page.goto(url + "/step_through?step=29")
            settle(page, time.perf_counter())
            page.wait_for_selector(".stp button[data-act='prev']")
            report("step click to new frame", step_latency(page, 20), 0.05)
        page.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        print("lstmviz (streamlit run app.py):")
        measure(browser, "app.py", "/", ("Gradients", "Why gates"), args.runs, stepper=True)
        print("floor: a minimal Streamlit app (bench/floor/app.py):")
        measure(browser, "bench/floor/app.py", "/", ("Other", "Chart"), args.runs, stepper=False)
        browser.close()


if __name__ == "__main__":
    main()
