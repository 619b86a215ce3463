"""Time travel through the real `langgraph_sdk`: history filters, state at a checkpoint,
edits and forks, replays from a past checkpoint, and thread copies."""

from __future__ import annotations

import sqlite3
import uuid
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client

from shop import fixtures
from tests.support import ServerProcess

ORDER_QUESTION = f"where is order #{fixtures.SHIPPED_ORDER}"


@pytest.fixture
def client(server: ServerProcess) -> Any:
    return get_client(url=server.url)


def said(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}


def ids(states: list[dict[str, Any]]) -> list[str]:
    return [s["checkpoint_id"] for s in states]


def one(states: list[dict[str, Any]], next_nodes: list[str]) -> dict[str, Any]:
    """The only checkpoint whose `next` is `next_nodes`."""
    found = [s for s in states if s["next"] == next_nodes]
    assert len(found) == 1, [s["next"] for s in states]
    return found[0]


async def answered_thread(client: Any, text: str = ORDER_QUESTION) -> tuple[str, dict[str, Any]]:
    thread = await client.threads.create()
    result = await client.runs.wait(thread["thread_id"], "support", input=said(text))
    return thread["thread_id"], result


async def test_history_limit_before_and_metadata_filter(client: Any, server: ServerProcess) -> None:
    tid, _ = await answered_thread(client)
    full = await client.threads.get_history(tid, limit=1000)
    assert len(full) >= 5
    assert ids(full) == sorted(ids(full), reverse=True)  # newest first
    steps = [s["metadata"]["step"] for s in full]
    assert steps == list(range(steps[0], -2, -1))  # one checkpoint per step, back to the input
    assert full[0]["checkpoint_id"] == (await client.threads.get_state(tid))["checkpoint_id"]

    assert ids(await client.threads.get_history(tid, limit=2)) == ids(full)[:2]
    pivot = full[2]["checkpoint_id"]
    for before in (pivot, {"checkpoint_id": pivot}, {"configurable": {"checkpoint_id": pivot}}):
        assert ids(await client.threads.get_history(tid, limit=1000, before=before)) == ids(full)[3:], before
    assert ids(await client.threads.get_history(tid, limit=2, before=pivot)) == ids(full)[3:5]

    step_two = await client.threads.get_history(tid, limit=1000, metadata={"source": "loop", "step": 2})
    assert ids(step_two) == [one(full, ["lookup_order"])["checkpoint_id"]]
    loops = [s for s in full if s["metadata"]["source"] == "loop"]
    assert ids(await client.threads.get_history(tid, limit=1000, metadata={"source": "loop"})) == ids(loops)
    assert ids(await client.threads.get_history(tid, limit=1000, metadata={"source": "input"})) == ids(full)[-1:]
    assert await client.threads.get_history(tid, limit=1000, metadata={"source": "loop", "step": 99}) == []
    combined = await client.threads.get_history(
        tid, limit=2, before=full[1]["checkpoint_id"], metadata={"source": "loop"}
    )
    assert ids(combined) == [c for c in ids(loops) if c < full[1]["checkpoint_id"]][:2]

    async with httpx.AsyncClient(base_url=server.url) as http:
        listed = await http.get(f"/threads/{tid}/history", params={"limit": 2, "before": pivot})
        assert ids(listed.json()) == ids(full)[3:5]
        bad = await http.post(f"/threads/{tid}/history", json={"metadata": {"step') OR 1=1 --": 1}})
        assert bad.status_code == 422 and bad.json()["code"] == "invalid_request"


