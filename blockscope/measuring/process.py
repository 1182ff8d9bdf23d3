"""The measuring process: one per machine (per runtime folder), whatever the number of web workers.

Web workers send it jobs over a Unix socket (`submit`); the first worker that finds none running
starts it, and it holds a lock file for its lifetime, so a second copy started at the same moment
exits at once. It dies with the worker that started it (Linux: PR_SET_PDEATHSIG), and the next
job any worker sends starts a new one. A worker whose request is abandoned closes its connection,
and the process withdraws the request (and the job, when nobody else waits for it).

    python -m blockscope.measuring.process RUNTIME_DIR SETTINGS_JSON    (started by `submit`, not by hand)
"""

import contextlib
import ctypes
import fcntl
import json
import os
import queue
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Connection, Listener, answer_challenge, deliver_challenge
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import Settings, get_settings, use_settings
from ..errors import Busy, Cancelled, InvalidParameter, MeasurementFailed, MeasurerUnavailable, NotFound
from . import allocator

if TYPE_CHECKING:
    from .jobs import Job
    from .results import JobResult

SOCKET, KEY, LOCK, LOG, ERRORS = "measurer.sock", "measurer.key", "measurer.lock", "measurements.log", \
    "measurer.err"
START_TIMEOUT_S = 60.0
CORES_ENV = "BLOCKSCOPE_MACHINE_CORES"  # handed to the measuring process: the cores before any pinning
# the machine's cores before any pinning: a measuring process started by a web worker that narrowed
# its own affinity is handed them (CORES_ENV), so both sides count the same cores
_MACHINE_CORES = tuple(sorted(int(c) for c in os.environ.get(CORES_ENV, "").split(",") if c)) or (
    tuple(sorted(os.sched_getaffinity(0))) if hasattr(os, "sched_getaffinity") else
    tuple(range(os.cpu_count() or 1)))
_start_lock = threading.Lock()


# --- the web side ----------------------------------------------------------------------------------

def _connect(runtime: Path) -> Connection:
    key = (runtime / KEY).read_bytes()
    return Client(str(runtime / SOCKET), family="AF_UNIX", authkey=key)


def _pdeathsig() -> None:  # in the child, before exec: die with the worker that started us
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _spawn(runtime: Path, settings_json: str) -> None:
    errors = open(runtime / ERRORS, "ab")  # noqa: SIM115 - handed to the child, closed below
    try:
        env = {**os.environ, CORES_ENV: ",".join(map(str, machine_cores()))}
        subprocess.Popen([sys.executable, "-m", "blockscope.measuring.process", str(runtime), settings_json],
                         stdin=subprocess.DEVNULL, stdout=errors, stderr=errors, close_fds=True, env=env,
                         preexec_fn=_pdeathsig if sys.platform.startswith("linux") else None,
                         cwd=Path(__file__).resolve().parents[2])
    finally:
        errors.close()


_launches: "queue.SimpleQueue[tuple[Path, str, threading.Event]]" = queue.SimpleQueue()
_launcher: threading.Thread | None = None


def _launch_forever() -> None:
    while True:
        runtime, settings_json, done = _launches.get()
        try:
            _spawn(runtime, settings_json)
        finally:
            done.set()


def _start(runtime: Path) -> None:
    """Start the measuring process from a thread that lives as long as this process: Linux sends
    PR_SET_PDEATHSIG when the *thread* that started a child ends, and request threads come and go."""
    global _launcher
    if _launcher is None or not _launcher.is_alive():
        _launcher = threading.Thread(target=_launch_forever, name="measurer-launcher", daemon=True)
        _launcher.start()
    done = threading.Event()
    _launches.put((runtime, get_settings().model_dump_json(), done))
    done.wait(10)


def connection() -> Connection:
    """A connection to the measuring process, starting it when none answers."""
    runtime = get_settings().runtime_path()
    try:
        return _connect(runtime)
    except (OSError, EOFError, AuthenticationError):
        pass
    with _start_lock:  # one start per web process at a time; the lock file settles the rest
        try:
            return _connect(runtime)
        except (OSError, EOFError, AuthenticationError):
            _start(runtime)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            time.sleep(0.1)
            try:
                return _connect(runtime)
            except (OSError, EOFError, AuthenticationError):
                continue
    raise MeasurerUnavailable("the measuring process did not start; try again shortly", 5)


def _unavailable() -> MeasurerUnavailable:
    return MeasurerUnavailable("the measuring process stopped and is being restarted; try again in a "
                               "few seconds", 5)


def request(message: tuple, cancel: threading.Event | None = None, poll_s: float = 0.1):
    """Send one message to the measuring process and wait for its answer (closing the connection,
    which withdraws the request, when `cancel` is set first)."""
    conn = connection()
    try:
        try:
            conn.send(message)
            while not conn.poll(poll_s):
                if cancel is not None and cancel.is_set():
                    raise Cancelled
            status, payload = conn.recv()
        except (EOFError, OSError):
            raise _unavailable() from None
    finally:
        conn.close()
    if status == "ok":
        return payload
    raise _error(status, payload)


