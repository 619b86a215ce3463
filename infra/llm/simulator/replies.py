"""What the simulator answers to one chat-completions request, before any wire format or timing.

In order: structured output (`response_format` json_schema, or a function forced by `tool_choice`);
tool calls when tools are offered and the current turn has no tool result yet; an answer grounded in
the tool results once they are there; a rephrasing when a draft is given; otherwise a plain reply.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from typing import Any, Literal

from infra.llm.simulator.answers import draft_of, grounded_answer, plain_reply, rephrased
from infra.llm.simulator.conversation import Conversation, SimRequestError, emails, order_ids
from infra.llm.simulator.schema_fill import Evidence, fill
from infra.llm.simulator.tool_plan import (
    PlannedCall,
    ToolSpec,
    best_tool,
    break_arguments,
    call_id,
    calls_for,
    forced_tool,
    read_tools,
)

ReplyKind = Literal["structured", "tool_calls", "grounded", "rephrase", "plain"]
# The call a `bad_tool_json` fault makes when the request offers no tool to break.
UNKNOWN_TOOL = "sim_unknown_tool"


@dataclass(frozen=True)
class Reply:
    kind: ReplyKind
    text: str = ""
    tool_calls: tuple[PlannedCall, ...] = ()

    @property
    def finish_reason(self) -> str:
        return "tool_calls" if self.tool_calls else "stop"


def _schema_of(response_format: Any) -> dict[str, Any] | None:
    """The JSON schema `response_format` asks for; `{}` for plain JSON mode; None for text."""
    if not isinstance(response_format, dict) or response_format.get("type") == "text":
        return None
    if response_format.get("type") == "json_object":
        return {}
    if response_format.get("type") != "json_schema":
        raise SimRequestError(f"unsupported response_format type {response_format.get('type')!r}")
    wrapper = response_format.get("json_schema")
    schema = wrapper.get("schema") if isinstance(wrapper, dict) else None
    if not isinstance(schema, dict):
        raise SimRequestError("response_format json_schema needs json_schema.schema (an object)")
    return schema


def plan_reply(body: dict[str, Any], conversation: Conversation) -> Reply:
    text = conversation.last_user
    evidence = Evidence(text=text, order_ids=tuple(order_ids(text)), emails=tuple(emails(text)))
    seed = hashlib.sha256(json.dumps(body.get("messages"), sort_keys=True).encode()).hexdigest()

    schema = _schema_of(body.get("response_format"))
    if schema is not None:
        value = fill(schema, evidence) if schema else {"answer": plain_reply(text)}
        return Reply("structured", json.dumps(value))

    tools = read_tools(body.get("tools"))
    tool_choice = body.get("tool_choice", "auto")
    forced = forced_tool(tool_choice)
    if forced is not None:
        spec = next((t for t in tools if t.name == forced), None)
        if spec is None:
            raise SimRequestError(f"tool_choice names {forced!r}, which is not among the offered tools")
        call = PlannedCall(call_id(seed, 0), spec.name, json.dumps(fill(spec.parameters, evidence)))
        return Reply("structured", tool_calls=(call,))
    if conversation.tool_results:
        return Reply("grounded", grounded_answer(conversation.tool_results))
    if tools and tool_choice != "none":
        spec = best_tool(tools, evidence)
        if spec is None and tool_choice == "required":
            spec = tools[0]
        if spec is not None:
            parallel = body.get("parallel_tool_calls") is not False
            return Reply("tool_calls", tool_calls=tuple(calls_for(spec, evidence, seed, parallel)))
    draft = draft_of(conversation)
    if draft is not None:
        return Reply("rephrase", rephrased(draft))
    return Reply("plain", plain_reply(text))


def with_bad_tool_json(reply: Reply, tools: list[ToolSpec], seed: str) -> Reply:
    """The reply a `bad_tool_json` fault sends: its first tool call (made up if need be) malformed.

    Structured JSON text is malformed the same way, since that is the client's parse path there.
    """
    if reply.tool_calls:
        first, *rest = reply.tool_calls
        return replace(reply, tool_calls=(break_arguments(first), *rest))
    if reply.kind == "structured":
        return replace(reply, text=reply.text.rstrip("}") + ",,}")
    name = tools[0].name if tools else UNKNOWN_TOOL
    return Reply("tool_calls", tool_calls=(break_arguments(PlannedCall(call_id(seed, 0), name, "{}")),))
