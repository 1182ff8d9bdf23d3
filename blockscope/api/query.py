"""How routes declare their query parameters: one pydantic model per kind built from the registry,
the measurement parameters declared once, and a 422 for any parameter a route does not take.

Every parameter is a model field with its help and bounds, so /openapi.json documents it."""

import inspect
import re
from collections.abc import Callable, Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, BeforeValidator, Field, create_model

from ..registry import BLOCKS, BlockSpec, Param
from ..service.blocks import get_spec
from ..service.latency import MAX_THREADS

_DIGITS = re.compile(r"-?[0-9]{1,18}")


def _digits_only(value):
    """A query integer is written in digits: `64.0`, `+64`, `1_000` or `1e3` are refused, not coerced."""
    if isinstance(value, str) and not _DIGITS.fullmatch(value):
        raise ValueError("must be an integer written in digits (e.g. 64): no plus sign, decimal point, "
                         "exponent or separator")
    return value


# Follows the Query(...) or Field(...) of every integer a route reads from the query string:
# `Annotated[int, Query(ge=1), DIGITS]` (after the bounds, so that OpenAPI still shows them as
# minimum and maximum).
DIGITS = BeforeValidator(_digits_only)


# --- the measurement parameters, declared once ----------------------------------------------------

class Placement(BaseModel):
    """Where a measurement runs (also what names a stored measurement)."""
    device: str = Field("cpu", description="Where to measure: `cpu`, or `cuda:N` when the server has a GPU "
                                           "(see /api/devices).")
    threads: Annotated[int | None, Field(ge=1, le=MAX_THREADS, description="CPU threads for the measurement; "
                                         "default: the measuring process's own count. Ignored on a GPU."),
                       DIGITS] = None


class MeasureOptions(Placement):
    """A measurement: where, and whether to take it again."""
    fresh: bool = Field(False, description="Measure again now, even when a recent identical measurement is "
                                           "cached.")


class TimingOptions(MeasureOptions):
    """A measurement whose runs the client may set (blocks and networks timed op by op)."""
    warmup: Annotated[int | None, Field(ge=0, description="Untimed runs before timing; default adapts to "
                                                          "what is timed."), DIGITS] = None
    repeats: Annotated[int | None, Field(ge=1, description="Timed runs; the report gives their median and "
                                                           "quartiles. Default adapts to what is timed and "
                                                           "the time budget."), DIGITS] = None


# --- a block's parameters, from the registry ------------------------------------------------------

def _field(p: Param, default: Any, description: str, lo: int | None, hi: int | None,
           choices: tuple | None) -> tuple:
    base = {"integer": int, "boolean": bool, "string": str}[p.type]
    checks = (DIGITS,) if base is int else ()
    if choices is not None:
        # Choices are checked by the service (string queries do not coerce into Literal[int]);
        # the enum still documents them in OpenAPI.
        info = Field(description=description, json_schema_extra={"enum": list(choices)})
    else:
        info = Field(description=description, ge=lo, le=hi)
    annotation = base if default is not None else base | None
    return Annotated[annotation, info, *checks], default


def block_model(spec: BlockSpec) -> type[BaseModel]:
    """The query model of one kind: every parameter with its help, default and bounds (those of the
    settings in force now: build it when the app is built)."""
    fields = {p.name: _field(p, p.default, p.help, p.min, p.max, p.choices) for p in spec.all_params}
    return create_model(f"{spec.kind}_query", **fields)


def union_model(name: str, specs: Iterable[BlockSpec]) -> type[BaseModel]:
    """One query model for a route that takes any of several kinds: each parameter of any of them,
    optional (left out: the kind's default), with the loosest bounds; the service checks the kind's own."""
    specs = list(specs)
    by_name: dict[str, list[tuple[str, Param]]] = {}
    for spec in specs:
        for p in spec.all_params:
            by_name.setdefault(p.name, []).append((spec.kind, p))
    fields = {}
    for param, owners in by_name.items():
        ps = [p for _, p in owners]
        assert len({p.type for p in ps}) == 1, f"{param} has different types across {name}'s kinds"
        helps = list(dict.fromkeys(p.help for p in ps))
        description = helps[0] if len(helps) == 1 else "; ".join(f"{kind}: {p.help}" for kind, p in owners)
        if len(owners) < len(specs):
            description += f" ({', '.join(kind for kind, _ in owners)} only)"
        lows, highs = [p.min for p in ps], [p.max for p in ps]
        lo = None if None in lows else min(lows)
        hi = None if None in highs else max(highs)
        choices = (tuple(dict.fromkeys(c for p in ps for c in p.choices))
                   if all(p.choices is not None for p in ps) else None)
        fields[param] = _field(ps[0], None, description, lo, hi, choices)
    return create_model(name, **fields)


