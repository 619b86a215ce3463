"""Entry point for `langgraph dev` / Studio (see langgraph.json): the platform injects
its own checkpointer, so this is a thin call with none."""

from graphs.support import build

graph = build()