async def test_state_at_every_checkpoint(client: Any) -> None:
    tid, result = await answered_thread(client)
    history = await client.threads.get_history(tid, limit=1000)
    for entry in history:
        state = await client.threads.get_state(tid, checkpoint_id=entry["checkpoint_id"])
        for key in ("values", "next", "metadata", "checkpoint_id", "parent_checkpoint_id"):
            assert state[key] == entry[key], (key, entry["next"])
    at_input = await client.threads.get_state(tid, checkpoint_id=history[-1]["checkpoint_id"])
    assert at_input["values"]["messages"] == [] and at_input["next"] == ["__start__"]
    before_lookup = await client.threads.get_state(tid, checkpoint_id=one(history, ["lookup_order"])["checkpoint_id"])
    assert before_lookup["values"]["route"]["intent"] == "order_status"
    assert not before_lookup["values"].get("answer")
    assert history[0]["values"]["answer"] == result["answer"]
    with pytest.raises(httpx.HTTPStatusError) as missing:
        await client.threads.get_state(tid, checkpoint_id=str(uuid.uuid4()))
    assert missing.value.response.status_code == 404
    assert missing.value.response.json()["code"] == "checkpoint_not_found"


async def test_update_state_as_node_and_copy_fork(client: Any) -> None:
    tid, result = await answered_thread(client)
    head = await client.threads.get_state(tid)

    edited = await client.threads.update_state(tid, {"answer": "edited by a human"}, as_node="respond")
    state = await client.threads.get_state(tid)
    assert state["checkpoint_id"] == edited["checkpoint_id"] != head["checkpoint_id"]
    assert state["values"]["answer"] == "edited by a human"
    assert state["values"]["messages"] == head["values"]["messages"]
    assert state["metadata"]["source"] == "update" and state["parent_checkpoint_id"] == head["checkpoint_id"]
    assert state["next"] == []  # `respond` is the last node: nothing left to run
    unchanged = await client.threads.get_state(tid, checkpoint_id=head["checkpoint_id"])
    assert unchanged["values"]["answer"] == result["answer"]

    forked = await client.threads.update_state(tid, None, as_node="__copy__")
    fork = await client.threads.get_state(tid)
    assert fork["checkpoint_id"] == forked["checkpoint_id"] not in (edited["checkpoint_id"], head["checkpoint_id"])
    assert fork["values"] == state["values"]
    assert fork["metadata"]["source"] == "fork"

    # A fork of a past checkpoint becomes the thread's head, with that checkpoint's values and next step.
    past = one(await client.threads.get_history(tid, limit=1000), ["lookup_order"])
    await client.threads.update_state(tid, None, as_node="__copy__", checkpoint_id=past["checkpoint_id"])
    rewound = await client.threads.get_state(tid)
    assert rewound["metadata"]["source"] == "fork"
    assert rewound["values"] == past["values"] and rewound["next"] == ["lookup_order"]


async def test_replay_from_a_past_checkpoint_branches_the_thread(client: Any) -> None:
    tid, first = await answered_thread(client)
    original = await client.threads.get_history(tid, limit=1000)
    start = one(original, ["lookup_order"])

    replayed = await client.runs.wait(tid, "support", input=None, checkpoint_id=start["checkpoint_id"])
    assert replayed["answer"] == first["answer"]
    history = await client.threads.get_history(tid, limit=1000)
    new = [s for s in history if s["checkpoint_id"] not in set(ids(original))]
    assert new and history[0] == new[0]  # the branch's tip is the thread's head
    by_id = {s["checkpoint_id"]: s for s in history}
    branch, cursor = [], new[0]
    while cursor["checkpoint_id"] != start["checkpoint_id"]:
        assert cursor in new, "the parent chain left the new branch before reaching the replay point"
        branch.append(cursor)
        cursor = by_id[cursor["parent_checkpoint_id"]]
    assert len(branch) == len(new)
    # LangGraph starts the branch with a fork of the replay point, then runs the same steps again.
    *ran, fork = branch
    assert fork["metadata"]["source"] == "fork"
    assert fork["values"] == start["values"] and fork["next"] == start["next"]
    after_start = [s for s in original if s["checkpoint_id"] > start["checkpoint_id"]]
    assert [s["next"] for s in ran] == [s["next"] for s in after_start]
    assert (await client.threads.get_state(tid))["values"]["answer"] == first["answer"]
    assert [r["status"] for r in await client.runs.list(tid)] == ["success", "success"]


