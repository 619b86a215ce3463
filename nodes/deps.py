"""How nodes reach the shop and the LLM: one process-wide instance each, set by the app or made lazily.

The server opens the shop in its lifespan and hands it over with `use_shop`; under
`langgraph dev` (Studio) nothing does, so the first node to ask opens it from settings.
`scoped_deps` overrides both for one task and the tasks it starts: the offline evals run
cases concurrently in one process, each on its own copy of the shop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from infra.llm.service import LlmService
from infra.settings import db_paths, get_settings
from shop.tools import Shop

_shop: Shop | None = None
_opening = asyncio.Lock()
_scoped: ContextVar[tuple[Shop, LlmService] | None] = ContextVar("switchyard_scoped_deps", default=None)


@contextmanager
def scoped_deps(shop: Shop, llm: LlmService) -> Iterator[None]:
    """Inside the block, this task and every task it starts (graph nodes included) use `shop` and `llm`
    instead of the process's. Other tasks are not affected."""
    token = _scoped.set((shop, llm))
    try:
        yield
    finally:
        _scoped.reset(token)


def use_shop(shop: Shop | None) -> None:
    global _shop
    _shop = shop


async def current_shop() -> Shop:
    global _shop
    if (scoped := _scoped.get()) is not None:
        return scoped[0]
    if _shop is None:
        async with _opening:
            if _shop is None:
                settings = get_settings()
                _shop = await Shop.open(db_paths(settings.db).shop, latency=settings.tool_latency_ms / 1000)
    return _shop


_llm: LlmService | None = None


def use_llm(service: LlmService | None) -> None:
    global _llm
    _llm = service


async def current_llm() -> LlmService:
    """The process's LLM service (gate, breakers, caches are shared by every run)."""
    global _llm
    if (scoped := _scoped.get()) is not None:
        return scoped[1]
    if _llm is None:
        _llm = LlmService.from_settings(get_settings())
    return _llm
