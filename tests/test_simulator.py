"""The LLM simulator, always through the real `ChatOpenAI` (openai SDK, httpx2), never a patched SDK.

In-process tests use `SimulatorTransport`; one test runs `serve()` as its own process over real HTTP.
Latency is off unless a test is about latency, and timing assertions are lower bounds or orderings.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Literal

import httpx2
import openai
import pytest
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.tools import BaseTool, tool
from langchain_openai import ChatOpenAI
from pydantic import BaseModel, Field, SecretStr

from infra.llm.simulator import SimConfig, SimulatorTransport, create_app

ROOT = Path(__file__).resolve().parents[1]
FAST = SimConfig(ttft_ms=0, tokens_per_s=0, stall_s=5.0)
Intent = Literal["order_status", "refund", "cancel_order", "password_reset", "faq", "handoff", "complex"]


class IntentChoice(BaseModel):
    intent: Intent
    confidence: float = Field(ge=0.0, le=1.0)
    reason: str = Field(max_length=300)


ORDER = {
    "order_id": 10002,
    "customer_id": 7,
    "customer_email": "ana@example.com",
    "status": "shipped",
    "currency": "USD",
    "items": [{"sku": "MUG-1", "name": "Mug", "quantity": 2, "unit_price_cents": 1299}],
    "subtotal_cents": 2598,
    "shipping_cents": 499,
    "total_cents": 3097,
    "created_at": "2025-03-01T10:00:00Z",
    "paid_at": "2025-03-01T10:05:00Z",
    "shipped_at": "2025-03-02T08:00:00Z",
    "delivered_at": None,
}


@tool
async def get_order(order_id: int) -> dict[str, Any]:
    """Look up an order by its number: status, items, totals and dates."""
    return {**ORDER, "order_id": order_id}


@tool
async def get_payment_history(order_id: int) -> dict[str, Any]:
    """Payments and refunds of an order so far, with captured, refunded and refundable totals."""
    return {"order_id": order_id, "found": True, "captured_cents": 3097, "refunded_cents": 0}


@tool
async def search_kb(query: str) -> list[dict[str, Any]]:
    """Search the store's help articles (shipping, returns, payments, accounts, warranty)."""
    return [{"title": "Shipping abroad", "body": "We ship to 30 countries. Delivery takes 5-9 days."}]


@tool
def hand_off_refund(order_id: int, reason: str) -> str:
    """Hand a refund request for an order to the refund desk, which checks eligibility and the amount.
    Use it whenever the customer wants money back; never promise a refund yourself."""
    return f"Refund request for order #{order_id} handed to the refund desk."


TOOLS: list[BaseTool] = [get_order, get_payment_history, search_kb, hand_off_refund]
BY_NAME = {t.name: t for t in TOOLS}


def client_for(config: SimConfig = FAST) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=SimulatorTransport(create_app(config)), base_url="http://simulator")


def llm(client: httpx2.AsyncClient, **kwargs: Any) -> ChatOpenAI:
    options: dict[str, Any] = {"max_retries": 0, "stream_usage": True, "timeout": 5.0, **kwargs}
    return ChatOpenAI(
        model="gpt-4o-mini",
        api_key=SecretStr("sim"),
        base_url="http://simulator/v1",
        http_async_client=client,
        **options,
    )


def question(text: str) -> list[BaseMessage]:
    return [SystemMessage("You are the support agent of an online store."), HumanMessage(text)]


def merged(chunks: list[Any]) -> AIMessageChunk:
    """The streamed chunks added up, as LangChain does for a streamed message."""
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    assert isinstance(total, AIMessageChunk)
    return total


async def stats(client: httpx2.AsyncClient) -> dict[str, Any]:
    response = await client.get("/sim/stats")
    return dict(response.json())


# -- plain replies and streaming ----------------------------------------------------------------------


async def test_plain_reply_invoke_and_stream_agree() -> None:
    model = llm(client_for())
    answer = await model.ainvoke(question("Hello, what can you do for me?"))
    assert isinstance(answer.content, str) and answer.content
    assert (await model.ainvoke(question("Hello, what can you do for me?"))).content == answer.content
    assert answer.usage_metadata and answer.usage_metadata["output_tokens"] > 0

    chunks = [c async for c in model.astream(question("Hello, what can you do for me?"))]
    texts = [c.content for c in chunks if c.content]
    assert len(texts) > 5 and "".join(str(t) for t in texts) == answer.content
    usage = [c.usage_metadata for c in chunks if c.usage_metadata]
    assert usage == [answer.usage_metadata]


