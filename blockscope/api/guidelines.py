"""/api/guidelines/{g1..g4}, the G2 group-count sweep, and the /guidelines page (ShuffleNet V2, Sec. 2)."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import HTMLResponse

from ..guideline_catalogue import MAX_SWEEP_GROUPS, WIDTH_MULTIPLIERS
from ..schemas import G2Sweep, GuidelineReport, GuidelineSummary, LastGuidelineMeasurement
from ..service import guidelines as guideline_lab
from .caching import cache_control
from .disconnect import unless_disconnected
from .query import DIGITS, MeasureOptions, Placement
from .web import page_data, templates

router = APIRouter()

NAMES = ", ".join(guideline_lab.NAMES)

WidthMultiplier = Annotated[int, Query(
    description=f"Channel width multiplier, one of {', '.join(map(str, WIDTH_MULTIPLIERS))} (the paper's x1, "
                "x2, x4 columns); it multiplies every channel count of the experiment.",
    json_schema_extra={"enum": list(WIDTH_MULTIPLIERS)}), DIGITS]
Batch = Annotated[int, Query(ge=1, description="Images per forward pass (at most the server's batch limit)."),
                  DIGITS]
Measure = Annotated[bool, Query(description="Time every row on the device; false returns the counts and "
                                            "the paper's figures only.")]


@router.get("/api/guidelines", tags=["guidelines"], summary="The four ShuffleNet V2 guideline experiments")
def list_guidelines(response: Response) -> list[GuidelineSummary]:
    response.headers["Cache-Control"] = cache_control()
    return guideline_lab.catalog()


@router.get("/api/guidelines/g2/sweep", tags=["guidelines"],
            summary="G2: multiply-adds held fixed while the group count rises, and MAC with it")
def g2_sweep(
    response: Response,
    channels: Annotated[int, Query(ge=1, description="Channels c of the g = 1 network; g groups get about "
                                                     "c sqrt(g)."), DIGITS] = 128,
    groups: Annotated[int, Query(ge=1, le=MAX_SWEEP_GROUPS,
                                 description="The group count to single out as `selected`."), DIGITS] = 1,
    batch: Batch = 1,
) -> G2Sweep:
    response.headers["Cache-Control"] = cache_control()
    return guideline_lab.sweep(channels, batch=batch, groups=groups)


@router.get("/api/guidelines/{name}", tags=["guidelines"],
            summary="One guideline experiment: rows with counts, measured latency and the paper's figures",
            description=f"`name` is one of {NAMES}. Each row gives its config, multiply-adds and MAC of the "
                        "whole ten-unit network, this server's median and quartiles with throughput, the "
                        "paper's GPU (batches/s) and ARM (images/s) figures where published, and speeds "
                        "relative to the first row; `ordering` says whether this machine keeps the paper's "
                        "order.")
async def guideline(name: Annotated[str, Path(description=f"The guideline: one of {NAMES}.")],
                    request: Request, response: Response, *, width_multiplier: WidthMultiplier = 1,
                    batch: Batch = 1, on: Annotated[MeasureOptions, Query()],
                    measure: Measure = True) -> GuidelineReport:
    result = await unless_disconnected(request, lambda cancel: guideline_lab.report(
        name, device=on.device, width_multiplier=width_multiplier, batch=batch, threads=on.threads,
        measure=measure, fresh=on.fresh, cancel=cancel))
    # a measurement describes this machine now; the counts and the paper's figures never change
    response.headers["Cache-Control"] = cache_control(now=measure)
    return result


@router.get("/api/guidelines/{name}/last", tags=["guidelines"],
            summary="The last measurement of one guideline experiment on this server, if any",
            description="The report as `measure=true` returned it last, with these settings; each row "
                        "says when it was measured and on what; `report` is null when it never was. The "
                        "guideline page shows it on arrival and measures only when asked.")
def last_measurement(name: Annotated[str, Path(description=f"The guideline: one of {NAMES}.")],
                     response: Response, *, width_multiplier: WidthMultiplier = 1, batch: Batch = 1,
                     on: Annotated[Placement, Query()]) -> LastGuidelineMeasurement:
    # a newer measurement may replace it at any time
    response.headers["Cache-Control"] = cache_control(latest=True)
    return guideline_lab.last(name, device=on.device, width_multiplier=width_multiplier, batch=batch,
                              threads=on.threads)


@router.get("/guidelines", include_in_schema=False, response_class=HTMLResponse)
def guidelines_page(request: Request):
    overview = guideline_lab.overview()
    return templates.TemplateResponse(request, "guidelines.html",
                                      {"overview": overview, "data_json": page_data(overview)})
