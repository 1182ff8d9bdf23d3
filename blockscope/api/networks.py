"""/api/networks...: whole networks as their papers' tables, their deployed forms and ONNX files; and the
/networks pages."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from ..config import get_settings
from ..schemas import NetworkAnalysis, NetworkReparam, NetworkSummary
from ..service import networks as service
from ..service.export import FORMS, OnnxFile
from .blocks import cacheable
from .disconnect import unless_disconnected
from .latency import NO_STORE
from .query import DIGITS, Device, Fresh, Threads
from .web import page_data, templates

router = APIRouter()

NAMES = ", ".join(service.NAMES)

Name = Annotated[str, Path(description=f"The network: one of {NAMES}.")]
Height = Annotated[int, Query(ge=1, description="Input height (at most the server's spatial limit)."), DIGITS]
Width = Annotated[int, Query(ge=1, description="Input width (at most the server's spatial limit)."), DIGITS]
Batch = Annotated[int, Query(ge=1, description="Batch size (at most the server's batch limit)."), DIGITS]
Form = Annotated[str, Query(description="`train`: the network as trained (BatchNorm, RepVGG's three "
                                        "branches); `deploy`: every Conv+BN folded, RepVGG's branches "
                                        "merged into one 3x3 conv.", json_schema_extra={"enum": list(FORMS)})]
# Used only with measure=true (as /api/blocks/{kind}/latency takes them).
Warmup = Annotated[int | None, Query(ge=0, description="Untimed runs before timing; default adapts."), DIGITS]
Repeats = Annotated[int | None, Query(ge=1, description="Timed runs; default adapts to the network and "
                                                        "the time budget."), DIGITS]


@router.get("/api/networks", tags=["networks"], summary="Every whole network, with its totals at 224 x 224")
def list_networks() -> list[NetworkSummary]:
    return service.catalog()


@router.get("/api/networks/{name}", tags=["networks"], response_model=NetworkAnalysis,
            summary="A whole network as its paper's table: every row counted and linked to its blocks",
            description="One row per line of the paper's architecture table, with its params, multiply-adds, "
                        "MAC and share of the total, and the units it is built from: each with its counts "
                        "and the `/api/blocks/{kind}` configuration that reproduces them. With "
                        "`measure=true` the network is also timed on this server (end to end, and every "
                        "op alone, summed per row); the answer is then not cacheable.")
async def network(name: Name, request: Request, response: Response, height: Height = 224,
                  width: Width = 224, batch: Batch = 1, measure: Annotated[bool, Query(
                      description="Also measure the network's latency on this server.")] = False,
                  device: Device = "cpu", threads: Threads = None, warmup: Warmup = None,
                  repeats: Repeats = None, fresh: Fresh = False):
    if not measure:
        result = await run_in_threadpool(service.analyse, name, batch=batch, height=height, width=width)
        return cacheable(result.body, result.etag, request)
    response.headers["Cache-Control"] = NO_STORE  # latency depends on this machine and this moment
    return await unless_disconnected(request, lambda cancel: service.measure(
        name, batch=batch, height=height, width=width, device=device, threads=threads, warmup=warmup,
        repeats=repeats, fresh=fresh, cancel=cancel))


@router.get("/api/networks/{name}/reparam", tags=["networks"],
            summary="Training-time against deployed: totals row by row, and their outputs compared",
            description="The deployed form folds every Conv+BN and merges RepVGG's branches. With "
                        "`equivalence=true` both forms run on a random 1x3x32x32 input with randomised "
                        "BatchNorm statistics (real tensors: bounded, one at a time, cached). With "
                        "`measure=true` both forms are timed end to end in alternating rounds on this "
                        "server; the answer is then not cacheable.")
async def network_reparam(name: Name, request: Request, response: Response, height: Height = 224,
                          width: Width = 224, batch: Batch = 1, equivalence: Annotated[bool, Query(
                              description="Also run both forms on a small random input and compare them.")
                          ] = False, measure: Annotated[bool, Query(
                              description="Also time both forms on this server.")] = False,
                          device: Device = "cpu", threads: Threads = None, warmup: Warmup = None,
                          repeats: Repeats = None, fresh: Fresh = False) -> NetworkReparam:
    result = await unless_disconnected(request, lambda cancel: service.reparam(
        name, batch=batch, height=height, width=width, equivalence=equivalence, measure=measure,
        device=device, threads=threads, warmup=warmup, repeats=repeats, fresh=fresh, cancel=cancel))
    max_age = get_settings().cache_max_age
    response.headers["Cache-Control"] = NO_STORE if measure else f"public, max-age={max_age}"
    return result


def onnx_response(file: OnnxFile) -> Response:
    return Response(file.content, media_type="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{file.filename}"',
                             "Cache-Control": f"public, max-age={get_settings().cache_max_age}"})


# A file, not JSON: left out of the OpenAPI schema (documented in docs/api.md).
@router.get("/api/networks/{name}/onnx", tags=["networks"], include_in_schema=False)
async def network_onnx(name: Name, request: Request, height: Height = 224, width: Width = 224,
                       batch: Batch = 1, form: Form = "train") -> Response:
    file = await unless_disconnected(request, lambda cancel: service.network_onnx(
        name, batch=batch, height=height, width=width, form=form, cancel=cancel))
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