async def test_streamed_tokens_arrive_incrementally() -> None:
    model = llm(client_for(SimConfig(ttft_ms=0, tokens_per_s=40)))
    arrivals = [time.monotonic() async for c in model.astream(question("Hello there")) if c.content]
    # ~31 tokens at 40/s take ~0.75 s; a buffered transport would deliver them all at the same instant.
    assert len(arrivals) > 5 and arrivals[-1] - arrivals[0] > 0.3


async def test_stock_asgi_transport_works_but_buffers() -> None:
    """The plain `httpx2.ASGITransport` wiring answers correctly too; it only delivers the stream at once."""
    stock = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=create_app(FAST)), base_url="http://simulator")
    model = llm(stock)
    answer = await model.ainvoke(question("Hello"))
    streamed = "".join([str(c.content) async for c in model.astream(question("Hello"))])
    assert streamed == answer.content


# -- structured output ----------------------------------------------------------------------------------

CLASSIFIED = [
    ("Where is my order #10002?", "order_status"),
    ("I want my money back for order 10002", "refund"),
    ("Can you reimburse me?", "refund"),
    ("Please cancel order 10003", "cancel_order"),
    ("I forgot my password and can't log in", "password_reset"),
    ("What is your return policy?", "faq"),
    ("Let me talk to a human", "handoff"),
    ("Tell me a poem about bicycles", "complex"),
]


@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
async def test_structured_classification(method: Literal["json_schema", "function_calling"]) -> None:
    router = llm(client_for()).with_structured_output(IntentChoice, method=method)
    for text, intent in CLASSIFIED:
        choice = await router.ainvoke([SystemMessage("Classify the customer's last message."), HumanMessage(text)])
        assert isinstance(choice, IntentChoice)
        assert (choice.intent, text) == (intent, text)
        assert 0.0 <= choice.confidence <= 1.0 and choice.reason


# -- agent with tools ---------------------------------------------------------------------------------

PLANS = [
    ("Where is my order #10002?", [("get_order", {"order_id": 10002})]),
    ("I want my money back for order 10002", [("hand_off_refund", None)]),
    (
        "Were orders 10002 and #10003 paid?",
        [("get_payment_history", {"order_id": i}) for i in (10002, 10003)],
    ),
    ("Do you ship to Canada?", [("search_kb", {"query": "Do you ship to Canada?"})]),
    ("Hi, thanks a lot!", []),
]


@pytest.mark.parametrize(("text", "expected"), PLANS)
async def test_agent_plans_schema_valid_tool_calls(text: str, expected: list[tuple[str, Any]]) -> None:
    message = await llm(client_for()).bind_tools(TOOLS).ainvoke(question(text))
    assert isinstance(message, AIMessage)
    assert [c["name"] for c in message.tool_calls] == [name for name, _ in expected]
    for call, (_, args) in zip(message.tool_calls, expected, strict=True):
        BY_NAME[call["name"]].args_schema.model_validate(call["args"])  # type: ignore[union-attr]
        assert args is None or call["args"] == args
    if not expected:
        assert message.content and message.response_metadata["finish_reason"] == "stop"
    else:
        assert message.response_metadata["finish_reason"] == "tool_calls"


async def test_streamed_tool_calls_match_invoked_ones() -> None:
    agent = llm(client_for()).bind_tools(TOOLS)
    invoked = await agent.ainvoke(question("Were orders 10002 and #10003 paid?"))
    chunks = [c async for c in agent.astream(question("Were orders 10002 and #10003 paid?"))]
    assert isinstance(invoked, AIMessage) and merged(chunks).tool_calls == invoked.tool_calls
    pieces = [c for c in chunks if isinstance(c, AIMessageChunk) and c.tool_call_chunks]
    assert len(pieces) > 4  # names and arguments arrive in fragments


async def test_agent_final_answer_cites_tool_results_only() -> None:
    agent = llm(client_for()).bind_tools(TOOLS)
    messages = question("Where is my order #10002?")
    planned = await agent.ainvoke(messages)
    assert isinstance(planned, AIMessage)
    results = [
        ToolMessage(json.dumps(await BY_NAME[c["name"]].ainvoke(c["args"])), tool_call_id=c["id"])
        for c in planned.tool_calls
    ]
    final = await agent.ainvoke([*messages, planned, *results])
    assert not final.tool_calls and isinstance(final.content, str)
    for fact in ("10002", "shipped", "3097", "2025-03-02T08:00:00Z", "USD"):
        assert fact in final.content
    evidence = " ".join(str(r.content) for r in results)
    assert all(number in evidence for number in re.findall(r"\d+", final.content))


