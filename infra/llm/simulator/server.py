"""The simulator as its own process (`switchyard sim`): uvicorn serving `create_app(config)`."""

from __future__ import annotations

import logging

import uvicorn

from infra.llm.simulator.app import create_app
from infra.llm.simulator.config import SimConfig
from infra.llm.simulator.faults import SimulatedCut

# Stalled or silent requests whose client already left must not hold a shutdown for long.
GRACEFUL_SHUTDOWN_S = 2


class _QuietCuts(logging.Filter):
    """A `cut` fault drops the connection by raising, and uvicorn logs that as an application error
    with a traceback. It is intended: log one info line instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], SimulatedCut):
            record.msg, record.args = "simulator: %s (connection dropped on purpose)", (record.exc_info[1],)
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def serve(host: str, port: int, config: SimConfig, log_level: str = "info") -> None:
    """Serve the simulator on `host:port` until interrupted. The OpenAI base URL is `http://host:port/v1`."""
    server_config = uvicorn.Config(
        create_app(config),
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    # After uvicorn.Config, which (re)configures logging; the filter must survive that.
    logging.getLogger("uvicorn.error").addFilter(_QuietCuts())
    uvicorn.Server(server_config).run()
