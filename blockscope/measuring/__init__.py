"""Everything that runs real tensors goes through here, to the one measuring process of the machine
(`process`), or with `measurer=inline` to a queue inside this process (`core`)."""

import threading

from ..config import get_settings
from .jobs import Job
from .results import JobResult


def submit(job: Job, *, fresh: bool = False, cancel: threading.Event | None = None) -> JobResult:
    """The result of `job`, run (or cached, or shared) by the measuring queue."""
    if get_settings().measurer == "inline":
        from .core import inline_core
        return inline_core().submit(job, fresh=fresh, cancel=cancel)
    from . import process
    return process.submit(job, fresh=fresh, cancel=cancel)


def state() -> dict:
    """What the measuring queue holds now (jobs and waiting requests per device, its process id)."""
    if get_settings().measurer == "inline":
        from .core import inline_core
        return inline_core().state()
    from . import process
    return process.state()