async def test_replaying_a_refund_does_not_refund_twice(client: Any, server: ServerProcess) -> None:
    order = fixtures.APPAREL_GBP_ORDER

    def refunds() -> int:
        with sqlite3.connect(server.db / "shop.db") as shop:
            return int(shop.execute("SELECT count(*) FROM refunds WHERE order_id = ?", (order,)).fetchone()[0])

    before = refunds()
    tid, first = await answered_thread(client, f"I want a refund for order #{order}")
    if (await client.threads.get(tid))["status"] == "interrupted":  # above the approval limit: approve it
        approve = {"resume": {"decisions": [{"type": "approve"}]}}
        first = await client.runs.wait(tid, "support", command=approve)
    receipt = first["refund"]["receipt"]
    assert receipt["created"] is True and refunds() == before + 1
    history = await client.threads.get_history(tid, limit=1000)

    replayed = await client.runs.wait(
        tid, "support", input=None, checkpoint_id=one(history, ["issue_refund"])["checkpoint_id"]
    )
    again = replayed["refund"]["receipt"]
    assert again["refund_id"] == receipt["refund_id"]
    assert again["created"] is False
    assert refunds() == before + 1

    # From right after `route` the lookups run again and find nothing left to refund.
    after_route = one(history, ["order_status", "payment_history", "refund_policy"])
    rerouted = await client.runs.wait(tid, "support", input=None, checkpoint_id=after_route["checkpoint_id"])
    assert rerouted["refund"]["assessment"]["eligible"] is False
    assert rerouted["refund"].get("receipt") is None
    assert refunds() == before + 1


async def test_copy_a_thread(client: Any) -> None:
    thread = await client.threads.create(metadata={"owner": "time-travel-copy"})
    tid = thread["thread_id"]
    await client.runs.wait(tid, "support", input=said(ORDER_QUESTION))
    original = await client.threads.get(tid)
    original_state = await client.threads.get_state(tid)
    original_history = await client.threads.get_history(tid, limit=1000)

    copy = await client.threads.copy(tid)
    cid = copy["thread_id"]
    assert cid != tid and await client.threads.get(cid) == copy
    assert copy["metadata"] == original["metadata"] and copy["metadata"]["graph_id"] == "support"
    assert copy["status"] == "idle"
    assert copy["values"] == original["values"] and copy["interrupts"] == original["interrupts"]
    copied_state = await client.threads.get_state(cid)
    assert copied_state["values"] == original_state["values"]
    assert copied_state["checkpoint_id"] == original_state["checkpoint_id"]
    assert copied_state["checkpoint"]["thread_id"] == cid
    copied_history = await client.threads.get_history(cid, limit=1000)
    assert len(copied_history) == len(original_history)
    assert ids(copied_history) == ids(original_history)
    assert [h["values"] for h in copied_history] == [h["values"] for h in original_history]
    assert await client.runs.list(cid) == []  # runs stay with the original

    # Time travel works on the copy, and a new run there leaves the original alone.
    start = one(copied_history, ["lookup_order"])
    assert (await client.threads.get_state(cid, checkpoint_id=start["checkpoint_id"]))["values"] == start["values"]
    follow_up = await client.runs.wait(cid, "support", input=said(f"and order #{fixtures.REFUNDABLE_ORDER}?"))
    assert f"#{fixtures.REFUNDABLE_ORDER}" in follow_up["answer"]
    assert len(await client.threads.get_history(cid, limit=1000)) > len(original_history)
    assert await client.threads.get_state(tid) == original_state
    assert len(await client.threads.get_history(tid, limit=1000)) == len(original_history)
    assert (await client.threads.get(tid))["values"] == original["values"]


async def test_copy_a_thread_without_runs_and_an_unknown_thread(client: Any) -> None:
    fresh = await client.threads.create(metadata={"owner": "time-travel-empty"})
    copy = await client.threads.copy(fresh["thread_id"])
    assert copy["thread_id"] != fresh["thread_id"] and copy["metadata"] == fresh["metadata"]
    assert await client.threads.get_history(copy["thread_id"]) == []
    with pytest.raises(httpx.HTTPStatusError) as missing:
        await client.threads.copy(str(uuid.uuid4()))
    assert missing.value.response.status_code == 404
    assert missing.value.response.json()["code"] == "thread_not_found"
