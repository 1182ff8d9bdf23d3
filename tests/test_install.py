"""An installed (non-editable) BlockScope serves its pages: the templates and static files ship in the
package, as `pip install .` (the Dockerfile's install) leaves them.

The project is built as a wheel from a copy of its sources and installed into a fresh virtual
environment with nothing else in it; the dependencies already installed beside these tests are
then made visible to it with a `.pth` file (after the install, so that pip never sees them), and
the server is started from a folder outside the repository.
"""

import contextlib
import os
import re
import shutil
import signal
import site
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MARKER_FILE = Path("static") / "js" / "api.js"  # in the package; a marker is appended in the copy
# building and installing the wheel may take its commands' own time limits, 360 s in all
pytestmark = [pytest.mark.process, pytest.mark.timeout(600)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(*args, cwd: Path, timeout: float = 60) -> str:
    result = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(map(str, args))}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=20) as answer:
        return answer.status, answer.read()


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(the venv's python, a folder outside the repository, the marker only the installed copy has)"""
    base = tmp_path_factory.mktemp("install")
    source = base / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "blockscope", source / "blockscope",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    marker = f"// installed copy {uuid.uuid4().hex}\n"
    with (source / "blockscope" / MARKER_FILE).open("a") as f:
        f.write(marker)

    wheels = base / "wheels"
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
         "-w", wheels, source, cwd=base, timeout=120)
    (wheel,) = wheels.glob("blockscope-*.whl")
    venv = base / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=base)
    python = venv / "bin" / "python"
    _run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index", wheel,
         cwd=base, timeout=120)
    shutil.rmtree(source)  # nothing left to import but the installed copy

    # the dependencies (torch, fastapi, uvicorn...) from the environment running these tests
    purelib = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                   cwd=base).strip()
    ours = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (Path(purelib) / "dependencies.pth").write_text("".join(f"{p}\n" for p in ours))

    outside = base / "elsewhere"
    outside.mkdir()
    return python, outside, marker, Path(purelib)


def test_the_installed_package_is_the_one_imported(installed):
    python, outside, _, purelib = installed
    where = _run(python, "-c", "import blockscope; print(blockscope.__file__)", cwd=outside).strip()
    assert Path(where).resolve().is_relative_to(purelib.resolve()), where
    assert not Path(where).resolve().is_relative_to(ROOT)


def test_the_installed_package_serves_its_pages(installed, tmp_path):
    python, outside, marker, _ = installed
    port = _free_port()
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLOCKSCOPE_")}
    env.update(BLOCKSCOPE_RUNTIME_DIR=str(runtime), PYTHONDONTWRITEBYTECODE="1")
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen([str(python), "-m", "uvicorn", "blockscope.main:app", "--host", "127.0.0.1",
                                   "--port", str(port), "--no-server-header"],
                                  cwd=outside, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 45
        while True:
            if server.poll() is not None:
                pytest.fail(f"the server exited with {server.returncode}:\n{log.read_text()[-3000:]}")
            with contextlib.suppress(OSError):
                if _get(url + "/healthz")[0] == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"the server did not start within 45 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)

        status, gallery = _get(url + "/")
        assert status == 200 and b"</html>" in gallery
        status, page = _get(url + "/blocks/group_conv")
        assert status == 200
        scripts = re.findall(r'<script type="module" src="([^"]+\.js)"', page.decode())
        assert scripts, "the block page loads no script"
        for src in scripts:
            assert _get(url + src)[0] == 200, src
        # the static files come from the installed copy (the repository's have no marker)
        versioned = re.search(r'src="(/static/(?:v/[^/]+/)?)js/', page.decode()).group(1)
        status, api_js = _get(f"{url}{versioned}js/api.js")
        assert status == 200 and api_js.decode().endswith(marker)
        status, plotly = _get(url + "/vendor/plotly.min.js")
        assert status == 200 and len(plotly) > 100_000
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=5)
