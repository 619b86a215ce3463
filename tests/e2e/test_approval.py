"""Human approval of refunds through the real server and SDK: approve, edit, reject, bad decisions,
interrupt_before / interrupt_after."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client

from shop import fixtures
from tests.support import ServerProcess


def refund(order_id: int) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": f"I want a refund for order #{order_id}"}]}


@pytest.fixture
def client(server: ServerProcess) -> Any:
    return get_client(url=server.url)


async def wait_for_approval(client: Any, order_id: int) -> tuple[str, dict[str, Any]]:
    thread = await client.threads.create()
    await client.runs.wait(thread["thread_id"], "support", input=refund(order_id))
    record = await client.threads.get(thread["thread_id"])
    assert record["status"] == "interrupted"
    [pending] = [i for items in record["interrupts"].values() for i in items]
    return thread["thread_id"], pending["value"]


async def test_approve_issues_the_refund_exactly_once(client: Any) -> None:
    tid, request = await wait_for_approval(client, fixtures.LARGE_REFUNDABLE_ORDER)
    assert request["action_requests"][0]["args"]["amount"] == 1249.0
    runs = await client.runs.list(tid)
    assert runs[0]["status"] == "success"  # the run that stopped for approval ended normally
    history = await client.threads.get_history(tid, limit=1)
    assert history[0]["tasks"][0]["interrupts"][0]["value"] == request  # where Agent Chat UI reads it

    done = await client.runs.wait(tid, "support", command={"resume": {"decisions": [{"type": "approve"}]}})
    assert done["refund"]["receipt"]["amount_cents"] == 124900
    assert (await client.threads.get(tid))["status"] == "idle"
    with pytest.raises(httpx.HTTPStatusError) as twice:  # approving again is refused: nothing to resume
        await client.runs.wait(tid, "support", command={"resume": {"decisions": [{"type": "approve"}]}})
    assert twice.value.response.status_code == 409


async def test_edit_lowers_the_amount_and_reject_declines(client: Any) -> None:
    tid, _ = await wait_for_approval(client, fixtures.PARTIALLY_REFUNDED_ORDER)
    edit = {
        "type": "edit",
        "edited_action": {
            "name": "issue_refund",
            "args": {"order_id": fixtures.PARTIALLY_REFUNDED_ORDER, "amount": 50, "currency": "USD"},
        },
    }
    done = await client.runs.wait(tid, "support", command={"resume": {"decisions": [edit]}})
    assert done["refund"]["receipt"]["amount_cents"] == 5000

    tid, _ = await wait_for_approval(client, fixtures.OUTSIDE_WINDOW_ORDER)
    rejected = await client.runs.wait(
        tid, "support", command={"resume": {"decisions": [{"type": "reject", "message": "outside the window"}]}}
    )
    assert rejected["answer"].endswith("was not approved: outside the window.")
    assert "receipt" not in rejected["refund"]


@pytest.mark.parametrize(
    "resume",
    [
        {"decisions": [{"type": "maybe"}]},
        {"decisions": []},
        {"choice": "approve"},
        {"decisions": [{"type": "edit"}]},
        {
            "decisions": [
                {
                    "type": "edit",
                    "edited_action": {
                        "name": "issue_refund",
                        "args": {"order_id": fixtures.MIXED_CATEGORY_ORDER, "amount": 99999, "currency": "EUR"},
                    },
                }
            ]
        },
        {"decisions": [{"type": "edit", "edited_action": {"name": "cancel_order", "args": {}}}]},
    ],
)
async def test_a_malformed_decision_is_refused_and_the_thread_stays_interrupted(
    client: Any, server: ServerProcess, resume: Any
) -> None:
    tid, _ = await wait_for_approval(client, fixtures.MIXED_CATEGORY_ORDER)
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.post(
            f"/threads/{tid}/runs/wait", json={"assistant_id": "support", "command": {"resume": resume}}
        )
    assert response.status_code == 422 and response.json()["code"] == "invalid_decision", response.text
    assert (await client.threads.get(tid))["status"] == "interrupted"
    done = await client.runs.wait(tid, "support", command={"resume": {"decisions": [{"type": "reject"}]}})
    assert "was not approved" in done["answer"]


async def test_resuming_a_thread_that_is_not_interrupted_is_refused(client: Any, server: ServerProcess) -> None:
    thread = await client.threads.create()
    await client.runs.wait(thread["thread_id"], "support", input={"messages": [{"role": "user", "content": "hi"}]})
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.post(
            f"/threads/{thread['thread_id']}/runs/wait",
            json={"assistant_id": "support", "command": {"resume": {"decisions": [{"type": "approve"}]}}},
        )
    assert response.status_code == 409 and response.json()["code"] == "thread_not_interrupted"


@pytest.mark.parametrize(("where", "nodes"), [("interrupt_before", ["lookup_order"]), ("interrupt_after", "*")])
async def test_interrupt_before_and_after_then_resume_with_null_input(client: Any, where: str, nodes: Any) -> None:
    thread = await client.threads.create()
    tid = thread["thread_id"]
    first = await client.runs.wait(
        tid, "support", input={"messages": [{"role": "user", "content": "where is order 10005"}]}, **{where: nodes}
    )
    assert first.get("answer") is None
    assert (await client.threads.get(tid))["status"] == "interrupted"
    state = await client.threads.get_state(tid)
    assert state["next"]
    final = first
    for _ in range(10):  # interrupt_after "*" pauses after every node
        if final.get("answer") and not (await client.threads.get_state(tid))["next"]:
            break
        final = await client.runs.wait(tid, "support", input=None, **{where: nodes})
    assert final["answer"].startswith("Order #10005")
