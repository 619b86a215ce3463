"""An OpenAI-compatible chat-completions simulator: deterministic answers to the app's own prompts,
latency, and faults on request. See README.md in this folder.

In-process, give `ChatOpenAI` an `http_async_client` from `in_process_client(config)`; as its own
process, `serve(host, port, config)`.
"""

from __future__ import annotations

import httpx2

from infra.llm.simulator.app import create_app
from infra.llm.simulator.config import FAULTS, SimConfig, SimConfigError
from infra.llm.simulator.faults import SimulatedCut
from infra.llm.simulator.server import serve
from infra.llm.simulator.transport import SimulatorTransport

IN_PROCESS_BASE_URL = "http://simulator"


def in_process_client(config: SimConfig | None = None) -> httpx2.AsyncClient:
    """An async HTTP client wired to a fresh in-process simulator; pair it with
    `base_url=f"{IN_PROCESS_BASE_URL}/v1"` on the `ChatOpenAI`."""
    return httpx2.AsyncClient(transport=SimulatorTransport(create_app(config)), base_url=IN_PROCESS_BASE_URL)


__all__ = [
    "FAULTS",
    "IN_PROCESS_BASE_URL",
    "SimConfig",
    "SimConfigError",
    "SimulatedCut",
    "SimulatorTransport",
    "create_app",
    "in_process_client",
    "serve",
]
