"""/api/compare: two blocks (or two whole networks) side by side, and /api/compare/presets: the course's
comparisons. Each side's parameters carry its prefix (`a.in_channels`, `b.groups`), each documented
with the loosest bounds of the kinds that take it; the service checks the kind's own and names the
side in every refusal."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import Field, create_model
from starlette.concurrency import run_in_threadpool

from ..registry import BLOCKS
from ..schemas import ComparePresetInfo, Comparison
from ..service import compare as service
from .caching import cache_control, cacheable
from .disconnect import unless_disconnected
from .query import TimingOptions, union_model

SIDE_HELP = ("The {side} side: a block kind of /api/blocks (e.g. `conv`), or `network:NAME` for a whole "
             "network of /api/networks (e.g. `network:mobilenet_v2`).")


FORM_HELP = ("`deployed`: the block with its BatchNorms folded and its branches merged (kinds with a "
             "reparameterization).")


def _sides_model():
    """One query model for both sides: every parameter of any kind (and a network's size), once per
    side with its prefix, optional."""
    every = union_model("compare_side", BLOCKS.values())
    fields = {}
    for side, default in zip(service.SIDES, service.DEFAULT_KINDS, strict=True):
        help = SIDE_HELP.format(side=side) + f" Default: `{default}`."
        fields[side] = (Annotated[str, Field(alias=side, description=help)], default)
        for name, info in every.model_fields.items():
            aliased = Field(None, alias=f"{side}.{name}", description=info.description,
                            json_schema_extra=info.json_schema_extra)
            # the bounds, then the digits-only check (as query.py orders them)
            fields[f"{side}_{name}"] = (Annotated[info.annotation, aliased, *info.metadata], None)
        fields[f"{side}_form"] = (Literal["train", "deployed"] | None, Field(
            None, alias=f"{side}.form", description=FORM_HELP))
    return create_model("compare_query", **fields)


class CompareOptions(TimingOptions):
    """The measurement parameters (as /api/blocks/{kind}/latency takes them) are used only with measure."""
    measure: bool = Field(False, description="Also time both sides on this server, in one job, alternating "
                                             "round by round (the answer is then not cacheable).")


def sides_dependency():
    model = _sides_model()

    def sides(query: Annotated[model, Query()]) -> tuple[dict, dict]:
        raw = query.model_dump()
        kinds = {s: raw[s] for s in service.SIDES}
        values = {s: {k.split("_", 1)[1]: v for k, v in raw.items() if k.startswith(f"{s}_")}
                  for s in service.SIDES}
        return kinds, values

    return sides


def routes() -> APIRouter:
    """Built when the app is (the bounds documented are the settings in force)."""
    built = APIRouter()
    Sides = Annotated[tuple, Depends(sides_dependency())]

    @built.get("/api/compare", tags=["compare"], response_model=Comparison,
               summary="Two blocks or two networks side by side: totals, nodes paired, latency in one job",
               description="`a` and `b` name the two sides; each side's parameters carry its prefix "
                           "(`a.in_channels=64`). The answer holds both analyses in full, every total as "
                           "`{a, b, delta, ratio}` (delta = b - a, ratio = a / b), and the nodes paired by "
                           "id, then by op in data-flow order. With `measure=true` both sides are timed by "
                           "the measuring process in one job, in alternating rounds: `latency.ratio` is a's "
                           "median over b's with its 95% interval. A bad value answers 422 naming the side "
                           "and the parameter (`a.groups`).")
    async def compare(request: Request, response: Response, sides: Sides,
                      options: Annotated[CompareOptions, Query()]):
        kinds, values = sides
        if not options.measure:
            result = await run_in_threadpool(service.compare, kinds, values)
            return cacheable(result.body, result.etag, request)
        response.headers["Cache-Control"] = cache_control(now=True)  # this machine at this moment
        return await unless_disconnected(request, lambda cancel: service.measure(
            kinds, values, device=options.device, threads=options.threads, warmup=options.warmup,
            repeats=options.repeats, fresh=options.fresh, cancel=cancel))

    @built.get("/api/compare/presets", tags=["compare"], summary="The course's comparisons, one click each")
    def presets(response: Response) -> list[ComparePresetInfo]:
        response.headers["Cache-Control"] = cache_control()
        return service.preset_infos()

    return built
