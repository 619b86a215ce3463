"""The HTTP target: cases run against a running `switchyard serve` through the real `langgraph_sdk` client.

Per case run: a new thread, the earlier user turns with `runs.wait`, the last turn with `runs.stream` in the
protocol's `debug` mode (the same task events the in-process target reads), then `threads.get_state` for the
final state; the thread is deleted afterwards.

The server has one shop, so cases cannot each get a fresh copy as they do in-process: a case that refunds
order 10002 would leave it refunded for every later case, and the order cases run in would change the
results. So the cases whose expected path writes to the shop (`SHOP_WRITERS`) are left out of HTTP runs;
`--target inproc` covers them. The server's LLM response cache and gate are shared by every case too.
"""

from __future__ import annotations

import os
import time
from typing import Any

from langgraph_sdk import get_client

from evals.cases import Case
from evals.observation import CaseRun, SuperstepRecorder, final_state

# Nodes that move money or change an order: refunds, cancellations, and the agent's refund hand-off.
SHOP_WRITERS = frozenset({"issue_refund", "cancel_order", "refund_hand_off"})


def writes_to_shop(case: Case) -> bool:
    """True when the case's expected path changes the shop, so it cannot share one with other cases."""
    return any(step & SHOP_WRITERS for step in case.expected_path)


class RunFailed(RuntimeError):
    """The server ended the run with an `error` event."""


class HttpTarget:
    def __init__(self, url: str, assistant_id: str = "support") -> None:
        self.name = url
        self.assistant_id = assistant_id
        # Only a LangGraph key goes to the server; the SDK would otherwise send LANGSMITH_API_KEY along.
        self.client = get_client(url=url, api_key=os.environ.get("LANGGRAPH_API_KEY"))

    async def describe(self) -> dict[str, Any]:
        info = await self.client.http.get("/info")
        mode = info.get("mode") or {}
        settings = {
            "server_version": info.get("version"),
            "storage": mode.get("storage"),
            "llm": mode.get("llm"),
            "shop": "the server's shop, shared by every case; cases that write to it are left out",
        }
        return {"llm_simulated": mode.get("llm") == "simulated", "settings": settings}

    async def run(self, case: Case, repetition: int = 0) -> CaseRun:
        thread = await self.client.threads.create(metadata={"eval_case": case.id, "repetition": repetition})
        thread_id = thread["thread_id"]
        context = {"priority": "eval", **case.context}
        try:
            *earlier, last = case.user_turns
            for text in earlier:
                await self.client.runs.wait(thread_id, self.assistant_id, input=_turn(text), context=context)
            recorder = SuperstepRecorder()
            started = time.perf_counter()
            async for part in self.client.runs.stream(
                thread_id, self.assistant_id, input=_turn(last), context=context, stream_mode=["debug"]
            ):
                if part.event == "debug":
                    recorder.feed(part.data)
                elif part.event == "error":
                    raise RunFailed(str(part.data))
            seconds = time.perf_counter() - started
            state = await self.client.threads.get_state(thread_id)
        finally:
            await self.client.threads.delete(thread_id)
        values = state["values"]
        if not isinstance(values, dict):
            raise RunFailed(f"the thread's state values are a {type(values).__name__}, not an object")
        interrupts = [i["value"] for i in state.get("interrupts") or ()]
        return CaseRun(
            case=case,
            intent=recorder.decision.get("intent"),
            tier=recorder.decision.get("tier"),
            path=recorder.path,
            final_state=final_state(values, interrupts),
            seconds=seconds,
            repetition=repetition,
        )

    async def aclose(self) -> None:
        await self.client.aclose()


def _turn(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}
