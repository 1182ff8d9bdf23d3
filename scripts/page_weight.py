"""What a cold visit to each page costs: bytes on the wire (gzip as served, headers included) and requests.

    .venv/bin/python scripts/page_weight.py            # the Plotly bundle this checkout serves
    .venv/bin/python scripts/page_weight.py --compare  # and beside it, the full bundle (every trace type)
    .venv/bin/python scripts/page_weight.py --budget 600   # exit 1 if the explorer is over 600 KiB

Starts the app with uvicorn on a free 127.0.0.1 port (one server per bundle), opens each page in a
fresh headless Chromium context (an empty cache), waits until the network has been quiet for half a
second and the charts the page draws at first are drawn, and sums what Chromium received
(`encodedDataLength`). Plotly is counted when the page fetches it, as a reader's browser would.
"""

import argparse
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
PAGES = ["/", "/blocks/group_conv", "/guidelines", "/quantization", "/networks",
         "/networks/shufflenet_v2_x1_0"]
EXPLORER = "/blocks/group_conv"

# The server, in a process of its own: "installed" serves the bundle the app finds (web.PLOTLY),
# "full" the full bundle from the Python package, as if npm's were not installed.
SERVE = """
import sys
import uvicorn
from blockscope.api import web
if sys.argv[2] == "full":
    web.PLOTLY = web.plotly_bundle(places=())
from blockscope.main import app
print(web.PLOTLY.url, flush=True)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", lifespan="off")
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """The app on 127.0.0.1, serving the given bundle; stopped on exit."""

    def __init__(self, bundle: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([sys.executable, "-c", SERVE, str(self.port), bundle], cwd=ROOT,
                                     stdout=subprocess.PIPE, text=True)
        self.plotly_url = self.proc.stdout.readline().strip()
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2):
                    return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise SystemExit(f"the server ({bundle} bundle) did not start") from None
                time.sleep(0.2)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def weigh(browser, url: str) -> tuple[int, int, bool]:
    """Bytes received, requests made, and whether Plotly was among them, for one cold visit."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    received: dict[str, int] = {}
    urls: dict[str, str] = {}
    cdp.on("Network.requestWillBeSent", lambda e: urls.setdefault(e["requestId"], e["request"]["url"]))
    cdp.on("Network.loadingFinished", lambda e: received.__setitem__(e["requestId"], e["encodedDataLength"]))
    cdp.on("Network.loadingFailed", lambda e: received.setdefault(e["requestId"], 0))
    page.goto(url, wait_until="networkidle", timeout=60_000)
    # a chart the page draws at first is drawn once Plotly has run: wait for it, then for quiet
    if any("/vendor/plotly" in u for u in urls.values()):
        page.wait_for_function("typeof window.Plotly !== 'undefined'", timeout=60_000)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)
    plotly = any("/vendor/plotly" in u for u in urls.values())
    total, count = sum(received.values()), len(urls)
    context.close()
    return total, count, plotly


def kib(n: int) -> str:
    return f"{n / 1024:,.0f} KiB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", action="store_true", help="also measure with the full Plotly bundle")
    parser.add_argument("--budget", type=float, metavar="KIB",
                        help=f"exit 1 if a cold {EXPLORER} transfers more than this many KiB")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    bundles = ["installed", "full"] if args.compare else ["installed"]
    results: dict[str, dict[str, tuple[int, int, bool]]] = {}
    served: dict[str, str] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            for bundle in bundles:
                with Server(bundle) as server:
                    served[bundle] = server.plotly_url
                    results[bundle] = {path: weigh(browser, server.url + path) for path in PAGES}
        finally:
            browser.close()

    for bundle in bundles:
        print(f"{bundle}: Plotly at {served[bundle]}")
    header = f"{'page':32} {'transferred':>12} {'requests':>9}  Plotly"
    if args.compare:
        header += f"   {'full bundle':>12} {'requests':>9}"
    print(header)
    for path in PAGES:
        size, count, plotly = results["installed"][path]
        line = f"{path:32} {kib(size):>12} {count:>9}  {'yes' if plotly else 'no':6}"
        if args.compare:
            full, full_count, _ = results["full"][path]
            line += f" {kib(full):>12} {full_count:>9}"
        print(line)
    if args.budget is not None:
        size = results["installed"][EXPLORER][0]
        if size > args.budget * 1024:
            print(f"{EXPLORER}: {kib(size)}, over the budget of {args.budget:,.0f} KiB", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
