"""The in-process target: cases run through the real support graph in this process, each on a fresh shop copy.

Refunds and cancellations are real and idempotent, so every case gets its own copy of a seeded template shop
and its own LLM service (gate, breakers, caches: nothing cached carries over between cases). Both reach the
nodes through `nodes.deps.scoped_deps`, a context variable, so cases may run concurrently in one event loop
without seeing each other's shop. The compiled graph, its in-memory checkpointer (one thread per case run,
deleted afterwards) and the chat models (stateless clients) are built once and shared.
"""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver

from evals.cases import Case
from evals.observation import CaseRun, SuperstepRecorder, final_state
from graphs.support import build
from infra.llm.client import Role, chat_model
from infra.llm.service import LlmService
from infra.settings import Settings, get_settings
from nodes.deps import scoped_deps
from nodes.state import Context, SupportInput
from shop.tools import Shop

# What the run record shows of the settings an in-process run used.
RECORDED_SETTINGS = (
    "router_model",
    "agent_model",
    "responder_model",
    "llm_router",
    "responder",
    "refund_approval_limit",
    "agent_max_iterations",
    "run_deadline_s",
    "sim_ttft_ms",
    "sim_tokens_per_s",
    "sim_faults",
)


def seed_shop_template(folder: Path, orders: int = 1000, customers: int = 200) -> Path:
    """A small demo shop (seed 42, as of 2026-11-01) in `folder`; every fixture order is in it.
    Cases run on copies of it, because refunds and cancellations are real."""
    from shop.seed import seed_database

    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "shop.db").exists():
        seed_database(folder / "shop.db", seed=42, customers=customers, orders=orders)
    return folder


class InprocTarget:
    name = "inproc"

    def __init__(self, shop_template: Path, workdir: Path, settings: Settings | None = None) -> None:
        self.shop_template = shop_template
        self.workdir = workdir
        self.settings = settings or get_settings()
        self.checkpointer = InMemorySaver()
        self.graph = build(checkpointer=self.checkpointer)
        roles: tuple[Role, ...] = ("router", "agent", "responder")
        self._models = {role: chat_model(role, self.settings) for role in roles}

    async def describe(self) -> dict[str, Any]:
        settings = {name: getattr(self.settings, name) for name in RECORDED_SETTINGS}
        settings["shop"] = "a fresh copy of the seeded demo shop per case run"
        return {"llm_simulated": self.settings.llm_simulated, "settings": settings}

    async def run(self, case: Case, repetition: int = 0) -> CaseRun:
        """Earlier user turns run first on the case's own thread; the last turn streams in `debug` mode."""
        folder = self.workdir / f"{case.id}-{repetition}-{uuid.uuid4().hex[:8]}"
        shutil.copytree(self.shop_template, folder)
        shop = await Shop.open(folder / "shop.db")
        llm = LlmService.from_settings(self.settings, models=self._models)
        thread_id = folder.name
        config: Any = {"configurable": {"thread_id": thread_id}}
        context = Context(**{"priority": "eval", **case.context})
        try:
            with scoped_deps(shop, llm):
                *earlier, last = case.user_turns
                for text in earlier:
                    await self.graph.ainvoke(SupportInput(messages=[HumanMessage(text)]), config, context=context)
                recorder = SuperstepRecorder()
                started = time.perf_counter()
                async for part in self.graph.astream(
                    SupportInput(messages=[HumanMessage(last)]), config, context=context, stream_mode="debug"
                ):
                    recorder.feed(part)
                seconds = time.perf_counter() - started
                snapshot = await self.graph.aget_state(config)
        finally:
            await shop.close()
            await self.checkpointer.adelete_thread(thread_id)
            shutil.rmtree(folder, ignore_errors=True)
        return CaseRun(
            case=case,
            intent=recorder.decision.get("intent"),
            tier=recorder.decision.get("tier"),
            path=recorder.path,
            final_state=final_state(snapshot.values, [i.value for i in snapshot.interrupts]),
            seconds=seconds,
            repetition=repetition,
        )

    async def aclose(self) -> None:
        """Nothing to release: each case closes its own shop."""


async def run_case(case: Case, shop_template: Path, workdir: Path) -> CaseRun:
    """Run one case in-process on a fresh copy of `shop_template` (a one-off `InprocTarget`)."""
    return await InprocTarget(shop_template, workdir).run(case)
