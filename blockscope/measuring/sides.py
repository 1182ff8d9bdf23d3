"""A form timed on an input of its own: one side of a comparison whose input differs in shape from the
other side's (a Timing job hands every form the same input).

The module keeps its input as a buffer and its forward ignores the job's: its ops, traced, are the
form's own ops under their own names (the analysis's node ids), after one attribute read.
"""

from dataclasses import dataclass

import torch
from torch import nn

from .forms import BlockForm, NetworkForm


@dataclass(frozen=True)
class OwnInputForm:
    """`form` run on a seeded random input of `input_shape` (not on the job's input)."""
    form: BlockForm | NetworkForm
    input_shape: tuple[int, ...]
    seed: int

    def build(self) -> nn.Module:
        module = self.form.build()
        x = torch.randn(list(self.input_shape), generator=torch.Generator().manual_seed(self.seed))
        module.register_buffer("own_input", x, persistent=False)  # moves with .to(device)
        cls = type(module)
        # a subclass, not a wrapper: the traced ops keep the paths (node ids) of the analysis
        module.__class__ = type(f"{cls.__name__}OnOwnInput", (cls,),
                                {"forward": lambda self, _: cls.forward(self, self.own_input)})
        return module
