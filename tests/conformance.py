"""Running one capability of LangGraph's official checkpointer conformance suite, for any saver."""

from __future__ import annotations

from langgraph.checkpoint.conformance import validate
from langgraph.checkpoint.conformance.initializer import RegisteredCheckpointer
from langgraph.checkpoint.conformance.report import ProgressCallbacks

# What our savers implement; `prune` is declared unsupported (delta channels, see the savers).
BASE = {"put", "put_writes", "get_tuple", "list", "delete_thread"}
EXTENDED = {"copy_thread", "delete_for_runs"}
UNSUPPORTED = {"prune"}


async def assert_conforms(registered: RegisteredCheckpointer, capability: str) -> None:
    """The capability is detected and every check of it passes; failures are listed."""
    errors: list[str] = []

    def record(cap: str, test: str, passed: bool, error: str | None) -> None:
        if not passed:
            errors.append(f"{test}:\n{error}")

    report = await validate(registered, capabilities={capability}, progress=ProgressCallbacks(on_test_result=record))
    result = report.results[capability]
    assert result.detected, f"{capability} not detected"
    assert result.passed, "\n".join(errors)
    assert result.tests_passed > 0
