"""The Store endpoints LangGraph Studio's memory tab calls, over LangGraph's own store."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from fastapi import APIRouter, Depends, Query, Response

from infra.jsonwire import to_jsonable
from server.errors import NotFound, Unprocessable
from server.schemas import StoreDelete, StoreNamespaces, StorePut, StoreSearch
from server.services import Services, caller

router = APIRouter(prefix="/store", tags=["store"])


def _scope(s: Services) -> tuple[str, ...]:
    """Each tenant's items live under its own first label, which callers never see; with auth off, none."""
    return (f"tenant:{s.tenant}",) if s.tenant is not None else ()


def _labels(parts: list[str]) -> tuple[str, ...]:
    if any(not p or "." in p or "\x00" in p for p in parts):  # LangGraph's store refuses these labels
        raise Unprocessable("Namespace labels must be non-empty and contain no '.' or NUL.", code="invalid_namespace")
    return tuple(parts)


def _namespace(s: Services, parts: list[str]) -> tuple[str, ...]:
    return (*_scope(s), *_labels(parts))


def _item(s: Services, item: Any) -> dict[str, Any]:
    body: dict[str, Any] = to_jsonable(item.dict())
    body["namespace"] = body["namespace"][len(_scope(s)) :]
    for name in ("created_at", "updated_at"):  # SQLite's CURRENT_TIMESTAMP: UTC, without saying so
        stamp = getattr(item, name)
        body[name] = (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).isoformat()
    return body


@router.put("/items", status_code=204)
async def put_item(body: StorePut, s: Services = Depends(caller)) -> Response:
    if body.ttl is not None:
        raise Unprocessable("Item TTLs are not supported by this server.", code="unsupported_field")
    if not body.namespace or body.namespace[0] == "langgraph":  # LangGraph's rule, whatever our scope adds
        raise Unprocessable("An item's namespace needs a first label other than 'langgraph'.", code="invalid_namespace")
    await s.store.aput(_namespace(s, body.namespace), body.key, body.value, index=body.index)
    return Response(status_code=204)


@router.get("/items")
async def get_item(
    key: str, namespace: list[str] | None = Query(None), s: Services = Depends(caller)
) -> dict[str, Any]:
    parts = [p for ns in namespace or [] for p in ns.split(".")]
    item = await s.store.aget(_namespace(s, parts), key)
    if item is None:
        raise NotFound("Item not found.", code="item_not_found")
    return _item(s, item)


@router.delete("/items", status_code=204)
async def delete_item(body: StoreDelete, s: Services = Depends(caller)) -> Response:
    await s.store.adelete(_namespace(s, body.namespace), body.key)
    return Response(status_code=204)


@router.post("/items/search")
async def search_items(body: StoreSearch, s: Services = Depends(caller)) -> dict[str, Any]:
    items = await s.store.asearch(
        _namespace(s, body.namespace_prefix),
        query=body.query,
        filter=body.filter,
        limit=body.limit,
        offset=body.offset,
    )
    return {"items": [_item(s, i) for i in items]}


@router.post("/namespaces")
async def list_namespaces(body: StoreNamespaces, s: Services = Depends(caller)) -> dict[str, Any]:
    scope = _scope(s)
    prefix = (*scope, *_labels(body.prefix or []))
    found = await s.store.alist_namespaces(
        prefix=prefix or None,
        suffix=_labels(body.suffix or []) or None,
        max_depth=None if body.max_depth is None else body.max_depth + len(scope),
        limit=body.limit,
        offset=body.offset,
    )
    return {"namespaces": [list(ns[len(scope) :]) for ns in found]}