async def test_rephrasing_keeps_every_fact_of_the_draft() -> None:
    draft = "Order #10002 was shipped on 2025-03-02. I am sorry, we cannot refund 30.97 USD after 30 days."
    prompt = [
        SystemMessage("Rephrase the draft answer for the customer."),
        HumanMessage(f"Draft answer: {draft}"),
    ]
    phrased = (await llm(client_for()).ainvoke(prompt)).content
    assert isinstance(phrased, str) and phrased != draft
    assert all(fact in phrased for fact in ("#10002", "2025-03-02", "30.97 USD", "30 days"))


# -- faults ---------------------------------------------------------------------------------------------


async def test_429_is_a_rate_limit_error_with_retry_after() -> None:
    model = llm(client_for(), default_headers={"x-sim-fault": "429", "x-sim-retry-after": "2"})
    with pytest.raises(openai.RateLimitError) as caught:
        await model.ainvoke(question("Hello"))
    assert caught.value.response.headers["retry-after"] == "2"
    assert caught.value.response.headers["retry-after-ms"] == "2000"
    assert caught.value.code == "rate_limit_exceeded"


@pytest.mark.parametrize("status", [500, 503])
async def test_server_errors_are_internal_server_errors(status: int) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        await llm(client_for()).ainvoke(question(f"Hello [sim:fault={status}]"))
    assert caught.value.status_code == status
    assert isinstance(caught.value.body, dict) and caught.value.body["type"] == "server_error"


async def test_stall_hits_the_client_timeout_mid_stream() -> None:
    model = llm(client_for(), timeout=0.3)
    received: list[str] = []
    with pytest.raises(openai.APITimeoutError):
        async for chunk in model.astream(question("Hello there [sim:fault=stall]")):
            received.append(str(chunk.content))
    assert "".join(received)  # some tokens came before the silence
    with pytest.raises(openai.APITimeoutError):
        await model.ainvoke(question("Hello there [sim:fault=stall]"))


async def test_stall_shorter_than_the_timeout_only_delays() -> None:
    model = llm(client_for(SimConfig(ttft_ms=0, tokens_per_s=0, stall_s=0.2)))
    started = time.monotonic()
    streamed = "".join([str(c.content) async for c in model.astream(question("Hello [sim:fault=stall]"))])
    assert streamed == (await model.ainvoke(question("Hello"))).content
    assert time.monotonic() - started >= 0.2


async def test_timeout_never_answers_within_stall_s() -> None:
    with pytest.raises(openai.APITimeoutError):
        await llm(client_for(), timeout=0.3).ainvoke(question("Hello [sim:fault=timeout]"))
    # A client more patient than stall_s gets a 504 in the end.
    patient = llm(client_for(SimConfig(ttft_ms=0, tokens_per_s=0, stall_s=0.1)))
    with pytest.raises(openai.InternalServerError) as caught:
        await patient.ainvoke(question("Hello [sim:fault=timeout]"))
    assert caught.value.status_code == 504 and caught.value.code == "sim_timeout"


async def test_cut_drops_the_connection() -> None:
    model = llm(client_for())
    received: list[str] = []
    with pytest.raises(openai.APIConnectionError):
        async for chunk in model.astream(question("Hello there [sim:fault=cut]")):
            received.append(str(chunk.content))
    assert "".join(received)
    with pytest.raises(openai.APIConnectionError):
        await model.ainvoke(question("Hello there [sim:fault=cut]"))


@pytest.mark.parametrize("streaming", [False, True])
async def test_bad_tool_json_is_an_invalid_tool_call(streaming: bool) -> None:
    agent = llm(client_for(), default_headers={"x-sim-fault": "bad_tool_json"}).bind_tools(TOOLS)
    if streaming:
        message: BaseMessage = merged([c async for c in agent.astream(question("Where is my order #10002?"))])
    else:
        message = await agent.ainvoke(question("Where is my order #10002?"))
    assert isinstance(message, AIMessage)
    assert not message.tool_calls
    assert [c["name"] for c in message.invalid_tool_calls] == ["get_order"]


async def test_counted_marker_fails_n_times_then_succeeds() -> None:
    client = client_for()
    model = llm(client)
    for _ in range(2):
        with pytest.raises(openai.InternalServerError):
            await model.ainvoke(question("Hello [sim:fault=500x2]"))
    assert (await model.ainvoke(question("Hello [sim:fault=500x2]"))).content
    with pytest.raises(openai.InternalServerError):  # another marker text has its own count
        await model.ainvoke(question("Hi [sim:fault=503x1]"))
    # The SDK's own retries get through a counted fault, honouring retry-after-ms.
    retrying = llm(client, max_retries=2)
    assert (await retrying.ainvoke(question("Hello [sim:fault=429x2,retry_after=0.01]"))).content
    assert (await stats(client))["faults"] == {"500": 2, "503": 1, "429": 2}


