"""The devices this server measures on, as the web workers and the measuring process both see them."""

import platform

import torch

from ..schemas import Device
from .process import measuring_cores

# The thread count the server measures with unless a request asks (one per measuring core), and
# the most a request may ask for (the measuring process runs on those cores only).
DEFAULT_THREADS = MAX_THREADS = len(measuring_cores())


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "CPU"


def _find_devices() -> tuple[Device, ...]:
    found = [Device(name="cpu", label=f"{_cpu_model()}, {DEFAULT_THREADS} threads", threads=DEFAULT_THREADS,
                    max_threads=MAX_THREADS)]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            found.append(Device(name=f"cuda:{i}", label=f"{props.name}, {props.total_memory / 2**30:.0f} GiB",
                                memory=props.total_memory))
    return tuple(found)


_DEVICES = _find_devices()  # fixed for the life of the process


def devices() -> list[Device]:
    """What this server can measure on: `cpu` always, `cuda:N` for every visible GPU."""
    return list(_DEVICES)


def device_label(device: str) -> str:
    return next(d.label for d in _DEVICES if d.name == device)
