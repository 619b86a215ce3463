"""From a run's request body to what the executor runs: config, input, modes, cleanup.

Shared by the runs API and crash recovery, which rebuilds the request of a run that a
dead process left behind from the body stored with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast
from uuid import UUID

from langchain_core.messages import convert_to_messages
from langchain_core.runnables import RunnableConfig

from infra.persistence.records import RunRecord
from server.errors import Unprocessable
from server.execution import RunRequest, graph_input
from server.run_telemetry import NodeTelemetry, graph_label
from server.schemas import SUPPORTED_CONFIG_KEYS, UNSUPPORTED_RUN_FIELDS, RunCreate
from server.services import Services


def refuse_unsupported(body: RunCreate) -> None:
    """Refuse, before anything is stored, what no run could do: fields this server does not implement,
    config keys it does not pass on, and messages LangChain cannot read."""
    for name in UNSUPPORTED_RUN_FIELDS:
        if getattr(body, name) not in (None, [], 0):
            raise Unprocessable(f"'{name}' is not supported by this server.", code="unsupported_field")
    unknown = set(body.config or {}) - SUPPORTED_CONFIG_KEYS
    if unknown:
        raise Unprocessable(f"config keys not supported: {sorted(unknown)}", code="unsupported_field")
    if body.input is not None and body.command is not None:
        raise Unprocessable("Give either 'input' or 'command', not both.", code="invalid_request")
    update = body.command.update if body.command is not None else None
    for where, values in (("input", body.input), ("command.update", update)):
        if isinstance(values, dict) and "messages" in values:
            _refuse_unreadable(where, values["messages"])


def _refuse_unreadable(where: str, messages: Any) -> None:
    """What `add_messages` does to an update, done before the run: a run that fails here has
    already written its input into a checkpoint that no later read of the thread gets past."""
    try:
        convert_to_messages(messages if isinstance(messages, list) else [messages])
    except (ValueError, TypeError, NotImplementedError):
        raise Unprocessable(
            f"{where}.messages: each must be a message LangChain reads: an object with 'role' or 'type' "
            "and 'content', a [role, content] pair, or a string.",
            code="invalid_request",
        ) from None


def _texts(content: Any) -> Iterator[str]:
    """The text of a message's content: a string, or a list of parts (strings or `{"text": ...}`)."""
    if isinstance(content, str):
        yield content
    elif isinstance(content, list):
        for part in content:
            if isinstance(part, str):
                yield part
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                yield part["text"]


def refuse_long_messages(body: RunCreate, limit: int) -> None:
    """422 `message_too_long` when a message of the input (or a resume value) is longer than `limit` characters.
    Messages come as LangChain accepts them: `{"content": ...}` objects, `[role, text]` pairs or strings."""
    if not limit:
        return
    messages = body.input.get("messages") if isinstance(body.input, dict) else None
    if isinstance(messages, dict | str):
        messages = [messages]
    contents: list[Any] = [body.command.resume] if body.command is not None else []
    for message in messages if isinstance(messages, list) else []:
        if isinstance(message, dict):
            contents.append(message.get("content"))
        elif isinstance(message, list) and len(message) == 2:
            contents.append(message[1])
        else:
            contents.append(message)
    longest = max((len(text) for content in contents for text in _texts(content)), default=0)
    if longest > limit:
        raise Unprocessable(
            f"A message is {longest} characters long; the limit is {limit} (SWITCHYARD_MAX_MESSAGE_CHARS).",
            code="message_too_long",
        )


def run_config(body: RunCreate, run: RunRecord, *, from_latest: bool = False) -> RunnableConfig:
    """The graph's config: the client's, with the thread, the checkpoint to start from and run metadata."""
    user: dict[str, Any] = dict(body.config or {})
    configurable = dict(user.pop("configurable", None) or {})
    checkpoint = body.checkpoint.model_dump(exclude_none=True) if body.checkpoint else {}
    if body.checkpoint_id:
        checkpoint["checkpoint_id"] = body.checkpoint_id
    checkpoint.pop("thread_id", None)
    if not from_latest:  # a resumed run continues from where it got to, not from where it began
        configurable.update(checkpoint)
    configurable["thread_id"] = run.thread_id
    ids = {"thread_id": run.thread_id, "run_id": run.run_id, "run_attempt": run.attempt}
    run_metadata = {**user.pop("metadata", {}), **run.metadata, **ids}
    callbacks = [NodeTelemetry(graph_label(run))]  # node timings and spans
    return cast(
        RunnableConfig,
        {
            **user,
            "configurable": configurable,
            "metadata": run_metadata,
            "run_id": UUID(run.run_id),
            "callbacks": callbacks,
        },
    )


def build_request(
    s: Services, graph_id: str, run: RunRecord, body: RunCreate, *, stateless: bool, resume: bool = False
) -> RunRequest:
    """`resume`: continue a run from its thread's latest checkpoint (input None) after a crash."""
    graph = s.graphs[graph_id]
    durability = body.durability
    if durability is None and body.checkpoint_during is not None:
        durability = "async" if body.checkpoint_during else "exit"

    async def delete_thread() -> None:
        await s.records.delete_thread(run.thread_id)
        if graph.checkpointer is not None:
            await graph.checkpointer.adelete_thread(run.thread_id)  # type: ignore[union-attr]

    command = body.command.model_dump() if body.command else None
    return RunRequest(
        graph=graph,
        graph_input=None if resume else graph_input(body.input, command),
        config=run_config(body, run, from_latest=resume),
        context=body.context,
        modes=body.modes(),
        subgraphs=body.stream_subgraphs,
        interrupt_before=body.interrupt_before,
        interrupt_after=body.interrupt_after,
        durability=durability,
        after=delete_thread if stateless and body.on_completion == "delete" else None,
    )
