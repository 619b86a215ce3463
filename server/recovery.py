"""Crash recovery: runs a dead process left `pending` or `running` run again.

Each goes back in the queue with its `attempt` incremented. A run that had checkpointed
continues from its thread's latest checkpoint; one that had not starts over from its
request. Side effects do not repeat: their idempotency keys come from the thread and the
step, never from the attempt. Clients rejoin with `GET /threads/{t}/runs/{r}/stream`;
the new attempt's event ids sort after the old ones, so a `Last-Event-ID` from before
the crash replays the new attempt whole.
"""

from __future__ import annotations

import logging

from pydantic import ValidationError

from infra.persistence.records import RunRecord, now
from server.errors import ApiError
from server.execution import RunRequest
from server.run_requests import build_request
from server.schemas import RunCreate
from server.services import Services

log = logging.getLogger("switchyard.recovery")


async def _checkpointed(s: Services, graph_id: str, run: RunRecord) -> bool:
    checkpointer = s.graphs[graph_id].checkpointer
    if checkpointer is None or isinstance(checkpointer, bool):
        return False
    config = {"configurable": {"thread_id": run.thread_id}}
    async for _ in checkpointer.alist(config, filter={"run_id": run.run_id}, limit=1):  # type: ignore[arg-type]
        return True
    return False


async def _give_up(s: Services, run: RunRecord, why: str) -> None:
    run.status, run.error, run.updated_at = "error", why, now()
    thread = await s.records.get_thread(run.thread_id)
    if thread is not None and thread.status == "busy":
        thread.status, thread.updated_at = "error", now()
    await s.records.put_run(run, thread)
    log.warning("run %s could not be resumed: %s", run.run_id, why)


async def stored_request(s: Services, run: RunRecord, *, takeover: bool) -> RunRequest | None:
    """The executor's request for a stored run, rebuilt from the body stored with it.

    `takeover`: the run's previous attempt died with its process, so this is the next
    attempt, from the thread's latest checkpoint if it had made one. None when the run
    cannot be served any more (recorded on the run as its error)."""
    stored = dict(run.kwargs)
    stateless = bool(stored.pop("stateless", False))
    try:
        body = RunCreate.model_validate(stored)
        graph_id = s.graph_id(body.assistant_id)
    except (ValidationError, ApiError):
        await _give_up(s, run, "the run's request can no longer be served after a restart")
        return None
    if await s.records.get_thread(run.thread_id) is None:  # deleted while the run waited: so is the run
        await s.records.delete_run(run.run_id)
        log.warning("run %s dropped: its thread no longer exists", run.run_id)
        return None
    if not takeover:
        return build_request(s, graph_id, run, body, stateless=stateless)
    started = await _checkpointed(s, graph_id, run)
    run.attempt += 1
    run.status, run.updated_at, run.error = "pending", now(), None
    await s.records.put_run(run)
    log.warning(
        "run %s resumed after its process stopped (attempt %d, %s)",
        run.run_id,
        run.attempt,
        "from its last checkpoint" if started else "from its request",
    )
    return build_request(s, graph_id, run, body, stateless=stateless, resume=started)


async def resume_unfinished(s: Services) -> int:
    """Queue again every run left unfinished (embedded mode); the number queued."""
    resumed = 0
    for run in await s.records.unfinished_runs():
        request = await stored_request(s, run, takeover=True)
        if request is not None:
            await s.executor.submit(run, request)
            resumed += 1
    return resumed
