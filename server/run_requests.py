"""From a run's request body to what the executor runs: config, input, modes, cleanup.

Shared by the runs API and crash recovery, which rebuilds the request of a run that a
dead process left behind from the body stored with it.
"""

from __future__ import annotations

from typing import cast
from uuid import UUID

from langchain_core.runnables import RunnableConfig

from infra.persistence.records import RunRecord
from server.errors import Unprocessable
from server.execution import RunRequest, graph_input
from server.schemas import UNSUPPORTED_RUN_FIELDS, RunCreate
from server.services import Services

_CONFIG_KEYS = {"configurable", "tags", "recursion_limit", "run_name", "max_concurrency", "metadata"}


def refuse_unsupported(body: RunCreate) -> None:
    for name in UNSUPPORTED_RUN_FIELDS:
        if getattr(body, name) not in (None, [], 0):
            raise Unprocessable(f"'{name}' is not supported by this server.", code="unsupported_field")
    unknown = set(body.config or {}) - _CONFIG_KEYS
    if unknown:
        raise Unprocessable(f"config keys not supported: {sorted(unknown)}", code="unsupported_field")
    if body.input is not None and body.command is not None:
        raise Unprocessable("Give either 'input' or 'command', not both.", code="invalid_request")


def run_config(body: RunCreate, run: RunRecord, *, from_latest: bool = False) -> RunnableConfig:
    """The graph's config: the client's, with the thread, the checkpoint to start from and run metadata."""
    user = dict(body.config or {})
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
    return cast(
        RunnableConfig,
        {**user, "configurable": configurable, "metadata": run_metadata, "run_id": UUID(run.run_id)},
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
