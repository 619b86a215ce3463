"""The degradation ladder: when the LLM cannot answer, the next rung does, and the state says so.

    1. the LLM's answer
    2. a cached answer to the same normalised question (only if what it read is unchanged)
    3. the intent's template answer
    4. human handoff

A request never goes unanswered because the LLM failed.
"""

from __future__ import annotations

from typing import Any

from langgraph.config import get_stream_writer

from infra.llm.cache import ResponseCache
from nodes import templates
from nodes.deps import current_llm, current_shop
from nodes.state import SupportState


def question_key(state: SupportState) -> str:
    return " ".join(state.get("text", "").lower().split())


async def order_versions(order_ids: list[int]) -> dict[str, str]:
    """What an answer about these orders depended on: each order's last update."""
    shop = await current_shop()
    versions = {}
    for order_id in sorted(set(order_ids)):
        order = await shop.get_order(order_id)
        versions[f"order:{order_id}"] = order.updated_at if order else "missing"
    return versions


async def remember_answer(state: SupportState, answer: str, order_ids: list[int]) -> None:
    """Keep a read-only answer for rung 2, tagged with the versions of the orders it read."""
    cache: ResponseCache = (await current_llm()).answers
    versions = await order_versions(order_ids)
    # Read-only answers only: the agent has no side-effecting tool.
    await cache.aput(question_key(state), {"answer": answer, "orders": order_ids}, deps=versions, cacheable=True)


async def degrade(state: SupportState, reason: str, template: str | None = None) -> dict[str, Any]:
    """Answer from the highest rung below the LLM that can, and record which and why.
    `template` is the intent's template answer, when the intent has one."""
    cache: ResponseCache = (await current_llm()).answers
    key = question_key(state)
    peek = await cache.apeek(key)
    if peek is not None:
        hit = await cache.aget(key, deps=await order_versions(peek["orders"]))
        if hit is not None:
            return _answered(hit["answer"], "cached_answer", reason)
    if template is not None:
        return _answered(template, "template", reason)
    return _answered(templates.handoff("the assistant is unavailable"), "human_handoff", reason)


def report_gate_wait(role: str, waited_s: float) -> None:
    """Time an LLM call queued at the gate, as a `custom` stream event (only when it waited)."""
    if waited_s > 0.001:
        get_stream_writer()({"type": "llm_gate", "role": role, "waited_s": round(waited_s, 4)})


def template_answer(answer: str, reason: str) -> dict[str, Any]:
    """Rung 3 directly: the deterministic answer stands when the LLM could not improve on it."""
    return _answered(answer, "template", reason)


def _answered(answer: str, rung: str, reason: str) -> dict[str, Any]:
    degraded = {"rung": rung, "reason": reason}
    get_stream_writer()({"type": "degraded", **degraded})
    return {"answer": answer, "degraded": degraded}