async def test_configured_fault_rates_are_deterministic_per_seed() -> None:
    async def outcomes(seed: int) -> list[int]:
        client = client_for(SimConfig(ttft_ms=0, tokens_per_s=0, faults={"500": 0.3, "503": 0.2}, seed=seed))
        body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
        return [(await client.post("/v1/chat/completions", json=body)).status_code for _ in range(20)]

    first = await outcomes(seed=11)
    assert first == await outcomes(seed=11)
    assert {500, 503, 200} <= set(first)


async def test_latency_overrides() -> None:
    model = llm(client_for(SimConfig(ttft_ms=0, tokens_per_s=0)))
    started = time.monotonic()
    await model.ainvoke(question("Hello"))
    fast = time.monotonic() - started
    started = time.monotonic()
    await model.ainvoke(question("Hello [sim:ttft=300]"))
    slow_marker = time.monotonic() - started
    started = time.monotonic()
    await model.ainvoke(question("Hello"), extra_headers={"x-sim-ttft-ms": "200", "x-sim-tokens-per-s": "100"})
    slow_header = time.monotonic() - started
    assert slow_marker >= 0.3 and slow_header >= 0.2 + 0.2  # ttft, then ~30 tokens at 100/s
    assert fast < slow_marker and fast < slow_header


async def test_runtime_control_endpoints() -> None:
    client = client_for()
    model = llm(client)
    await model.ainvoke(question("Hello"))
    [_ async for _ in model.astream(question("Where is my order #10002?"))]
    with pytest.raises(openai.RateLimitError):
        await model.ainvoke(question("Hello [sim:fault=429]"))
    seen = await stats(client)
    assert (seen["requests"], seen["streamed"], seen["faults"]) == (3, 1, {"429": 1})
    assert seen["answers"] == {"plain": 2}

    configured = await client.post("/sim/config", json={"faults": {"503": 1.0}})
    assert configured.status_code == 200 and configured.json()["config"]["faults"] == {"503": 1.0}
    with pytest.raises(openai.InternalServerError):
        await model.ainvoke(question("Hello"))
    refused = await client.post("/sim/config", json={"faults": {"boom": 1.0}})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "sim_invalid_config"

    await client.post("/sim/reset")
    assert (await model.ainvoke(question("Hello"))).content
    after = await stats(client)
    assert (after["requests"], after["faults"], after["config"]["faults"]) == (1, {}, {})
    assert [m["id"] for m in (await client.get("/v1/models")).json()["data"]][:1] == ["gpt-4o-mini"]


# -- own process ----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_serve_in_its_own_process() -> None:
    port = free_port()
    script = (
        "from infra.llm.simulator import SimConfig, serve; "
        f"serve('127.0.0.1', {port}, SimConfig(ttft_ms=0, tokens_per_s=500), log_level='warning')"
    )
    process = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        async with (
            httpx2.AsyncClient(base_url=base, trust_env=False) as http,
            httpx2.AsyncClient(trust_env=False) as sdk_http,
        ):
            deadline = time.monotonic() + 15
            while True:
                try:
                    if (await http.get("/v1/models")).status_code == 200:
                        break
                except httpx2.TransportError:
                    assert time.monotonic() < deadline and process.poll() is None, "simulator did not start"
                    time.sleep(0.05)
            model = ChatOpenAI(
                model="gpt-4o",
                api_key=SecretStr("sim"),
                base_url=f"{base}/v1",
                max_retries=0,
                stream_usage=True,
                timeout=5,
                http_async_client=sdk_http,
            )
            answer = await model.ainvoke(question("Where is my order #10002?"))
            streamed = [c async for c in model.astream(question("Where is my order #10002?"))]
            assert "".join(str(c.content) for c in streamed) == answer.content
            assert any(c.usage_metadata for c in streamed)
            with pytest.raises(openai.APIConnectionError):
                [_ async for _ in model.astream(question("Hello there [sim:fault=cut]"))]
            assert (await http.post("/sim/config", json={"faults": {"429": 1.0}})).status_code == 200
            with pytest.raises(openai.RateLimitError):
                await model.ainvoke(question("Hello"))
            assert (await http.get("/sim/stats")).json()["faults"] == {"cut": 1, "429": 1}
    finally:
        process.terminate()
        process.wait(timeout=10)
