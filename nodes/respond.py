"""respond: the last node of every turn. Appends the answer as an AI message, so chat UIs show it.

With the responder on (setting `SWITCHYARD_RESPONDER`, or a run's `context.responder`),
a deterministic answer is first rephrased by the LLM; its tokens stream to the client as
`messages` events. A deterministic check then verifies that every fact (order ids,
amounts, dates, reference numbers) survived; if one did not, the template answer stands.
"""

from __future__ import annotations

import re
from typing import Any
from uuid import uuid4

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langgraph.runtime import Runtime

from infra.llm.retry import LlmUnavailable
from infra.settings import get_settings
from nodes.deps import current_llm
from nodes.ladder import report_gate_wait, template_answer
from nodes.limits import deadline
from nodes.state import Context, SupportState

RESPONDER_PROMPT = (
    "You are the responder of Switchyard's support desk. Rephrase the draft answer for the customer, warm and "
    "brief. Keep every order number, amount, currency, date and reference exactly as written."
)
# Order ids, ISO dates, money like "79.99 USD", and any other number of two or more digits.
_FACT = re.compile(r"#\d+|\b\d{4}-\d{2}-\d{2}\b|\b\d[\d,]*\.\d{2}(?:\s?[A-Z]{3})?\b|\b\d{2,}\b")


def facts(text: str) -> set[str]:
    return set(_FACT.findall(text))


def missing_facts(draft: str, phrased: str) -> set[str]:
    """Facts of the draft that the phrasing does not contain verbatim."""
    return {fact for fact in facts(draft) if fact not in phrased}


def responder_on(runtime: Runtime[Context]) -> bool:
    chosen = runtime.context.responder if runtime.context else None
    return get_settings().responder if chosen is None else chosen


async def respond(state: SupportState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Reads `answer`, `messages`, `degraded`; writes `messages` (one AI message) and, when the
    responder rephrased, `answer` and `usage`. A missing answer is a bug upstream, so the
    ladder's last rung answers and `degraded` records it."""
    answer = state.get("answer")
    if not answer:
        text = "Sorry, I couldn't complete that. A human agent will pick up this conversation."
        return {
            "answer": text,
            "messages": [AIMessage(content=text, id=str(uuid4()))],
            "degraded": {"rung": "human_handoff", "reason": "no answer was produced"},
        }
    messages = state.get("messages", [])
    if messages and isinstance(messages[-1], AIMessage) and messages[-1].text == answer:
        return {}  # the agent's own message is the answer, already in the conversation
    if responder_on(runtime) and state.get("degraded") is None:
        return await rephrase(state, answer, runtime)
    return {"messages": [AIMessage(content=answer, id=str(uuid4()))]}


async def rephrase(state: SupportState, draft: str, runtime: Runtime[Context]) -> dict[str, Any]:
    llm = await current_llm()
    priority = runtime.context.priority if runtime.context else "interactive"
    prompt = [SystemMessage(RESPONDER_PROMPT), HumanMessage(f"Draft answer: {draft}")]
    fallback = {"messages": [AIMessage(content=draft, id=str(uuid4()))]}
    try:
        result = await llm.ainvoke(
            "responder",
            prompt,
            priority=priority,
            deadline=deadline(state, get_settings()),
            cache_deps={},
        )
    except LlmUnavailable as exc:
        return {**fallback, **template_answer(draft, f"responder unavailable: {exc.code}")}
    report_gate_wait("responder", result.waited_s)
    phrased = result.message.text
    lost = missing_facts(draft, phrased)
    if lost:
        return {
            **fallback,
            **template_answer(draft, f"responder dropped facts: {sorted(lost)}"),
            "usage": result.usage,
        }
    return {"messages": [result.message], "answer": phrased, "usage": result.usage}
