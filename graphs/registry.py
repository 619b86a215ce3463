"""Every graph the server serves, by graph id. Each entry builds a compiled graph
with the checkpointer and store the app injects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langgraph.graph.state import CompiledStateGraph

from graphs import support

GRAPHS: dict[str, Callable[..., CompiledStateGraph[Any, Any, Any, Any]]] = {"support": support.build}
