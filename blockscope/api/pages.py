"""HTML pages: the gallery (/), the explorer (/blocks/{kind}) and its chrome-less twin (/embed/{kind}).

Pages only hand data to the browser (JSON in a data block); the browser asks the JSON API for analyses.
"""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import TypeAdapter, ValidationError

from ..errors import InvalidParameter
from ..registry import BLOCKS, VIEW_ORDER
from ..service.blocks import analyse
from ..service.compare import NETWORK, preset_infos
from ..service.networks import NETWORKS
from .web import page_data, templates

router = APIRouter(include_in_schema=False)


def human(value) -> str:
    """12345 -> "12.3 K": the readable form beside every exact count (static/js/format.js agrees)."""
    value = int(value)
    for size, suffix in ((10**9, "G"), (10**6, "M"), (10**3, "K")):
        if abs(value) >= size:
            return f"{value / size:.1f} {suffix}"
    return str(value)


templates.env.filters["human"] = human

# Views a page can show (those of the registry's VIEW_ORDER that are sections of their own; `compare`
# lives in the explorer's header); /embed/{kind}?view=… picks one or more of those that apply.
VIEWS = tuple(v for v in VIEW_ORDER if v != "compare")
EMBED_DEFAULT = ("diagram", "totals")


def _catalog() -> list[dict]:
    return [{"kind": s.kind, "title": s.title} for s in BLOCKS.values()]


def _query(request: Request) -> dict:
    """Every query value as given (strings); the browser checks them against the API."""
    return {key: request.query_params.get(key) for key in request.query_params}


def _render(request: Request, name: str, context: dict, status_code: int = 200) -> HTMLResponse:
    data = context.pop("data")
    return templates.TemplateResponse(request, name, {**context, "data_json": page_data(data)},
                                      status_code=status_code)


def _not_found(request: Request, kind: str, embed: bool = False) -> HTMLResponse:
    return _render(request, "not_found.html",
                   {"kind": kind, "blocks": list(BLOCKS.values()), "embed": embed, "data": {}},
                   status_code=404)


@router.get("/", response_class=HTMLResponse)
def gallery(request: Request):
    cards = []
    for spec in BLOCKS.values():
        try:
            analysis = analyse(spec.kind, {}).data.model_dump()
        except InvalidParameter:  # a server limit below a default: show the card without numbers
            analysis = None
        cards.append({"spec": spec, "analysis": analysis})
    data = {"cards": [{"kind": c["spec"].kind, "analysis": c["analysis"]} for c in cards]}
    return _render(request, "gallery.html", {"cards": cards, "embed": False, "data": data})


def _block_page(request: Request, kind: str, embed: bool, controls: bool = False) -> HTMLResponse:
    spec = BLOCKS.get(kind)
    if spec is None:
        return _not_found(request, kind, embed)
    query = _query(request)
    applies = [v for v in spec.views if v in VIEWS]  # the kind's own page order
    asked = [v for raw in request.query_params.getlist("view") for v in raw.split(",")]
    # the views asked for that apply to this kind, in the order asked (none asked for: the default)
    views = (list(dict.fromkeys(v for v in asked if v in applies))
             or [v for v in EMBED_DEFAULT if v in applies])
    controls = embed and controls
    data = {"kind": kind, "spec": spec.schema().model_dump(), "blocks": _catalog(), "query": query,
            "embed": embed, "controls": controls or not embed, "views": views if embed else applies,
            "applies": applies}
    return _render(request, "embed.html" if embed else "explorer.html",
                   {"spec": spec, "embed": embed, "views": data["views"], "applies": applies,
                    "compare": "compare" in spec.views, "controls": controls, "data": data})


@router.get("/blocks/{kind}", response_class=HTMLResponse)
def explorer(request: Request, kind: str):
    return _block_page(request, kind, embed=False)


_BOOL = TypeAdapter(bool)


def _shown(raw: str) -> bool:
    """A page's switch, read as the server reads any boolean (pydantic's words, any case); a page
    never refuses to load over one: a value that is not a boolean word (or none) leaves it off."""
    try:
        return _BOOL.validate_python(raw)
    except ValidationError:
        return False


@router.get("/embed/{kind}", response_class=HTMLResponse)
def embed(request: Request, kind: str, controls: Annotated[str, Query(
        description="Show the block's parameter controls above the views (true/false, 1/0, yes/no, "
                    "on/off; anything else: off).")] = ""):
    return _block_page(request, kind, embed=True, controls=_shown(controls))


# --- /compare: two blocks or networks side by side -------------------------------------------------

def _compare_page(request: Request, embed: bool, controls: bool = False) -> HTMLResponse:
    data = {"query": _query(request), "embed": embed, "controls": controls or not embed,
            "blocks": [_catalog_entry(spec) for spec in BLOCKS.values()],
            "networks": [{"kind": f"{NETWORK}{n.name}", "title": n.title, "input_size": n.input_size}
                         for n in NETWORKS.values()],
            "presets": [p.model_dump() for p in preset_infos()]}
    return _render(request, "compare.html", {"embed": embed, "controls": data["controls"], "data": data})


def _catalog_entry(spec) -> dict:
    return {"kind": spec.kind, "title": spec.title, "params": [p.model_dump() for p in spec.schema().params],
            "deployable": "reparam" in spec.views}


@router.get("/compare", response_class=HTMLResponse)
def compare_page(request: Request):
    return _compare_page(request, embed=False)


@router.get("/embed/compare", response_class=HTMLResponse)
def compare_embed(request: Request, controls: Annotated[str, Query(
        description="Show both sides' controls (true/false, 1/0, yes/no, on/off).")] = ""):
    return _compare_page(request, embed=True, controls=_shown(controls))
