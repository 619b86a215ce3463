"""Our OpenAPI document, made honest: FastAPI's generated one, plus what handler signatures cannot say.

- Every operation lists the errors it can answer, each an `ErrorBody`: 500 everywhere;
  422 with any parameter or body; 413 with a body; 404 with a path parameter; 401 and
  503 wherever the caller is authenticated (keys and records may live in Redis), which
  also declares the API key schemes; and the domain errors in `DOMAIN_ERRORS`.
- Streaming operations (`STREAMS`) answer `text/event-stream`, described frame by frame.
- Threads, runs, thread states and store items have real schemas (`RESPONSES`) instead
  of `object`; a thread id in a path is a UUID; an assistant id has the graph ids as examples.
- Request fields of the protocol that we refuse unless null say so, and so do config keys.

`tests/e2e/test_fuzz.py` runs Schemathesis against this document: every response must
conform to it.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import TypeAdapter

from graphs.registry import GRAPHS
from server import responses, schemas

REF = "#/components/schemas/{model}"

# The routers whose handlers take `server.services.caller`: the caller must present an API key.
AUTHENTICATED_TAGS = {"assistants", "threads", "runs", "store"}
SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
}

STREAMS = {
    ("post", "/threads/{thread_id}/runs/stream"),
    ("post", "/runs/stream"),
    ("get", "/threads/{thread_id}/runs/{run_id}/stream"),
    ("get", "/threads/{thread_id}/stream"),
}

# (method, path) -> response type of its 200, for handlers that return `dict[str, Any]`.
RESPONSES: dict[tuple[str, str], Any] = {
    ("get", "/assistants/{assistant_id}"): responses.Assistant,
    ("post", "/threads"): responses.Thread,
    ("post", "/threads/search"): list[responses.Thread],
    ("get", "/threads/{thread_id}"): responses.Thread,
    ("patch", "/threads/{thread_id}"): responses.Thread,
    ("post", "/threads/{thread_id}/copy"): responses.Thread,
    ("get", "/threads/{thread_id}/state"): responses.ThreadState,
    ("get", "/threads/{thread_id}/state/{checkpoint_id}"): responses.ThreadState,
    ("post", "/threads/{thread_id}/state/checkpoint"): responses.ThreadState,
    ("post", "/threads/{thread_id}/state"): responses.StateUpdated,
    ("get", "/threads/{thread_id}/history"): list[responses.ThreadState],
    ("post", "/threads/{thread_id}/history"): list[responses.ThreadState],
    ("post", "/threads/{thread_id}/runs"): responses.Run,
    ("get", "/threads/{thread_id}/runs"): list[responses.Run],
    ("get", "/threads/{thread_id}/runs/{run_id}"): responses.Run,
    ("get", "/store/items"): responses.StoreItem,
    ("post", "/store/items/search"): responses.StoreItems,
    ("post", "/store/namespaces"): responses.StoreNamespaceList,
}

_RUN_STARTS = {403, 404, 409, 429}  # thread quota, unknown assistant or thread, busy or not interrupted, rate
# (method, path) -> the statuses its handler raises beyond the ones every operation of its kind has.
DOMAIN_ERRORS: dict[tuple[str, str], set[int]] = {
    ("post", "/assistants/search"): {404},  # graph_not_found
    ("post", "/assistants/count"): {404},
    ("post", "/threads"): {403, 409},  # thread_quota_exceeded, thread_exists
    ("post", "/threads/{thread_id}/copy"): {403, 409},  # thread_busy
    ("post", "/threads/{thread_id}/state"): {400, 409},  # thread_has_no_graph, invalid_state_update
    ("post", "/threads/{thread_id}/runs"): _RUN_STARTS,
    ("post", "/threads/{thread_id}/runs/stream"): _RUN_STARTS,
    ("post", "/threads/{thread_id}/runs/wait"): _RUN_STARTS,
    ("post", "/runs/stream"): _RUN_STARTS,
    ("post", "/runs/wait"): _RUN_STARTS,
    ("post", "/threads/{thread_id}/runs/{run_id}/cancel"): {409},  # run_not_active
    ("get", "/threads/{thread_id}/stream"): {400, 429},  # invalid_last_event_id, too_many_streams
    ("get", "/threads/{thread_id}/runs/{run_id}/stream"): {400, 429},
    ("get", "/store/items"): {404},  # item_not_found
}

# Each frame: `event:`, `id:` when the stream is resumable, one JSON `data:` line (see server.sse).
SSE_FRAME: dict[str, Any] = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"type": "string", "minLength": 1},
        "id": {"type": "string", "pattern": "^[0-9]+$"},
        "data": {"type": "string", "contentMediaType": "application/json"},
    },
    "allOf": [
        {
            "if": {"properties": {"event": {"const": "error"}}},
            "then": {
                "properties": {
                    "data": {
                        "contentMediaType": "application/json",
                        "contentSchema": {
                            "type": "object",
                            "required": ["error", "message"],
                            "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
                        },
                    }
                }
            },
        },
        {
            "if": {"properties": {"event": {"const": "metadata"}}},
            "then": {
                "properties": {"data": {"contentMediaType": "application/json", "contentSchema": {"type": "object"}}}
            },
        },
    ],
}

_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait.", "required": True, "schema": {"type": "string"}}}
_ERROR_HEADERS = {429: _RETRY_AFTER, 503: _RETRY_AFTER}


def install(app: FastAPI) -> None:
    """Serve the described document at /openapi.json (FastAPI caches what it generates; describe it once)."""
    generate = app.openapi
    described: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        document = generate()
        if not described or described[0] is not document:
            describe(document)
            described[:] = [document]
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def describe(document: dict[str, Any]) -> None:
    components = document.setdefault("components", {})
    models = components.setdefault("schemas", {})
    error_body = _register(models, responses.ErrorBody)
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            key = (method, path)
            authenticated = bool(AUTHENTICATED_TAGS & set(operation.get("tags", ())))
            answers = operation.setdefault("responses", {})
            if key in RESPONSES:
                answers["200"]["content"] = {"application/json": {"schema": _register(models, RESPONSES[key])}}
            if key in STREAMS:
                answers["200"]["content"] = {"text/event-stream": {"itemSchema": SSE_FRAME}}
            if key == ("get", "/health"):  # the same report, when a required dependency is down
                answers["503"] = {**answers["200"], "description": "Unhealthy"}
            for status in _error_statuses(operation, authenticated) | DOMAIN_ERRORS.get(key, set()):
                answers[str(status)] = _error_response(status, error_body)
            if authenticated:
                operation["security"] = [{name: []} for name in SECURITY_SCHEMES]
            _describe_ids(operation)
    _describe_requests(models)
    components["securitySchemes"] = SECURITY_SCHEMES
    for unused in ("HTTPValidationError", "ValidationError"):
        models.pop(unused, None)


def _error_statuses(operation: dict[str, Any], authenticated: bool) -> set[int]:
    statuses = {500}
    parameters = operation.get("parameters", [])
    if parameters or "requestBody" in operation:
        statuses.add(422)
    if "requestBody" in operation:
        statuses.add(413)
    if any(p.get("in") == "path" for p in parameters):
        statuses.add(404)
    if authenticated:
        statuses |= {401, 503}
    return statuses


def _error_response(status: int, error_body: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": "Error",
        "content": {"application/json": {"schema": error_body}},
    }
    if status in _ERROR_HEADERS:
        response["headers"] = _ERROR_HEADERS[status]
    return response


def _describe_requests(models: dict[str, Any]) -> None:
    run = models["RunCreate"]["properties"]
    run["assistant_id"]["examples"] = sorted(GRAPHS)  # a graph id works wherever an assistant id does
    # Anything else is refused with 422 `unsupported_field`.
    refused = {"type": "null", "description": "Part of the protocol, not implemented by this server."}
    for name in schemas.UNSUPPORTED_RUN_FIELDS:
        run[name] = refused
    models["StorePut"]["properties"]["ttl"] = refused
    models["RunConfig"]["additionalProperties"] = False


def _describe_ids(operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", []):
        if parameter.get("in") != "path":
            continue
        if parameter["name"] == "thread_id":
            parameter["schema"] = {"type": "string", "format": "uuid", "title": "Thread Id"}
        elif parameter["name"] == "assistant_id":
            parameter["schema"]["examples"] = sorted(GRAPHS)


def _register(components: dict[str, Any], response_type: Any) -> dict[str, Any]:
    """The JSON schema of `response_type`, its named parts added to `components`."""
    schema = TypeAdapter(response_type).json_schema(mode="serialization", ref_template=REF)
    components.update(schema.pop("$defs", {}))
    if isinstance(response_type, type) and "$ref" not in schema:  # a named type, by reference
        components[response_type.__name__] = schema
        return {"$ref": REF.format(model=response_type.__name__)}
    return schema  # a list of them, or a type that refers to itself (already a $ref)
