"""What jobs answer: typed records, the same models the service and the responses use."""

from typing import Any, Self

from pydantic import Field

from ..schemas import DeviceCeilings, KernelView, Measurement, Model, QuantProfile, QuantTiming, Speedup


class JobResult(Model):
    """A job's answer, as cached by the measuring process."""

    def as_cached(self) -> Self:
        """This answer served again from the cache (figures say so: `cached`)."""
        return self


class TimingResult(JobResult):
    """Each form's measurement; with two forms timed in rounds, the first's median over the second's."""
    forms: dict[str, Measurement]
    ratio: Speedup | None = None

    def as_cached(self) -> Self:
        return self.model_copy(update={"forms": {name: m.model_copy(update={"cached": True})
                                                 for name, m in self.forms.items()}})


class EquivalenceResult(JobResult):
    """Both forms of a module run on one seeded input: how far their outputs differ, what was folded
    into what, and (RepVGG's blocks) the merged kernel."""
    max_abs_diff: float
    max_rel_diff: float
    fused: list[str]
    kernel: KernelView | None = None


class OnnxFile(JobResult):
    """An exported ONNX file."""
    filename: str
    content: bytes


class QuantizedResult(JobResult):
    """The int8 lab's report (`blockscope.analysis.quantization`), and with `measure` every form timed
    in rounds (`samples`: each form's end-to-end samples, for the intervals of their ratios) and
    then profiled node by node (`profiles`, by the same names; a block's forms only)."""
    report: dict[str, Any]
    forms: dict[str, QuantTiming] = Field(default_factory=dict)
    samples: dict[str, list[float]] = Field(default_factory=dict)
    profiles: dict[str, QuantProfile] = Field(default_factory=dict)

    def as_cached(self) -> Self:
        return self.model_copy(update={"forms": {name: t.model_copy(update={"cached": True})
                                                 for name, t in self.forms.items()}})


class CeilingsResult(JobResult):
    """A device's ceilings at one thread count (`blockscope.measuring.ceilings`)."""
    ceilings: DeviceCeilings

    def as_cached(self) -> Self:
        from .ceilings import with_age  # its age is now's, whenever it was cached
        return self.model_copy(update={"ceilings": with_age(self.ceilings)})