def block_values(spec: BlockSpec) -> Callable[..., dict]:
    """A dependency: the kind's query values, every one of them (the defaults filled in)."""
    model = block_model(spec)

    def values(query: Annotated[model, Query()]) -> dict:
        return query.model_dump()

    return values


class _NoOptions(BaseModel):
    pass


def add_block_routes(router: APIRouter, suffix: str, handler: Callable[..., Any],
                     options: type[BaseModel] | None = None, only: Callable[[BlockSpec], bool] | None = None,
                     missing: Callable[[str], None] | None = None, **route_kwargs) -> None:
    """One GET route per registered kind at /api/blocks/{kind}{suffix}, its parameters (and their
    bounds, from the settings in force) documented.

    `handler(spec, values, request, response)` receives the block's query values as a dict, and with
    `options` (a query model of the route's own parameters) the parsed options after them.
    `only` keeps the kinds the route makes sense for; for the others `missing(kind)` raises the 404.
    """
    for spec in BLOCKS.values():
        if only is not None and not only(spec):
            continue
        endpoint = _endpoint(spec, handler, options)
        endpoint.__name__ = f"{spec.kind}{suffix.replace('/', '_').replace('-', '_')}"
        router.add_api_route(f"/api/blocks/{spec.kind}{suffix}", endpoint, methods=["GET"],
                             summary=f"{spec.title}{suffix and ' ' + suffix.strip('/')}",
                             description=spec.summary, tags=["blocks"], **route_kwargs)

    def unknown_kind(kind: str):
        get_spec(kind)  # raises NotFound naming the kinds
        if missing is not None:
            missing(kind)

    # A literal path wins over this one whatever the order (see main.most_specific_first): it only
    # answers kinds that have no route of their own.
    router.add_api_route(f"/api/blocks/{{kind}}{suffix}", unknown_kind, methods=["GET"],
                         include_in_schema=False)


def _endpoint(spec: BlockSpec, handler: Callable[..., Any], options: type[BaseModel] | None):
    Values = Annotated[dict, Depends(block_values(spec))]
    Options = Annotated[options or _NoOptions, Query()]
    extra = (lambda opts: (opts,)) if options is not None else (lambda opts: ())

    if inspect.iscoroutinefunction(handler):  # it awaits work in a thread (a measurement)
        async def endpoint(request: Request, response: Response, values: Values, opts: Options):
            return await handler(spec, values, request, response, *extra(opts))
    else:
        def endpoint(request: Request, response: Response, values: Values, opts: Options):
            return handler(spec, values, request, response, *extra(opts))
    return endpoint


# --- no parameter a route does not take -----------------------------------------------------------

def query_names(dependant: Dependant) -> frozenset[str]:
    """Every query parameter a route takes: its own, its dependencies', each field of a query model."""
    names = set()
    for field in dependant.query_params:
        model = field.field_info.annotation
        if inspect.isclass(model) and issubclass(model, BaseModel):
            names.update(f.alias or name for name, f in model.model_fields.items())
        else:
            names.add(field.alias)
    for dependency in dependant.dependencies:
        names |= query_names(dependency)
    return frozenset(names)


async def only_known_parameters(request: Request) -> None:
    """An app-wide dependency: a documented route answers 422 naming any query parameter it does not
    take, rather than ignoring it (a typo would go unnoticed, and every such URL would be one more
    entry in a proxy's cache). Pages (left out of the schema) read their query in the browser."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not route.include_in_schema:
        return
    known = query_names(route.dependant)  # a few fields: cheaper than keeping them per route
    unknown = [key for key in dict.fromkeys(request.query_params) if key not in known]
    if unknown:
        takes = ", ".join(sorted(known)) or "no parameters"
        raise RequestValidationError([
            {"type": "extra_forbidden", "loc": ("query", key), "input": request.query_params[key],
             "msg": f"this route does not take {key}; it takes: {takes}"} for key in unknown])
