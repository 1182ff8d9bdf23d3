"""/api/networks...: whole networks as their papers' tables, their deployed forms and ONNX files; and the
/networks pages."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ..schemas import NetworkAnalysis, NetworkReparam, NetworkSummary
from ..service import networks as service
from .caching import cache_control, cacheable
from .disconnect import unless_disconnected
from .files import ONNX_ROUTE, OnnxForm, onnx_response
from .query import DIGITS, TimingOptions
from .web import page_data, templates

router = APIRouter()

NAMES = ", ".join(service.NAMES)

Name = Annotated[str, Path(description=f"The network: one of {NAMES}.")]


class Size(BaseModel):
    """The input a network is counted (or timed, or exported) at."""
    height: Annotated[int, Field(ge=1, description="Input height (at most the server's spatial limit)."),
                      DIGITS] = 224
    width: Annotated[int, Field(ge=1, description="Input width (at most the server's spatial limit)."),
                     DIGITS] = 224
    batch: Annotated[int, Field(ge=1, description="Batch size (at most the server's batch limit)."),
                     DIGITS] = 1


SizeQuery = Annotated[Size, Query()]
# The measurement parameters are used only with measure=true (as /api/blocks/{kind}/latency takes them).
TimingQuery = Annotated[TimingOptions, Query()]


@router.get("/api/networks", tags=["networks"], summary="Every whole network, with its totals at 224 x 224")
def list_networks(response: Response) -> list[NetworkSummary]:
    response.headers["Cache-Control"] = cache_control()
    return service.catalog()


@router.get("/api/networks/{name}", tags=["networks"], response_model=NetworkAnalysis,
            summary="A whole network as its paper's table: every row counted and linked to its blocks",
            description="One row per line of the paper's architecture table, with its params, multiply-adds, "
                        "MAC and share of the total, and the units it is built from: each with its counts "
                        "and the `/api/blocks/{kind}` configuration that reproduces them. With "
                        "`measure=true` the network is also timed on this server (end to end, and every "
                        "op alone, summed per row); the answer is then not cacheable.")
async def network(name: Name, request: Request, response: Response, size: SizeQuery, *,
                  measure: Annotated[bool, Query(
                      description="Also measure the network's latency on this server.")] = False,
                  timing: TimingQuery):
    if not measure:
        result = await run_in_threadpool(service.analyse, name, batch=size.batch, height=size.height,
                                         width=size.width)
        return cacheable(result.body, result.etag, request)
    response.headers["Cache-Control"] = cache_control(now=True)  # this machine at this moment
    return await unless_disconnected(request, lambda cancel: service.measure(
        name, batch=size.batch, height=size.height, width=size.width, device=timing.device,
        threads=timing.threads, warmup=timing.warmup, repeats=timing.repeats, fresh=timing.fresh,
        cancel=cancel))


@router.get("/api/networks/{name}/reparam", tags=["networks"],
            summary="Training-time against deployed: totals row by row, and their outputs compared",
            description="The deployed form folds every Conv+BN and merges RepVGG's branches. With "
                        "`equivalence=true` both forms run on a random 1x3x32x32 input with randomised "
                        "BatchNorm statistics (real tensors: bounded, one at a time, cached). With "
                        "`measure=true` both forms are timed end to end in alternating rounds on this "
                        "server; the answer is then not cacheable.")
async def network_reparam(name: Name, request: Request, response: Response, size: SizeQuery, *,
                          equivalence: Annotated[bool, Query(
                              description="Also run both forms on a small random input and compare them.")
                          ] = False, measure: Annotated[bool, Query(
                              description="Also time both forms on this server.")] = False,
                          timing: TimingQuery) -> NetworkReparam:
    result = await unless_disconnected(request, lambda cancel: service.reparam(
        name, batch=size.batch, height=size.height, width=size.width, equivalence=equivalence,
        measure=measure, device=timing.device, threads=timing.threads, warmup=timing.warmup,
        repeats=timing.repeats, fresh=timing.fresh, cancel=cancel))
    response.headers["Cache-Control"] = cache_control(now=measure)
    return result


@router.get("/api/networks/{name}/onnx", tags=["networks"], summary="A whole network as an ONNX file",
            **ONNX_ROUTE)
async def network_onnx(name: Name, request: Request, size: SizeQuery,
                       form: Annotated[OnnxForm, Query()]) -> Response:
    file = await unless_disconnected(request, lambda cancel: service.network_onnx(
        name, batch=size.batch, height=size.height, width=size.width, form=form.form, cancel=cancel))
    return onnx_response(file)


# --- pages -----------------------------------------------------------------------------------------

def _page(request: Request, template: str, context: dict, data: dict, status_code: int = 200) -> HTMLResponse:
    return templates.TemplateResponse(request, template, {**context, "data_json": page_data(data)},
                                      status_code=status_code)


def _index(request: Request, missing: str | None = None) -> HTMLResponse:
    summaries = service.catalog()
    families: dict[str, list] = {}
    for s in summaries:
        families.setdefault(s.family, []).append(s)
    return _page(request, "networks.html", {"families": families, "missing": missing, "embed": False}, {},
                 status_code=404 if missing else 200)


@router.get("/networks", response_class=HTMLResponse, include_in_schema=False)
def networks_page(request: Request):
    return _index(request)


def _network_page(request: Request, name: str, embed: bool) -> HTMLResponse:
    network = service.NETWORKS.get(name)
    if network is None:
        return _index(request, missing=name)
    query = {key: request.query_params.get(key) for key in request.query_params}
    data = {"name": name, "title": network.title, "embed": embed, "query": query,
            "input_size": network.input_size, "others": [{"name": n.name, "title": n.title}
                                                          for n in service.NETWORKS.values()]}
    return _page(request, "network.html", {"network": network, "embed": embed}, data)


@router.get("/networks/{name}", response_class=HTMLResponse, include_in_schema=False)
def network_page(request: Request, name: str):
    return _network_page(request, name, embed=False)


@router.get("/embed/networks/{name}", response_class=HTMLResponse, include_in_schema=False)
def network_embed(request: Request, name: str):
    return _network_page(request, name, embed=True)
