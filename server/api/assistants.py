"""Assistants: each registered graph is a system assistant (read-only here)."""

from __future__ import annotations

import warnings
from typing import Any

from fastapi import APIRouter, Depends, Query, Response

from infra.jsonwire import to_jsonable
from server.errors import NotFound
from server.schemas import AssistantSearch
from server.services import Services, caller
from server.views import assistant

router = APIRouter(prefix="/assistants", tags=["assistants"])


@router.post("/search")
async def search(body: AssistantSearch, response: Response, s: Services = Depends(caller)) -> list[dict[str, Any]]:
    if body.graph_id is not None and body.graph_id not in s.graphs:
        raise NotFound(
            f"Graph '{body.graph_id}' not found. Expected one of: {sorted(s.graphs)}", code="graph_not_found"
        )
    found = [
        assistant(g)
        for g in sorted(s.graphs)
        if (body.graph_id in (None, g))
        and (body.name in (None, g))
        and all(assistant(g)["metadata"].get(k) == v for k, v in body.metadata.items())
    ]
    if body.sort_order == "desc":
        found.reverse()
    response.headers["X-Pagination-Total"] = str(len(found))
    page = found[body.offset : body.offset + body.limit]
    if body.select:
        page = [{k: a[k] for k in body.select if k in a} for a in page]
    return page


@router.post("/count")
async def count(body: AssistantSearch, s: Services = Depends(caller)) -> int:
    return len(await search(body, Response(), s))


@router.get("/{assistant_id}")
async def get(assistant_id: str, s: Services = Depends(caller)) -> dict[str, Any]:
    return assistant(s.graph_id(assistant_id))


@router.get("/{assistant_id}/graph")
async def graph(assistant_id: str, xray: bool | int = Query(False), s: Services = Depends(caller)) -> dict[str, Any]:
    drawn = s.graphs[s.graph_id(assistant_id)].get_graph(xray=xray)
    return to_jsonable(drawn.to_json())  # type: ignore[no-any-return]


def graph_schemas(g: Any) -> dict[str, Any]:
    with warnings.catch_warnings():
        # The protocol still carries config_schema; LangGraph 1.x deprecates it for context.
        warnings.simplefilter("ignore")
        config_schema = g.get_config_jsonschema()
    return {
        "input_schema": g.get_input_jsonschema(),
        "output_schema": g.get_output_jsonschema(),
        "state_schema": g.get_output_jsonschema(),
        "config_schema": config_schema,
        "context_schema": g.get_context_jsonschema(),
    }


@router.get("/{assistant_id}/schemas")
async def schemas(assistant_id: str, s: Services = Depends(caller)) -> dict[str, Any]:
    graph_id = s.graph_id(assistant_id)
    return {"graph_id": graph_id, **graph_schemas(s.graphs[graph_id])}


@router.get("/{assistant_id}/subgraphs")
@router.get("/{assistant_id}/subgraphs/{namespace}")
async def subgraphs(
    assistant_id: str, namespace: str | None = None, recurse: bool = False, s: Services = Depends(caller)
) -> dict[str, Any]:
    g = s.graphs[s.graph_id(assistant_id)]
    result: dict[str, Any] = {}
    async for ns, sub in g.aget_subgraphs(namespace=namespace, recurse=recurse):
        result[ns] = graph_schemas(sub)
    if namespace is not None and not result:
        raise NotFound(f"Subgraph '{namespace}' not found.", code="subgraph_not_found")
    return result
