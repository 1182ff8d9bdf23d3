"""This server's ceilings (the roofs of the roofline) as a service: the measuring process measures
them once per device and thread count and keeps them in the runtime folder
(`blockscope.measuring.ceilings`); this checks the request and asks for them."""

import threading

from .. import measuring
from ..config import get_settings
from ..measuring.devices import devices
from ..measuring.jobs import Ceilings
from ..measuring.results import CeilingsResult
from ..schemas import DeviceCeilings, MachineReport


def ceilings(device: str = "cpu", threads: int | None = None, *, refresh: bool = False,
             cancel: threading.Event | None = None) -> DeviceCeilings:
    """The measured ceilings of `device` at `threads` CPU threads (None: the measuring process's own
    count; ignored on a GPU). Stored ones while fresh; `refresh` measures them again now.
    422 for an unknown device or a thread count out of range."""
    from .latency import check_counts, check_device  # latency's roofline imports this module
    device = check_device(device)
    threads = check_counts(threads, None, None, device)
    answer: CeilingsResult = measuring.submit(Ceilings(device=device, threads=threads, refresh=refresh),
                                              fresh=refresh, cancel=cancel)
    return answer.ceilings


def machine_report(device: str | None = None, threads: int | None = None, *, refresh: bool = False,
                   cancel: threading.Event | None = None) -> MachineReport:
    """The ceilings of `device`, or of every device this server measures on (checked before any is
    measured, so a bad parameter costs no device time)."""
    from .latency import check_counts, check_device
    names = [check_device(device)] if device is not None else [d.name for d in devices()]
    for name in names:
        check_counts(threads, None, None, name)
    return MachineReport(machine=get_settings().machine(),
                         devices=[ceilings(name, threads, refresh=refresh, cancel=cancel) for name in names])
