"""Shared fixtures for the browser tests: a live server, headless Chromium, console errors, screenshots.

Fixtures (use them by name in any tests/browser/test_*.py):
- `server_url`: base URL of a uvicorn server running the app in a background thread (session scope).
- `browser`: a Playwright Chromium browser (Debian's /usr/bin/chromium, headless; session scope).
- `page`: a fresh page (viewport 1280 x 900) in its own context, closed after the test.
- `console_errors`: list that collects console errors and uncaught page errors of `page`.
- `screenshot(page, name)`: saves test-artifacts/<name>.png and returns its path.
- `quick_measure`: instant, deterministic guideline measurements (each table's rows slower down the table);
  `refused_measure`: every guideline measurement refused with a 422.
"""

import os
import socket
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing: install Debian's 'chromium' package to run the browser tests"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def server_url():
    """The app served by uvicorn on a free 127.0.0.1 port, in a daemon thread."""
    import uvicorn

    from app.main import app

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    yield pg
    context.close()


@pytest.fixture
def console_errors(page):
    """Console errors and uncaught exceptions of `page`, in order (attach before navigating)."""
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(f"console.{msg.type}: {msg.text}")
            if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    return errors


@pytest.fixture(scope="session")
def screenshot():
    """`screenshot(page, name)` saves test-artifacts/<name>.png (full page) and returns the path."""
    ARTIFACTS.mkdir(exist_ok=True)

    def take(pg, name: str, full_page: bool = True) -> Path:
        path = ARTIFACTS / f"{name}.png"
        pg.screenshot(path=str(path), full_page=full_page)
        return path

    return take



def _fake_measured(report: dict) -> dict:
    """`report` (unmeasured) as if measured on "test CPU": each row 1 ms slower than the one before."""
    rows = report["rows"]
    for i, row in enumerate(rows):
        m = 1000.0 * (1 + i)
        row["measured"] = {"median_us": m, "p25_us": m * 0.95, "p75_us": m * 1.05,
                           "batches_per_s": 1e6 / m, "images_per_s": report["batch"] * 1e6 / m,
                           "device": report["device"], "device_label": "test CPU", "threads": 2,
                           "warmup": 1, "repeats": 3, "cached": False, "measured_at": "2026-01-01T00:00:00Z"}
        row["relative_speed"]["measured"] = 1000.0 / m
    report.update(measured=True, device_label="test CPU", threads=2)
    gpu = {r["label"]: r["paper"]["gpu"] for r in rows}
    if None in gpu.values():
        return report
    paper = sorted(gpu, key=lambda label: -gpu[label])
    timing = {r["label"]: r["measured"] for r in rows}
    pairs = [(a, b) for i, a in enumerate(paper) for b in paper[i + 1:]]
    flipped = [{"paper_faster": a, "measured_faster": b,
                "by": timing[a]["median_us"] / timing[b]["median_us"] - 1,
                "within_noise": timing[a]["p25_us"] <= timing[b]["p75_us"]
                and timing[b]["p25_us"] <= timing[a]["p75_us"]}
               for a, b in pairs if timing[a]["median_us"] >= timing[b]["median_us"]]
    report["ordering"] = {"reference": "paper_gpu", "paper": paper, "measured": [r["label"] for r in rows],
                          "pairs": len(pairs), "agreeing_pairs": len(pairs) - len(flipped),
                          "reversed": flipped, "reproduces": not flipped}
    return report


def _is_guideline_measurement(url: str) -> bool:
    return "/api/guidelines/g" in url and "measure=true" in url


@pytest.fixture
def quick_measure(page):
    """Instant, deterministic guideline measurements, answered in the browser: each table's rows slower
    down the table (the counts and the paper's figures come from the server, `measure=false`).
    Installed on `page`; call it with another page or browser context to install it there too."""
    def answer(route):
        response = route.fetch(url=route.request.url.replace("measure=true", "measure=false"))
        route.fulfill(response=response, json=_fake_measured(response.json()))

    def install(target):
        target.route(_is_guideline_measurement, answer)

    install(page)
    return install


@pytest.fixture
def refused_measure(page):
    """Every guideline measurement refused with a 422 that names `batch`, as FastAPI words it."""
    detail = [{"loc": ["query", "batch"], "msg": "too big for this test", "type": "value_error"}]
    page.route(_is_guideline_measurement, lambda route: route.fulfill(status=422, json={"detail": detail}))
