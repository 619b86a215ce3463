"""The executor of scale-out mode: every process shares one run queue in Redis.

`submit` only queues the run (`infra.persistence.redis_queue`); each process's dispatcher
claims runs while it has a free slot and executes them with the stored request, so any
process executes any run. While a run executes, its process renews the run's lease;
a process that dies stops renewing, and any other process's housekeeping requeues the
run, whose next claim resumes it from its last checkpoint (a new attempt). Cancels go
through the queue: a queued run is taken out and recorded here, an executing one is
signalled to its owner (pub/sub, with the lease renewal as the fallback).

When Redis itself is unreachable, a run stops without recording an outcome, because it
cannot: its lease expires and, once Redis is back, the run is resumed like a dead
process's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from infra.jsonwire import loads
from infra.persistence.events import EventLog
from infra.persistence.records import RecordStore, RunRecord
from infra.persistence.redis_queue import Claim, RedisRunQueue
from server.execution import CancelAction, RunExecutor, RunRequest, ThreadBusy, cancelled

log = logging.getLogger("switchyard.scaleout")

# Rebuilds a stored run's request; `True` for a takeover. None: the run cannot be served (recorded).
Prepare = Callable[[RunRecord, bool], Awaitable[RunRequest | None]]
_RETRY_S = 0.5  # pause of a loop after a Redis error


def worker_id() -> str:
    """Unique per process and start; the pid lets an operator (and a test) find the process."""
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"


class ScaleOutExecutor(RunExecutor):
    unavailable = (RedisConnectionError, RedisTimeoutError)

    def __init__(
        self,
        records: RecordStore,
        events: EventLog,
        queue: RedisRunQueue,
        max_running: int = 64,
        thread_events: EventLog | None = None,
        lease_seconds: float = 10.0,
    ) -> None:
        super().__init__(records, events, max_running, thread_events)
        self.queue = queue
        self.lease_seconds = lease_seconds
        self.prepare: Prepare | None = None  # set once the graphs exist
        self._loops: list[asyncio.Task[None]] = []

    def start(self, prepare: Prepare) -> None:
        self.prepare = prepare
        self._loops = [
            asyncio.create_task(self._dispatch(), name="dispatch"),
            asyncio.create_task(self._housekeeping(), name="housekeeping"),
            asyncio.create_task(self._listen_for_cancels(), name="cancels"),
        ]

    async def shutdown(self) -> None:
        """Stop claiming; hand this process's runs back to the queue for the others to resume."""
        self._stopping = True
        for loop in self._loops:
            loop.cancel()
        # A cancel landing in a Redis command can be swallowed (see `_stream`); the loops also
        # stop at their next turn because `_stopping` is set, within a second.
        if self._loops:
            await asyncio.wait(self._loops, timeout=2)
        running = list(self._tasks)
        for run_id in running:
            self._cancel_local(run_id, "abandon")
        if self._tasks:
            await asyncio.wait(list(self._tasks.values()), timeout=5)
        with contextlib.suppress(RedisError):
            handed = await self.queue.hand_back(running)
            if handed:
                log.warning("handed %d unfinished run(s) back to the queue", len(handed))

    # -- the API's side ----------------------------------------------------------------------
    async def submit(self, run: RunRecord, request: RunRequest, *, reject_if_busy: bool = False) -> None:
        # The request is rebuilt from the run record by whichever process claims the run.
        await self.announce(run)
        if not await self.queue.push(run.thread_id, run.run_id, reject_if_busy=reject_if_busy):
            await self.events.close(run.run_id)
            raise ThreadBusy(run.thread_id)

    async def unfinished_on_thread(self, thread_id: str) -> list[str]:
        return await self.queue.active(thread_id)

    async def wait(self, run_id: str) -> Any:
        task = self._tasks.get(run_id)
        if task is not None:
            try:
                result = await asyncio.shield(task)
                if result is not None:
                    return result
            except asyncio.CancelledError:
                if not task.cancelled():
                    raise  # the waiter itself was cancelled
        # Executing elsewhere, or handed on: the run's log ends when the run does, its last
        # `values` event is the final state (also of a stateless run, whose thread is gone by then).
        final: Any = None
        async for event in self.events.follow(run_id):
            if event.event == "values":
                final = event.data
            elif event.event == "error":
                return {"__error__": loads(event.data)}
        return None if final is None else loads(final)

    async def cancel(self, run_id: str, action: CancelAction = "interrupt") -> bool:
        if self._cancel_local(run_id, action):
            return True
        run = await self.records.get_run(run_id)
        if run is None:
            return False
        outcome = await self.queue.cancel(run.thread_id, run_id, action)
        if outcome == "dequeued" and self.prepare is not None:
            request = await self.prepare(run, False)
            if request is not None:
                self._cancelled[run_id] = action
                await self._conclude(run, request, "interrupted", cancelled("the run was cancelled"))
        return outcome != "none"

    # -- the workers' side -------------------------------------------------------------------
    def _slot(self, run: RunRecord) -> contextlib.AbstractAsyncContextManager[Any]:
        # The run's lease is its thread's lock, and the dispatcher took its running slot.
        return contextlib.nullcontext()

    async def _dispatch(self) -> None:
        while not self._stopping:
            await self._running.acquire()
            try:
                claim = await self.queue.claim()
                if claim is None:
                    self._running.release()
                    await self.queue.wait_for_work(1.0)
                    continue
            except RedisError as exc:
                self._running.release()
                log.warning("run queue unreachable (%s); retrying", type(exc).__name__)
                await asyncio.sleep(_RETRY_S)
                continue
            self._track(claim.run_id, asyncio.create_task(self._run_claimed(claim), name=claim.thread_id))

    async def _run_claimed(self, claim: Claim) -> Any:
        assert self.prepare is not None
        result: Any = None
        try:
            run = await self.records.get_run(claim.run_id)
            request = None if run is None else await self.prepare(run, claim.claims > 1)
            if run is not None and request is not None:
                if claim.claims > 1:
                    await self.announce(run)  # the new attempt's log
                if claim.cancel:  # cancelled while its previous owner was dying
                    self._cancelled[run.run_id] = claim.cancel
                result = await self._execute(run, request)
            await self.queue.release(claim.thread_id, claim.run_id)
        except self.unavailable as exc:
            log.warning(
                "run %s stopped: Redis is unreachable (%s); it resumes once its lease expires",
                claim.run_id,
                type(exc).__name__,
            )
        finally:
            self._running.release()
        return result

    async def _housekeeping(self) -> None:
        """Renew this process's leases, apply cancels the pub/sub missed, requeue dead processes' runs."""
        while not self._stopping:
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                renewal = await self.queue.renew(list(self._tasks))
                for run_id in renewal.lost:
                    log.warning("run %s was taken over by another process; stopping it here", run_id)
                    self._cancel_local(run_id, "abandon")
                for run_id, action in renewal.cancels.items():
                    self._cancel_local(run_id, action)
                for run_id in await self.queue.reap():
                    log.warning("run %s lost its process (lease expired); requeued to resume", run_id)
            except RedisError as exc:
                log.warning("lease renewal failed (%s); retrying", type(exc).__name__)

    async def _listen_for_cancels(self) -> None:
        while not self._stopping:
            try:
                async with self.queue.redis.pubsub() as pubsub:
                    await pubsub.subscribe(self.queue.cancel_channel)
                    while not self._stopping:
                        # A bounded wait, not `listen()`: that would trip the client's socket timeout
                        # when no cancel comes for a while, and cancels sent while resubscribing are lost.
                        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                        if message is None or message.get("type") != "message":
                            continue
                        data = message["data"]
                        run_id, _, action = (data.decode() if isinstance(data, bytes) else str(data)).partition("\t")
                        self._cancel_local(run_id, action)
            except RedisError as exc:
                log.warning("cancel channel unreachable (%s); retrying", type(exc).__name__)
                await asyncio.sleep(_RETRY_S)
