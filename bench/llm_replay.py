"""The simulator's own time for a run's LLM calls: replay them straight to it with ChatOpenAI.

From a run's final values the calls are rebuilt as the app made them: the router's structured
classification (when the LLM tier decided) and one agent call per AI message, each with the
conversation before it. They are sent one after another, as the run made them, through the same
`chat_model` the server builds, without our gate, retries, graph, checkpointer or HTTP server.
"""

from __future__ import annotations

import time
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_openai import ChatOpenAI

from infra.llm.client import Role, chat_model
from infra.settings import Settings
from nodes.agent import AGENT_PROMPT, conversation
from nodes.agent_tools import AGENT_TOOLS
from routers.llm_tier import ROUTER_PROMPT, IntentChoice

_MESSAGE_TYPES: dict[str, type[AnyMessage]] = {"human": HumanMessage, "ai": AIMessage, "tool": ToolMessage}
_MODELS: dict[tuple[str, Role], ChatOpenAI] = {}


def _model(llm_url: str, role: Role) -> ChatOpenAI:
    """One client per endpoint and role, kept across replays (as the server keeps its own)."""
    if (llm_url, role) not in _MODELS:
        _MODELS[(llm_url, role)] = chat_model(role, Settings(openai_base_url=llm_url, openai_api_key="sim"))
    return _MODELS[(llm_url, role)]


def _messages(values: dict[str, Any]) -> list[AnyMessage]:
    return [_MESSAGE_TYPES[m["type"]].model_validate(m) for m in values.get("messages", [])]


async def direct_llm_seconds(llm_url: str, values: dict[str, Any]) -> tuple[float, int]:
    """(seconds the run's LLM calls take sent directly, how many calls) for a run's final values."""
    calls, total = 0, 0.0
    if (values.get("route") or {}).get("tier") == "llm":
        router = _model(llm_url, "router").with_structured_output(IntentChoice, method="json_schema", include_raw=True)
        started = time.perf_counter()
        await router.ainvoke([SystemMessage(ROUTER_PROMPT), HumanMessage(values["text"])])
        total, calls = total + time.perf_counter() - started, calls + 1
    agent = _model(llm_url, "agent").bind_tools(AGENT_TOOLS)
    messages = _messages(values)
    for i, message in enumerate(messages):
        if isinstance(message, AIMessage):  # each agent call added one AI message
            started = time.perf_counter()
            await agent.ainvoke([SystemMessage(AGENT_PROMPT), *conversation(messages[:i])])
            total, calls = total + time.perf_counter() - started, calls + 1
    return total, calls
