"""Resolve a block request, build the block, analyse it, and keep analyses in a bounded cache."""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

import torch
from pydantic import BaseModel
from torch import nn

from ..analysis.graph import Tally, analyse_graph, diagram, tally
from ..analysis.meta import on_meta
from ..analysis.reparam import deploy
from ..blocks.errors import BlockConfigError
from ..blocks.layers import seed_weights
from ..blocks.shuffle import inverse_permutation, shuffle_permutation
from ..cache import BoundedCache
from ..config import get_settings
from ..errors import InvalidParameter
from ..lessons import LESSONS, Reference
from ..registry import BlockConfig, get_spec
from ..schemas import Analysis, ConfigValue, Lesson, LessonReference, ShufflePermutation
from .limits import check_memory

M = TypeVar("M", bound=BaseModel)


def resolve(kind: str, values: Mapping[str, ConfigValue | None]) -> BlockConfig:
    """The full config of `kind` at these request values: defaults filled in, every value checked
    (404 for an unknown kind, 422 naming a bad parameter)."""
    return get_spec(kind).resolve(values)


def construct(config: BlockConfig, device) -> nn.Module:
    """The block in eval mode on `device` ("meta": shapes only), its config errors as 422s."""
    try:
        with on_meta() if device == "meta" else torch.device(device):
            module = config.spec.build(config)
    except BlockConfigError as exc:
        raise InvalidParameter(exc.param, exc.message, config.get(exc.param)) from None
    return module.eval()


def build(config: BlockConfig, device: str | torch.device = "cpu") -> nn.Module:
    """A real, seeded block in eval mode (after the config has passed `analyse`'s checks)."""
    module = seed_weights(construct(config, "cpu"), config["seed"])
    return module.to(device)


def tally_config(config: BlockConfig, module: nn.Module | None = None) -> Tally:
    """A block's ops and counts without its diagram (what a sweep needs), on the meta device
    (`module`: the block, when it is built already, on the meta device).

    Refused (422) when measuring the block op by op would need more memory than a job may take.
    """
    if module is None:
        module = construct(config, "meta")
    try:
        counted = tally(module, config.input_shape)
    except RuntimeError as exc:  # a shape PyTorch refuses (e.g. a kernel larger than the input)
        message = f"the block cannot run on this input: {exc}".split("\n")[0]
        raise InvalidParameter("height", message, config["height"]) from None
    check_memory(counted, "measuring this block op by op", *config.size_param, every_activation=True)
    return counted


def analyse_config(config: BlockConfig) -> Analysis:
    """The analysis of a block, computed on the meta device: exact shapes and counts, no memory,
    with its kind's lesson filled in.

    Refused (422) when measuring the block op by op would need more memory than a job may take.
    """
    analysis = Analysis(kind=config.kind, config=config.as_dict(), **dict(diagram(tally_config(config))))
    return analysis.model_copy(update={"lesson": lesson(config, analysis)})


def lesson(config: BlockConfig, analysis: Analysis) -> Lesson | None:
    """The kind's lesson at this configuration, against its reference (the same block at g = 1, a
    standard convolution, its deploy-time form), or describing the block alone where the reference
    cannot be built here."""
    spec = LESSONS.get(config.kind)
    if spec is None:
        return None
    ref = spec.reference(config)
    against = None
    if ref is not None:
        try:
            against = reference_analysis(config, analysis, ref)
        except InvalidParameter:  # over a limit of this server: the block alone
            ref = None
    reference = None if against is None else LessonReference(
        label=ref.label, config=None if ref.deployed else ref.config.as_dict(), same=against is analysis,
        totals=against.totals)
    return Lesson(claim=spec.claim, source=spec.source, sentences=spec.sentences(analysis, against, config),
                  reference=reference)


def reference_analysis(config: BlockConfig, analysis: Analysis, ref: Reference) -> Analysis:
    """What a lesson compares with, kept (a class moving a slider shares one g = 1 block, one
    standard convolution, one deploy-time form per configuration)."""
    if not ref.deployed and ref.config == config:
        return analysis
    if not ref.deployed:
        cached = _analyses.get(ref.config)
        if cached is not None:
            return cached.data
    of = config if ref.deployed else ref.config
    return _references.get_or_compute((of, ref.deployed), lambda: _reference(of, ref.deployed))


def _reference(config: BlockConfig, deployed: bool) -> Analysis:
    if deployed:  # the block's deploy-time form, folded on the meta device
        module, _ = deploy(construct(config, "meta"))
        return Analysis(kind=config.kind, config=config.as_dict(),
                        **dict(analyse_graph(module, config.input_shape)))
    # without its own lesson: references may point at each other (use_se on and off)
    return Analysis(kind=config.kind, config=config.as_dict(), **dict(diagram(tally_config(config))))


# The analyses lessons compare with, without lessons of their own (kept apart from the analyses
# readers look at, so that a reference never evicts one).
_references: BoundedCache[tuple, Analysis] = BoundedCache("lesson references", "analysis_cache")


@dataclass(frozen=True)
class Cached(Generic[M]):
    """A JSON answer kept for re-use: the model, its serialised body and the body's ETag."""
    data: M
    body: bytes
    etag: str

    @classmethod
    def of(cls, data: M) -> "Cached[M]":
        body = data.model_dump_json().encode()
        return cls(data, body, '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"')


_analyses: BoundedCache[BlockConfig, Cached[Analysis]] = BoundedCache("analyses", "analysis_cache")


def analyse(kind: str, values: Mapping[str, ConfigValue | None]) -> Cached[Analysis]:
    """The analysis of `kind` for these query values (cached, read-only)."""
    return analyse_resolved(resolve(kind, values))


def analyse_resolved(config: BlockConfig) -> Cached[Analysis]:
    """`analyse` for a config that `resolve` has already filled in and checked."""
    return _analyses.get_or_compute(config, lambda: Cached.of(analyse_config(config)))


def shuffle(channels: int, groups: int) -> ShufflePermutation:
    limit = get_settings().max_channels
    for name, value in (("channels", channels), ("groups", groups)):
        if value > limit:
            raise InvalidParameter(name, f"must be at most {limit} on this server", value)
    if channels % groups:
        raise InvalidParameter("groups", f"groups={groups} must divide channels={channels}", groups)
    perm = shuffle_permutation(channels, groups)
    return ShufflePermutation(channels=channels, groups=groups, permutation=perm,
                              inverse=inverse_permutation(perm))
