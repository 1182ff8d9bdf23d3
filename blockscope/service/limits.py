"""The server's memory limit, checked on a graph analysis before anything real is allocated."""

from ..analysis.graph import Tally
from ..analysis.memory import bytes_needed
from ..config import get_settings
from ..errors import InvalidParameter
from ..schemas import Graph


def check_memory(graph: Graph | Tally, job: str, param: str, value, *, every_activation: bool,
                 extra_weight_copies: int = 0) -> None:
    """422 naming `param` when `job` on `graph` would need more memory than one job may take."""
    limit_mb = get_settings().max_memory_mb
    need = bytes_needed(graph, every_activation=every_activation, extra_weight_copies=extra_weight_copies)
    if need > limit_mb * 2**20:
        raise InvalidParameter(
            param, f"{job} needs about {need / 2**20:.0f} MiB for its weights and activations, more than "
                   f"the {limit_mb} MiB this server allows one job; make the batch, the input or the "
                   "channels smaller", value)
