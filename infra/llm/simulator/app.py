"""The simulator's ASGI app: OpenAI's chat completions and models, plus `/sim/*` runtime control.

- `POST /v1/chat/completions`, `GET /v1/models`: the OpenAI protocol (see `wire`, `replies`).
- `GET /sim/stats`: requests seen, faults injected by name, answers by kind, the current config.
- `POST /sim/config`: replace config fields at runtime (`{"faults": {...}, "ttft_ms": 0, ...}`).
- `POST /sim/reset`: back to the state at start: initial config, fresh RNG, counters and marker counts.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import replace
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from infra.llm.simulator.config import SimConfig, SimConfigError, read_controls
from infra.llm.simulator.conversation import SimRequestError, definition_tokens, read_conversation
from infra.llm.simulator.faults import ERROR_FAULTS, FaultBook, SimStats, retry_after_headers
from infra.llm.simulator.replies import plan_reply, with_bad_tool_json
from infra.llm.simulator.response import CompletionResponse
from infra.llm.simulator.tool_plan import read_tools
from infra.llm.simulator.wire import completion_body, error_body, stream_events, usage


class SimulatorState:
    """Everything one simulator app knows at runtime; `app.state.simulator`."""

    def __init__(self, config: SimConfig) -> None:
        # A copy: the caller's object may be mutated later (or shared) without changing this app.
        self.initial = replace(config, faults=dict(config.faults))
        self.reset()

    def reset(self) -> None:
        self.config = self.initial
        self.faults = FaultBook(self.config.seed)
        self.stats = SimStats()

    def reconfigure(self, changes: dict[str, Any]) -> None:
        self.config = self.config.updated(changes)
        if "seed" in changes:
            self.faults = FaultBook(self.config.seed)


def _error(
    status: int, message: str, type_: str, code: str | None, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(message, type_, code), status_code=status, headers=headers)


def _state(request: Request) -> SimulatorState:
    state: SimulatorState = request.app.state.simulator
    return state


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError) as exc:
        raise SimRequestError("the request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise SimRequestError("the request body must be a JSON object")
    return body


async def chat_completions(request: Request) -> Response:
    state = _state(request)
    state.stats.requests += 1
    number = state.stats.requests
    try:
        body = await _json_object(request)
        if not isinstance(body.get("model"), str):
            raise SimRequestError("'model' is required")
        if body.get("n", 1) != 1:
            raise SimRequestError("the simulator answers with exactly one choice; 'n' must be 1")
        conversation = read_conversation(body.get("messages"))
        controls = read_controls(state.config, request.headers, conversation.texts)
        reply = plan_reply(body, conversation)
    except (SimRequestError, SimConfigError) as exc:
        state.stats.rejected += 1
        return _error(400, str(exc), "invalid_request_error", exc.code)

    fault = state.faults.decide(controls, state.config.faults)
    if fault is not None:
        state.stats.faults[fault] += 1
    if fault in ERROR_FAULTS and fault != "timeout":
        error = ERROR_FAULTS[fault]
        headers = retry_after_headers(controls.retry_after_s) if fault == "429" else None
        return _error(error.status, error.message, error.type, error.code, headers)
    if fault == "bad_tool_json":
        reply = with_bad_tool_json(reply, read_tools(body.get("tools")), seed=str(number))
    state.stats.answers[reply.kind] += 1

    digest = hashlib.sha256(f"{state.config.seed}|{number}".encode()).hexdigest()[:20]
    completion_id, created, model = f"chatcmpl-sim{digest}", int(time.time()), body["model"]
    use = usage(conversation.prompt_tokens + definition_tokens(body), reply)
    request_id = f"req_sim_{number}"
    if body.get("stream") is True:
        state.stats.streamed += 1
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        events = stream_events(completion_id, created, model, reply, use, include_usage)
        return CompletionResponse(controls, fault, request_id, events=events)
    payload = json.dumps(completion_body(completion_id, created, model, reply, use)).encode()
    generated = len(reply.text) + sum(len(c.name) + len(c.arguments) for c in reply.tool_calls)
    return CompletionResponse(controls, fault, request_id, body=payload, generated_chars=generated)


async def list_models(request: Request) -> JSONResponse:
    models = [
        {"id": m, "object": "model", "created": 0, "owned_by": "simulator"} for m in _state(request).config.models
    ]
    return JSONResponse({"object": "list", "data": models})


async def stats(request: Request) -> JSONResponse:
    state = _state(request)
    return JSONResponse({**state.stats.as_dict(), "config": state.config.as_dict()})


async def configure(request: Request) -> JSONResponse:
    state = _state(request)
    try:
        state.reconfigure(await _json_object(request))
    except (SimRequestError, SimConfigError) as exc:
        return _error(400, str(exc), "invalid_request_error", exc.code)
    return JSONResponse({"config": state.config.as_dict()})


async def reset(request: Request) -> JSONResponse:
    state = _state(request)
    state.reset()
    return JSONResponse({"config": state.config.as_dict()})


async def _http_error(request: Request, exc: Exception) -> Response:
    """404/405 in OpenAI's error shape, which is what an OpenAI client knows how to read."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    return _error(status, f"{request.method} {request.url.path}: {exc}", "invalid_request_error", f"http_{status}")


def create_app(config: SimConfig | None = None) -> Starlette:
    """A fresh simulator; each app has its own config, RNG and counters."""
    app = Starlette(
        routes=[
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
            Route("/v1/models", list_models, methods=["GET"]),
            Route("/sim/stats", stats, methods=["GET"]),
            Route("/sim/config", configure, methods=["POST"]),
            Route("/sim/reset", reset, methods=["POST"]),
        ],
        exception_handlers={404: _http_error, 405: _http_error},
    )
    app.state.simulator = SimulatorState(config or SimConfig())
    return app
