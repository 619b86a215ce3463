"""The chat models, one per role, all `ChatOpenAI`, so any OpenAI-compatible endpoint works.

- `OPENAI_API_KEY` (and optionally `OPENAI_BASE_URL`) select a real endpoint: OpenAI,
  vLLM, Ollama, a gateway. A base URL without a key works too (local servers).
- With neither, the bundled simulator answers in-process through an ASGI transport,
  and the startup log and `/health` say so.

Client retries are off: retrying is our policy (`infra.llm.retry`), not the SDK's.
"""

from __future__ import annotations

from typing import Any, Literal

import httpx2
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from infra.llm.simulator import SimConfig, SimulatorTransport, create_app
from infra.settings import Settings

Role = Literal["router", "agent", "responder"]
SIMULATOR_URL = "http://simulator.local/v1"


def endpoint(settings: Settings) -> str:
    """Where LLM calls go: one circuit breaker per endpoint."""
    if settings.llm_simulated:
        return "simulator (in-process)"
    return settings.openai_base_url or "https://api.openai.com/v1"


def sim_config(settings: Settings) -> SimConfig:
    return SimConfig(
        ttft_ms=settings.sim_ttft_ms,
        tokens_per_s=settings.sim_tokens_per_s,
        faults=dict(settings.sim_faults),
        seed=settings.sim_seed,
    )


_SIMULATORS: dict[str, httpx2.AsyncClient] = {}


def simulator_client(config: SimConfig) -> httpx2.AsyncClient:
    """One in-process simulator per configuration, shared by every role, so its counters add up."""
    key = repr(config)
    if key not in _SIMULATORS:
        # The simulator's own transport: httpx2.ASGITransport would buffer whole streams
        # and ignore the client's read timeout.
        transport = SimulatorTransport(create_app(config))
        _SIMULATORS[key] = httpx2.AsyncClient(transport=transport, base_url="http://simulator.local")
    return _SIMULATORS[key]


def model_name(role: Role, settings: Settings) -> str:
    return {
        "router": settings.router_model,
        "agent": settings.agent_model,
        "responder": settings.responder_model,
    }[role]


def chat_model(role: Role, settings: Settings) -> ChatOpenAI:
    common: dict[str, Any] = {
        "model": model_name(role, settings),
        "timeout": settings.llm_timeout_s,
        "max_retries": 0,
        "stream_usage": True,
        "temperature": 0,
    }
    if settings.llm_simulated:
        client = simulator_client(sim_config(settings))
        return ChatOpenAI(api_key=SecretStr("simulated"), base_url=SIMULATOR_URL, http_async_client=client, **common)
    key = SecretStr(settings.openai_api_key or "not-needed")
    return ChatOpenAI(api_key=key, base_url=settings.openai_base_url, **common)
