"""The real server process driven by the real `langgraph_sdk` client."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client

from shop import fixtures
from tests.support import ServerProcess


def refund(order_id: int) -> dict[str, Any]:
    """Each test refunds its own order: refunds are real and happen once."""
    return {"messages": [{"role": "user", "content": f"I want a refund for order #{order_id}"}]}


ALL_MODES = ["values", "updates", "messages-tuple", "custom", "tasks", "checkpoints", "debug"]


@pytest.fixture
def client(server: ServerProcess) -> Any:
    return get_client(url=server.url)


async def test_assistants_search_get_and_draw(client: Any) -> None:
    found = await client.assistants.search(graph_id="support")
    assert len(found) == 1
    assistant = found[0]
    assert assistant["metadata"] == {"created_by": "system"}
    assert assistant["assistant_id"] == "a76bea17-1a15-53a6-bfc6-e12c619f641d"  # uuid5 of the protocol
    assert (await client.assistants.get("support"))["assistant_id"] == assistant["assistant_id"]
    drawn = await client.assistants.get_graph(assistant["assistant_id"])
    names = {n["id"] for n in drawn["nodes"]}
    assert {"guard", "route", "order_status", "payment_history", "refund_policy", "assess_refund"} <= names
    schemas = await client.assistants.get_schemas("support")
    assert "messages" in schemas["input_schema"]["properties"]
    assert await client.assistants.get_subgraphs("support") == {}


async def test_stream_in_several_modes_at_once(client: Any) -> None:
    thread = await client.threads.create(metadata={"test": "modes"})
    events: list[tuple[str, Any]] = []
    async for part in client.runs.stream(
        thread["thread_id"], "support", input=refund(fixtures.REFUNDABLE_ORDER), stream_mode=ALL_MODES
    ):
        events.append((part.event, part.data))
    names = [name for name, _ in events]
    assert names[0] == "metadata" and names[-1] == "end"
    assert {"values", "updates", "messages", "tasks", "checkpoints", "debug"} <= set(names)
    final = [data for name, data in events if name == "values"][-1]
    assert final["route"]["intent"] == "refund"
    assert final["messages"][-1]["type"] == "ai"
    assert "Refund of 79.99 USD" in final["answer"]
    answer_messages = [data[0] for name, data in events if name == "messages"]
    assert any(m["content"] == final["answer"] for m in answer_messages)

    # The three lookups are tasks of one superstep: debug task events share a step.
    steps = {d["payload"]["name"]: d["step"] for name, d in events if name == "debug" and d["type"] == "task"}
    assert steps["order_status"] == steps["payment_history"] == steps["refund_policy"]
    assert steps["assess_refund"] == steps["order_status"] + 1


async def test_wait_state_history_and_thread_search(client: Any) -> None:
    thread = await client.threads.create(metadata={"owner": "e2e-wait"})
    result = await client.runs.wait(
        thread["thread_id"],
        "support",
        input=refund(fixtures.APPAREL_GBP_ORDER),
        context={"refund_approval_limit": 1000},  # a per-run setting: no approval needed here
    )
    assert result["refund"]["receipt"]["order_id"] == fixtures.APPAREL_GBP_ORDER

    state = await client.threads.get_state(thread["thread_id"])
    assert state["values"]["answer"] == result["answer"]
    assert state["next"] == []
    history = await client.threads.get_history(thread["thread_id"], limit=20)
    assert history[0]["checkpoint"]["checkpoint_id"] == state["checkpoint"]["checkpoint_id"]
    fanout = [h for h in history if set(h["next"]) == {"order_status", "payment_history", "refund_policy"}]
    assert len(fanout) == 1
    earlier = await client.threads.get_state(
        thread["thread_id"], checkpoint_id=fanout[0]["checkpoint"]["checkpoint_id"]
    )
    assert earlier["values"]["route"]["intent"] == "refund"
    limited = await client.threads.get_history(thread["thread_id"], limit=2)
    assert len(limited) == 2

    found = await client.threads.search(metadata={"owner": "e2e-wait"})
    assert [t["thread_id"] for t in found] == [thread["thread_id"]]
    record = found[0]
    assert record["status"] == "idle"
    assert record["metadata"]["graph_id"] == "support"
    assert record["values"]["answer"] == result["answer"]
    by_graph = await client.threads.search(metadata={"graph_id": "support"}, limit=100)
    assert thread["thread_id"] in {t["thread_id"] for t in by_graph}

    runs = await client.runs.list(thread["thread_id"])
    assert [r["status"] for r in runs] == ["success"]


async def test_background_run_join_and_resumable_stream(client: Any, server: ServerProcess) -> None:
    thread = await client.threads.create()
    run = await client.runs.create(
        thread["thread_id"],
        "support",
        input=refund(fixtures.UNDOWNLOADED_DIGITAL_ORDER),
        stream_mode=["values", "updates"],
        stream_resumable=True,
    )
    assert run["status"] in ("pending", "running")
    joined = await client.runs.join(thread["thread_id"], run["run_id"])
    assert "Refund of" in joined["answer"]
    assert (await client.runs.get(thread["thread_id"], run["run_id"]))["status"] == "success"

    # After the run ended, the whole stream replays from the start, then `end`.
    replay = [p async for p in client.runs.join_stream(thread["thread_id"], run["run_id"], last_event_id="-1")]
    assert replay[0].event == "metadata" and replay[-1].event == "end"
    # ...and from the middle: only what came after that id.
    url = f"{server.url}/threads/{thread['thread_id']}/runs/{run['run_id']}/stream"
    async with httpx.AsyncClient() as http:
        full = (await http.get(url, headers={"Last-Event-ID": "-1"})).text
        ids = [int(line[4:]) for line in full.splitlines() if line.startswith("id: ")]
        assert ids == sorted(set(ids)) and ids[0] == 1
        rest = (await http.get(url, headers={"Last-Event-ID": str(ids[2])})).text
        rest_ids = [int(line[4:]) for line in rest.splitlines() if line.startswith("id: ")]
        assert rest_ids == ids[3:]
        bogus = await http.get(url, headers={"Last-Event-ID": "not-an-id"})
        assert bogus.status_code == 400
        assert bogus.json()["code"] == "invalid_last_event_id"


async def test_stateless_runs(client: Any) -> None:
    result = await client.runs.wait(
        None, "support", input={"messages": [{"role": "user", "content": "where is order 10005"}]}
    )
    assert result["route"]["intent"] == "order_status"
    parts = [
        p
        async for p in client.runs.stream(
            None, "support", input=refund(fixtures.PARTIALLY_REFUNDED_ORDER), stream_mode="updates"
        )
    ]
    assert parts[0].event == "metadata" and parts[-1].event == "end"


async def test_follow_up_turns_in_one_thread(client: Any) -> None:
    thread = await client.threads.create()
    tid = thread["thread_id"]
    first = await client.runs.wait(
        tid, "support", input={"messages": [{"role": "user", "content": "where is order #10005?"}]}
    )
    assert "#10005" in first["answer"]
    second = await client.runs.wait(
        tid,
        "support",
        input={"messages": [{"role": "user", "content": [{"type": "text", "text": "and order #10013?"}]}]},
    )
    assert second["route"]["intent"] == "order_status" and "#10013" in second["answer"]
    assert len(second["messages"]) == 4


async def test_complex_question_streams_agent_tokens_as_messages_tuple(client: Any, server: ServerProcess) -> None:
    thread = await client.threads.create()
    question = {"messages": [{"role": "user", "content": "Which items are in #10014, and what did they cost?"}]}
    parts = [
        p
        async for p in client.runs.stream(
            thread["thread_id"], "support", input=question, stream_mode=["messages-tuple", "values", "custom"]
        )
    ]
    final = [p.data for p in parts if p.event == "values"][-1]
    assert final["route"]["intent"] == "complex" and final["usage"]["calls"] >= 2
    streamed: dict[str, str] = {}
    for part in parts:
        if part.event == "messages":
            message, metadata = part.data
            streamed[message["id"]] = streamed.get(message["id"], "") + (message.get("content") or "")
            assert metadata["langgraph_node"] != "route"  # the router's JSON never reaches the chat
    assert final["answer"] in streamed.values()
    async with httpx.AsyncClient() as http:
        health = (await http.get(f"{server.url}/health")).json()
    assert health["mode"]["llm"] == "simulated"
    assert health["checks"]["llm"]["breaker"]["state"] == "closed"
    assert "SIMULATOR" in server.log.read_text()  # and the startup log says so plainly
