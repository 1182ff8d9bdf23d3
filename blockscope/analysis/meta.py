"""Build modules on the meta device, fast: only shapes are kept there, so initialising weights is skipped.

A meta tensor holds no values, yet `nn.Conv2d(...)` still runs its Kaiming initialisation through
PyTorch's dispatch (about two thirds of its construction time); a slider's sweep builds dozens of
blocks this way. Within `on_meta()`, factory functions without a device make meta tensors (as
under `torch.device("meta")`, though `torch.get_default_device()` still answers the CPU), and every
initialiser called on a meta tensor returns the tensor untouched. Blocks stay plain PyTorch
modules: they are not told which device they are on.
"""

import contextlib
from collections.abc import Iterator

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

# What initialising a layer reaches: the torch.nn.init functions that hand themselves to a mode
# whole (others, such as xavier_uniform_, end in uniform_ or normal_), and the in-place tensor
# methods that they, reset_parameters and reset_running_stats call.
_INITIALISERS = frozenset({
    nn.init.uniform_, nn.init.normal_, nn.init.constant_, nn.init.kaiming_uniform_,
    torch.Tensor.uniform_, torch.Tensor.normal_, torch.Tensor.fill_, torch.Tensor.zero_,
})


try:  # the factory functions torch.device("meta") redirects; private, so looked up with care
    from torch.utils._device import _device_constructors
except ImportError:  # pragma: no cover - another PyTorch: nest torch.device("meta") instead
    _device_constructors = None


class _MetaBuild(TorchFunctionMode):
    """One mode for both jobs (each mode a tensor op passes through costs a Python call): factory
    functions without a device make meta tensors, as under torch.device("meta"), and an initialiser
    called on a meta tensor answers with the tensor itself (it has no values)."""

    def __init__(self, constructors):
        super().__init__()
        self.constructors = constructors

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in _INITIALISERS:
            # torch.nn.init's functions pass the tensor by keyword, the tensor methods as self
            tensor = args[0] if args else kwargs.get("tensor")
            if isinstance(tensor, torch.Tensor) and tensor.is_meta:
                return tensor
        elif func in self.constructors and kwargs.get("device") is None:
            kwargs["device"] = "meta"
        return func(*args, **kwargs)


@contextlib.contextmanager
def on_meta() -> Iterator[None]:
    """Within this block, modules are built on the meta device without initialising their weights.

    Modes are per thread: a real block built by another thread meanwhile is initialised as usual.
    """
    if _device_constructors is None:
        with torch.device("meta"), _MetaBuild(frozenset()):
            yield
    else:
        with _MetaBuild(_device_constructors()):
            yield
