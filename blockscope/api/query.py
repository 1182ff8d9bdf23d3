"""Per-kind query signatures built from the registry, so OpenAPI documents every parameter."""

import inspect
import re
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BeforeValidator

from ..errors import InvalidParameter
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


# Follows the Query(...) of every integer a route reads from the query string: `Annotated[int,
# Query(ge=1), DIGITS]` (after the bounds, so that OpenAPI still shows them as minimum and maximum).
DIGITS = BeforeValidator(_digits_only)


# The parameters every measuring route shares.
Device = Annotated[str, Query(description="Where to measure: `cpu`, or `cuda:N` when the server has a GPU "
                                          "(see /api/devices).")]
Threads = Annotated[int | None, Query(ge=1, le=MAX_THREADS, description="CPU threads for the measurement; "
                                                                        "default: the measuring process's "
                                                                        "own count. Ignored on a GPU."),
                    DIGITS]
Fresh = Annotated[bool, Query(description="Measure again now, even when a recent identical measurement is "
                                          "cached.")]


def parse_int(name: str, raw: str) -> int:
    """An integer a route reads from the query by hand, as strictly as `Int` (a 422 naming it)."""
    try:
        return int(_digits_only(raw))
    except ValueError as exc:
        raise InvalidParameter(name, str(exc), raw) from None


def _annotation(p: Param):
    base = {"integer": int, "boolean": bool, "string": str}[p.type]
    checks = (DIGITS,) if base is int else ()
    if p.choices is not None:
        # Choices are checked by the service (string queries do not coerce into Literal[int]);
        # the enum still documents them in OpenAPI.
        choices = Query(description=p.help, json_schema_extra={"enum": list(p.choices)})
        return Annotated[base, choices, *checks]
    return Annotated[base, Query(description=p.help, ge=p.min, le=p.max), *checks]


def query_parameters(params) -> list[inspect.Parameter]:
    return [inspect.Parameter(p.name, inspect.Parameter.KEYWORD_ONLY, default=p.default,
                              annotation=_annotation(p)) for p in params]


def add_block_routes(router: APIRouter, suffix: str, handler: Callable[..., Any],
                     extra: list[inspect.Parameter] = (), only: Callable[[BlockSpec], bool] | None = None,
                     missing: Callable[[str], None] | None = None, **route_kwargs) -> None:
    """One GET route per registered kind at /api/blocks/{kind}{suffix}, its parameters (and their
    bounds, from the settings in force) documented.

    `handler(spec, values, request, response, **extra)` receives the block's query values as a dict.
    `only` keeps the kinds the route makes sense for; for the others `missing(kind)` raises the 404.
    """
    extra_names = [p.name for p in extra]
    fixed = [inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request),
             inspect.Parameter("response", inspect.Parameter.KEYWORD_ONLY, annotation=Response)]
    for spec in BLOCKS.values():
        if only is not None and not only(spec):
            continue
        if inspect.iscoroutinefunction(handler):  # it awaits work in a thread (a measurement)
            async def endpoint(__spec: BlockSpec = spec, *, request: Request, response: Response, **kwargs):
                values = {k: v for k, v in kwargs.items() if k not in extra_names}
                return await handler(__spec, values, request, response, **{k: kwargs[k] for k in extra_names})
        else:
            def endpoint(__spec: BlockSpec = spec, *, request: Request, response: Response, **kwargs):
                values = {k: v for k, v in kwargs.items() if k not in extra_names}
                return handler(__spec, values, request, response, **{k: kwargs[k] for k in extra_names})

        endpoint.__signature__ = inspect.Signature([*fixed, *query_parameters(spec.all_params), *extra])
        endpoint.__name__ = f"{spec.kind}{suffix.replace('/', '_')}"
        router.add_api_route(f"/api/blocks/{spec.kind}{suffix}", endpoint, methods=["GET"],
                             summary=f"{spec.title}{suffix and ' ' + suffix.strip('/')}",
                             description=spec.summary, tags=["blocks"], **route_kwargs)

    def unknown_kind(kind: str):
        get_spec(kind)  # raises NotFound naming the kinds
        if missing is not None:
            missing(kind)

    # Registered after the per-kind routes, so it only answers kinds that are not registered.
    router.add_api_route(f"/api/blocks/{{kind}}{suffix}", unknown_kind, methods=["GET"],
                         include_in_schema=False)