def _error(status: str, payload) -> Exception:
    if status == "invalid":
        return InvalidParameter(*payload)
    if status == "busy":
        return Busy(*payload)
    if status == "not found":
        return NotFound(payload)
    if status == "cancelled":
        return Cancelled()
    return MeasurementFailed(f"the measurement failed: {payload}")


def submit(job: "Job", *, fresh: bool = False, cancel: threading.Event | None = None) -> "JobResult":
    return request(("submit", job, fresh), cancel)


def state() -> dict:
    return request(("state",))


# --- the measuring process's side --------------------------------------------------------------------

def _answer(conn: Connection, core, message: tuple) -> None:
    if message[0] == "state":
        conn.send(("ok", core.state()))
        return
    _, job, fresh = message
    cancel = threading.Event()
    outcome: list = []

    def work():
        try:
            outcome.append(("ok", core.submit(job, fresh=fresh, cancel=cancel)))
        except InvalidParameter as exc:
            outcome.append(("invalid", (exc.param, exc.message, exc.value)))
        except Busy as exc:
            outcome.append(("busy", (str(exc), exc.retry_after)))
        except NotFound as exc:
            outcome.append(("not found", str(exc)))
        except Cancelled:
            outcome.append(("cancelled", None))
        except Exception as exc:
            outcome.append(("failed", f"{type(exc).__name__}: {exc}"))

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.1)
        try:
            if worker.is_alive() and conn.poll(0):
                conn.recv()  # a worker sends nothing more: any event here is its connection closing
        except (EOFError, OSError):
            cancel.set()  # the request was abandoned
            worker.join()
            return
    conn.send(outcome[0])


HANDSHAKE_TIMEOUT_S = 5.0


def _serve_connection(conn: Connection, core, key: bytes) -> None:
    try:
        # authenticate here, not in the accepting loop: a client that connects and says nothing
        # holds up only its own thread, and for a few seconds at most
        with socket_timeout(conn, HANDSHAKE_TIMEOUT_S):
            deliver_challenge(conn, key)
            answer_challenge(conn, key)
        _answer(conn, core, conn.recv())
    except (EOFError, OSError, AuthenticationError):
        pass
    except Exception as exc:  # a malformed message: say so rather than vanish
        with contextlib.suppress(Exception):
            conn.send(("failed", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


@contextlib.contextmanager
def socket_timeout(conn: Connection, seconds: float):
    """Cut the connection if the block has not finished within `seconds` (a watchdog shuts the
    socket down, which wakes a blocked read; the connection itself stays in blocking mode)."""
    sock = socket.socket(fileno=os.dup(conn.fileno()))
    watchdog = threading.Timer(seconds, _shut, args=(sock,))
    watchdog.daemon = True
    watchdog.start()
    try:
        yield
    finally:
        watchdog.cancel()
        sock.close()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def machine_cores() -> list[int]:
    """Every core this program may use (before any of its processes narrowed its own affinity)."""
    return list(_MACHINE_CORES)


def split_cores(cores: list[int]) -> tuple[list[int], list[int]]:
    """(the measuring process's cores, the web workers' cores): with cores to spare (four or more)
    the upper half measures and the lower half serves; on fewer, both share all of them and
    disturbance is detected instead of avoided."""
    if len(cores) < 4:
        return cores, cores
    return cores[len(cores) // 2:], cores[:len(cores) // 2]


def measuring_cores() -> list[int]:
    return split_cores(machine_cores())[0]


def web_cores() -> list[int] | None:
    """The cores a web worker keeps to itself, when the measuring process has its own."""
    measuring, web = split_cores(machine_cores())
    return None if measuring == web else web


def _pin_measuring_process() -> list[int]:
    """Take the measuring cores (the web worker that started us may have narrowed our affinity to
    its own: widen it again from the machine's cores, which the spawning worker passes down)."""
    mine = split_cores(machine_cores())[0]
    if hasattr(os, "sched_setaffinity"):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, mine)
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else mine


def main(runtime: Path, settings_json: str) -> None:
    with use_settings(**json.loads(settings_json)):
        lock = open(runtime / LOCK, "w")  # noqa: SIM115 - held for the life of the process
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # another measuring process serves this folder
        import torch

        allocator.settle()  # before anything is timed: figures that do not depend on earlier jobs
        torch.set_num_threads(len(_pin_measuring_process()))  # one thread per measuring core
        from .core import MeasuringCore
        core = MeasuringCore(log_path=str(runtime / LOG))
        allocator.freeze_heap()  # after the imports every job needs
        key = secrets.token_bytes(32)
        tmp = runtime / (KEY + ".tmp")  # the key first: a client never meets the socket without it
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
        tmp.replace(runtime / KEY)
        address = runtime / SOCKET
        address.unlink(missing_ok=True)
        listener = Listener(str(address), family="AF_UNIX")  # each connection authenticates in its thread
        while True:
            try:
                conn = listener.accept()
            except (OSError, EOFError):
                continue
            threading.Thread(target=_serve_connection, args=(conn, core, key), daemon=True).start()


if __name__ == "__main__":
    # Ctrl-C in the terminal of a server reaches its whole process group: the measuring process ends
    # with its worker (PR_SET_PDEATHSIG), quietly, not with a traceback in its error log
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    Settings()  # fail early, with the variable's name, on a bad environment
    main(Path(sys.argv[1]), sys.argv[2])
