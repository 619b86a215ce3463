"""`GET /threads/{id}/stream`: the thread's own stream, through the real SDK."""

from __future__ import annotations

import asyncio
from typing import Any

from langgraph_sdk import get_client

from tests.support import ServerProcess


async def collect(parts: Any, until_run_done: int) -> list[Any]:
    """Read a never-ending thread stream until `until_run_done` runs have finished."""
    seen: list[Any] = []
    async for part in await parts:  # the SDK's threads.join_stream is a coroutine returning the stream
        seen.append(part)
        if sum(1 for p in seen if p.event == "metadata" and p.data.get("status") == "run_done") == until_run_done:
            return seen
    return seen


async def test_thread_stream_run_modes_lifecycle_and_state(server: ServerProcess) -> None:
    client = get_client(url=server.url)
    thread = await client.threads.create()
    tid = thread["thread_id"]
    listeners = [
        asyncio.create_task(collect(client.threads.join_stream(tid, stream_mode=mode), until_run_done=2))
        for mode in ("run_modes", "lifecycle")
    ]
    state_updates = asyncio.create_task(_first_states(client, tid, 2))
    await asyncio.sleep(0.3)  # the listeners are connected
    first = await client.runs.wait(
        tid, "support", input={"messages": [{"role": "user", "content": "where is order #10005"}]}
    )
    second = await client.runs.wait(tid, "support", input={"messages": [{"role": "user", "content": "and #10002?"}]})
    run_modes, lifecycle = await asyncio.wait_for(asyncio.gather(*listeners), 30)

    names = [p.event for p in run_modes]
    assert names.count("metadata") == 4 and "values" in names  # start and run_done for each run
    done = [p.data for p in run_modes if p.event == "metadata" and p.data.get("status") == "run_done"]
    assert [d["run_status"] for d in done] == ["success", "success"]
    assert all(p.event == "metadata" for p in lifecycle) and len(lifecycle) == 4
    states = await asyncio.wait_for(state_updates, 30)
    assert [s["answer"] for s in states] == [first["answer"], second["answer"]]

    # Resume from the middle: only what came after that id.
    ids = [int(p.id) for p in run_modes]
    assert ids == sorted(set(ids))
    rest = await collect(client.threads.join_stream(tid, last_event_id=str(ids[2])), until_run_done=2)
    assert [p.id for p in rest] == [p.id for p in run_modes[3:]]


async def _first_states(client: Any, tid: str, count: int) -> list[Any]:
    states = []
    async for part in await client.threads.join_stream(tid, stream_mode="state_update"):
        states.append(part.data)
        if len(states) == count:
            return states
    return states
