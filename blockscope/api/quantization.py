"""/api/quantization/activations, /api/quantization/block and the /quantization page (MobileNet V3's
hard-swish, checked in 8-bit integers on this server)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse

from ..config import get_settings
from ..errors import InvalidParameter
from ..registry import BLOCKS
from ..schemas import ActivationQuantReport, BlockQuantReport
from ..service import quantization as quant
from ..service.latency import devices
from .caching import cache_control
from .disconnect import unless_disconnected
from .query import DIGITS, MeasureOptions, union_model
from .web import page_data, templates

router = APIRouter()

Bits = Annotated[int, Query(description="Integer width; ONNX Runtime's integer kernels take "
                                        f"{', '.join(map(str, quant.BITS))} bits."), DIGITS]
# inf and nan are not scales or ranges
Scale = Annotated[float | None, Query(allow_inf_nan=False,
                                      description="Input scale (> 0): the real value of one integer step "
                                                  f"(default {quant.DEFAULT_SCALE:g}).")]
ZeroPoint = Annotated[int | None, Query(description="Input zero point, the code standing for 0.0 (0 to 255; "
                                                    f"default {quant.DEFAULT_ZERO_POINT})."), DIGITS]
RangeMin = Annotated[float | None, Query(allow_inf_nan=False,
                                         description="Calibrate scale and zero point from this range "
                                                     "instead (with range_max).")]
RangeMax = Annotated[float | None, Query(allow_inf_nan=False,
                                         description="Top of the range to calibrate from (with range_min).")]
Measure = Annotated[bool, Query(description="Also time float32 and int8 on the device (not cacheable).")]
Calibration = Annotated[int, Query(description="Seeded random inputs to calibrate on."), DIGITS]
MeasureQuery = Annotated[MeasureOptions, Query()]  # used only with measure=true


@router.get("/api/quantization/activations", tags=["quantization"],
            summary="relu, relu6, sigmoid, hard-sigmoid, swish and hard-swish as 8-bit integer functions",
            description="Each function's float32 and int8 curves at the input's scale and zero point, its "
                        "error against float32 in output steps with the bound it must keep, the kernels ONNX "
                        "Runtime runs it with (integer, or float between dequantize and quantize), and with "
                        "`measure=true` float32 and int8 latency on a tensor of `size` elements; the "
                        "verdicts hold MobileNet V3's claim (`paper`) against these figures.")
async def quantized_activations(
        request: Request, response: Response, *, bits: Bits = 8, scale: Scale = None,
        zero_point: ZeroPoint = None, range_min: RangeMin = None, range_max: RangeMax = None,
        size: Annotated[int, Query(description="Elements of the tensor timed."), DIGITS] = quant.DEFAULT_SIZE,
        seed: Annotated[int, Query(ge=0, description="Seed of the timed tensor."), DIGITS] = 0,
        on: MeasureQuery, measure: Measure = False) -> ActivationQuantReport:
    # a measurement describes this machine now; the rest is a pure function of the query
    response.headers["Cache-Control"] = cache_control(now=measure)
    return await unless_disconnected(request, lambda cancel: quant.activations(
        bits=bits, scale=scale, zero_point=zero_point, range_min=range_min, range_max=range_max, size=size,
        seed=seed, device=on.device, threads=on.threads, measure=measure, fresh=on.fresh, cancel=cancel))


def block_routes() -> APIRouter:
    """GET /api/quantization/block, built when the app is (its bounds from the settings in force)."""
    # Every parameter of every kind that can be quantized, so that OpenAPI documents them all; the
    # service checks the values against the kind's own bounds.
    values_model = union_model("quantization_block_query", (BLOCKS[kind] for kind in quant.KINDS))

    def block(values: Annotated[values_model, Query()],
              kind: Annotated[str, Query(description=f"One of {', '.join(quant.KINDS)}.")] = quant.KINDS[0],
              ) -> tuple[str, dict]:
        """The kind, and the parameters the client gave (the others: the kind's defaults); one that
        belongs to another kind is a 422 naming it."""
        given = values.model_dump(exclude_unset=True)
        spec = BLOCKS.get(kind)
        if spec is not None:  # an unknown kind: the service's 422 names the kinds
            names = {p.name for p in spec.all_params}
            for name, value in given.items():
                if name not in names:
                    raise InvalidParameter(name, f"{kind} has no parameter {name}", value)
        return kind, given

    routes = APIRouter()

    @routes.get("/api/quantization/block", tags=["quantization"],
                summary="A block with hard and with smooth activations, statically quantized to 8 bits",
                description=f"`kind` is one of {', '.join(quant.KINDS)}, with any of its parameters "
                            "(see /api/blocks). Both variants are deployed, exported to ONNX and quantized "
                            "statically on `calibration` seeded inputs; the answer gives each one's output "
                            "error against its own float32 form, the integer kernels and float ops it runs, "
                            "and with `measure=true` float32 and int8 latency with the speedup's 95% "
                            "interval.")
    async def quantized_block(
            request: Request, response: Response, block: Annotated[tuple[str, dict], Depends(block)], *,
            calibration: Calibration = 8,
            on: MeasureQuery, measure: Measure = False) -> BlockQuantReport:
        response.headers["Cache-Control"] = cache_control(now=measure)
        kind, values = block
        return await unless_disconnected(request, lambda cancel: quant.block(
            kind, values, calibration=calibration, device=on.device, threads=on.threads, measure=measure,
            fresh=on.fresh, cancel=cancel))

    return routes


def _page_data(embed: bool) -> dict:
    return {"embed": embed, "devices": [d.model_dump() for d in devices()], "kinds": list(quant.KINDS),
            "activations": list(quant.ACTIVATIONS), "defaults": {"scale": quant.DEFAULT_SCALE,
                                                         "zero_point": quant.DEFAULT_ZERO_POINT,
                                                         "size": quant.DEFAULT_SIZE},
            "max_size": get_settings().max_quant_size, "paper": quant.PAPER.model_dump(),
            "max_calibration": get_settings().max_quant_calibration}


def _page(request: Request, embed: bool) -> HTMLResponse:
    data = _page_data(embed)
    return templates.TemplateResponse(request, "quantization.html",
                                      {"embed": embed, "data": data, "data_json": page_data(data)})


@router.get("/quantization", include_in_schema=False, response_class=HTMLResponse)
def quantization_page(request: Request):
    return _page(request, embed=False)


@router.get("/embed/quantization", include_in_schema=False, response_class=HTMLResponse)
def quantization_embed(request: Request):
    return _page(request, embed=True)
