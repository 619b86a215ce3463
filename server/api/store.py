"""The Store endpoints LangGraph Studio's memory tab calls, over LangGraph's own store."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Response

from infra.jsonwire import to_jsonable
from server.errors import NotFound, Unprocessable
from server.schemas import StoreDelete, StoreNamespaces, StorePut, StoreSearch
from server.services import Services, services

router = APIRouter(prefix="/store", tags=["store"])


def _namespace(parts: list[str]) -> tuple[str, ...]:
    if any(not p or "." in p for p in parts):
        raise Unprocessable("Namespace labels must be non-empty and contain no '.'.", code="invalid_namespace")
    return tuple(parts)


def _item(item: Any) -> dict[str, Any]:
    return to_jsonable(item.dict())  # type: ignore[no-any-return]


@router.put("/items", status_code=204)
async def put_item(body: StorePut, s: Services = Depends(services)) -> Response:
    if body.ttl is not None:
        raise Unprocessable("Item TTLs are not supported by this server.", code="unsupported_field")
    await s.store.aput(_namespace(body.namespace), body.key, body.value, index=body.index)
    return Response(status_code=204)


@router.get("/items")
async def get_item(
    key: str, namespace: list[str] | None = Query(None), s: Services = Depends(services)
) -> dict[str, Any]:
    parts = [p for ns in namespace or [] for p in ns.split(".")]
    item = await s.store.aget(_namespace(parts), key)
    if item is None:
        raise NotFound("Item not found.", code="item_not_found")
    return _item(item)


@router.delete("/items", status_code=204)
async def delete_item(body: StoreDelete, s: Services = Depends(services)) -> Response:
    await s.store.adelete(_namespace(body.namespace), body.key)
    return Response(status_code=204)


@router.post("/items/search")
async def search_items(body: StoreSearch, s: Services = Depends(services)) -> dict[str, Any]:
    items = await s.store.asearch(
        tuple(body.namespace_prefix),
        query=body.query,
        filter=body.filter,
        limit=body.limit,
        offset=body.offset,
    )
    return {"items": [_item(i) for i in items]}


@router.post("/namespaces")
async def list_namespaces(body: StoreNamespaces, s: Services = Depends(services)) -> dict[str, Any]:
    found = await s.store.alist_namespaces(
        prefix=tuple(body.prefix) if body.prefix else None,
        suffix=tuple(body.suffix) if body.suffix else None,
        max_depth=body.max_depth,
        limit=body.limit,
        offset=body.offset,
    )
    return {"namespaces": [list(ns) for ns in found]}
