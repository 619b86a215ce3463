"""Which fault a request gets, what the error faults look like on the wire, and the simulator's counters.

Fault decisions are deterministic: one draw of a seeded RNG per chat request, whatever ends up deciding,
so the same seed and the same request order always inject the same faults. A header or a marker wins
over the configured rates; a counted marker (`[sim:fault=500x2]`) fails only the first N requests that
carry that exact marker text.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from infra.llm.simulator.config import FAULTS, Controls


class SimulatedCut(Exception):
    """Raised by the app to drop the connection mid-response, as a failing upstream or proxy would."""

    code = "sim_cut"


@dataclass(frozen=True)
class ErrorFault:
    status: int
    message: str
    type: str
    code: str


# Faults answered with an HTTP error. `timeout` answers 504 only after stall_s of silence.
ERROR_FAULTS: dict[str, ErrorFault] = {
    "429": ErrorFault(
        429,
        "Rate limit reached for requests (simulated). Please try again later.",
        "requests",
        "rate_limit_exceeded",
    ),
    "500": ErrorFault(
        500,
        "The server had an error while processing your request (simulated).",
        "server_error",
        "server_error",
    ),
    "503": ErrorFault(
        503,
        "The engine is currently overloaded, please try again later (simulated).",
        "server_error",
        "service_unavailable",
    ),
    "timeout": ErrorFault(
        504, "The simulator did not answer in time (simulated timeout).", "server_error", "sim_timeout"
    ),
}


def retry_after_headers(seconds: float) -> dict[str, str]:
    """`Retry-After` in seconds (whole when possible, as HTTP prefers) and `retry-after-ms`, which the
    OpenAI SDK reads first."""
    whole = seconds == int(seconds)
    return {
        "retry-after": str(int(seconds)) if whole else f"{seconds:g}",
        "retry-after-ms": str(round(seconds * 1000)),
    }


class FaultBook:
    """The seeded RNG and the per-marker counters."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self._marker_uses: Counter[str] = Counter()

    def decide(self, controls: Controls, rates: dict[str, float]) -> str | None:
        draw = self._rng.random()
        if controls.fault is not None:
            if controls.fault_marker is None or controls.fault_times is None:
                return controls.fault
            used = self._marker_uses[controls.fault_marker]
            self._marker_uses[controls.fault_marker] = used + 1
            return controls.fault if used < controls.fault_times else None
        cumulative = 0.0
        for name in FAULTS:  # a fixed order, so a draw maps to the same fault in every process
            cumulative += rates.get(name, 0.0)
            if draw < cumulative:
                return name
        return None


@dataclass
class SimStats:
    requests: int = 0  # chat-completion requests, valid or not
    rejected: int = 0  # answered 400
    streamed: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    answers: Counter[str] = field(default_factory=Counter)  # by kind: structured, tool_calls, grounded...

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "rejected": self.rejected,
            "streamed": self.streamed,
            "faults": dict(self.faults),
            "answers": dict(self.answers),
        }
