"""What one run of a case did, and how a target records it.

A target runs a case's earlier user turns on a fresh thread, then streams the last turn in LangGraph's `debug`
mode: its `task` events, grouped by step, are the supersteps (sets of node names), and the `route` node's
`task_result` is the routing decision. Both targets (in-process and HTTP) read the same events, in-process
from the graph and over HTTP as the protocol's `debug` SSE events.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from evals.cases import Case, Check, evaluate


@dataclass
class CaseRun:
    """One run of a case: the `route` node's decision on the last turn (not the state's final `route`, which an
    agent's refund hand-off rewrites), the last turn's supersteps and wall time, and the state it ended in
    (the graph state's values, without `messages`, plus `__interrupt__`: the pending interrupts' values)."""

    case: Case
    intent: str | None
    tier: str | None
    path: list[frozenset[str]]
    final_state: dict[str, Any]
    seconds: float
    repetition: int = 0

    @property
    def intent_ok(self) -> bool:
        return self.intent == self.case.expected_intent

    @property
    def path_ok(self) -> bool:
        return tuple(self.path) == self.case.expected_path

    @property
    def checks(self) -> list[tuple[Check, bool, str]]:
        return [(check, *evaluate(check, self.final_state)) for check in self.case.checks]

    @property
    def checks_ok(self) -> bool:
        return all(ok for _, ok, _ in self.checks)


class Target(Protocol):
    """Where cases run: `inproc` or the base URL of a server."""

    name: str

    async def run(self, case: Case, repetition: int) -> CaseRun: ...

    async def describe(self) -> dict[str, Any]:
        """`{"llm_simulated": bool, "settings": {...}}` for the run record."""
        ...

    async def aclose(self) -> None: ...


class SuperstepRecorder:
    """Reads `debug` stream parts of one turn: the supersteps as sets of task names, and the `route` decision."""

    def __init__(self) -> None:
        self._steps: dict[int, set[str]] = {}
        self.decision: dict[str, Any] = {}

    def feed(self, part: Mapping[str, Any]) -> None:
        if part["type"] == "task":
            self._steps.setdefault(part["step"], set()).add(part["payload"]["name"])
        elif part["type"] == "task_result" and part["payload"]["name"] == "route":
            # In-process the result is a list of (channel, value) pairs; over the wire, a list of pairs too.
            self.decision = dict(part["payload"]["result"]).get("route") or {}

    @property
    def path(self) -> list[frozenset[str]]:
        return [frozenset(self._steps[step]) for step in sorted(self._steps)]


def final_state(values: Mapping[str, Any], interrupts: Sequence[Any]) -> dict[str, Any]:
    """What the outcome checks read: the state's values without the conversation, plus the pending interrupts."""
    return {**{k: v for k, v in values.items() if k != "messages"}, "__interrupt__": list(interrupts)}
