"""A lean SQLite checkpointer: LangGraph's own `SqliteSaver`, awaited inline.

The stock `AsyncSqliteSaver` sends every statement through aiosqlite's worker
thread: two thread hops and a future per statement, and a support run writes about
twenty times. Here each call runs the stock saver's synchronous code directly on
the event loop. That is safe to do because each call is one short statement on a
local WAL database with `synchronous=NORMAL` (a commit appends to the WAL and does
not fsync), so it holds the loop for tens of microseconds. The SQL, the serde and
the schema are the stock saver's, so files stay compatible either way.
`bench/checkpointers.py` measures the difference; the conformance suite checks
behaviour (`tests/test_checkpointer_conformance.py`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import ChannelVersions, Checkpoint, CheckpointMetadata, CheckpointTuple
from langgraph.checkpoint.sqlite import SqliteSaver

from infra.persistence.sqlite import PRAGMAS, connect_inline


def open_checkpointer(path: Path | str, pragmas: tuple[str, ...] = PRAGMAS) -> InlineSqliteSaver:
    saver = InlineSqliteSaver(connect_inline(path, pragmas))
    saver.setup()
    return saver


# `copy_thread` and `delete_for_runs` are optional `BaseCheckpointSaver` methods the
# stock saver leaves out; they are plain SQL over its schema. `prune` is left out on
# purpose: a correct "keep_latest" must keep each DeltaChannel's writes back to its
# last snapshot, which is more than a one-liner.
_RUN_ID = "json_extract(CAST(metadata AS TEXT), '$.run_id')"  # as the stock `list(filter=...)` reads it
_COLUMNS = {
    "checkpoints": "checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata",
    "writes": "checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type, value",
}


class InlineSqliteSaver(SqliteSaver):
    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Delete the checkpoints whose metadata has one of `run_ids`, with their writes."""
        params = [(str(run_id),) for run_id in run_ids]
        with self.cursor() as cur:
            cur.executemany(
                "DELETE FROM writes WHERE (thread_id, checkpoint_ns, checkpoint_id) IN "
                f"(SELECT thread_id, checkpoint_ns, checkpoint_id FROM checkpoints WHERE {_RUN_ID} = ?)",
                params,
            )
            cur.executemany(f"DELETE FROM checkpoints WHERE {_RUN_ID} = ?", params)

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copy every checkpoint and write of a thread, in every namespace, as stored."""
        with self.cursor() as cur:
            for table, columns in _COLUMNS.items():
                cur.execute(
                    f"INSERT OR REPLACE INTO {table} (thread_id, {columns}) "
                    f"SELECT ?, {columns} FROM {table} WHERE thread_id = ?",
                    (str(target_thread_id), str(source_thread_id)),
                )

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self.get_tuple(config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        # Read everything first: the stock generator holds the saver's lock while it yields, and a
        # consumer that stops early would leave it held and block the event loop on the next call.
        for item in list(self.list(config, filter=filter, before=before, limit=limit)):
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return self.put(config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        self.put_writes(config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        self.delete_thread(thread_id)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        self.delete_for_runs(run_ids)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        self.copy_thread(source_thread_id, target_thread_id)

    async def aget_delta_channel_history(self, *, config: RunnableConfig, channels: Sequence[str]) -> Mapping[str, Any]:
        return self.get_delta_channel_history(config=config, channels=channels)

    def close(self) -> None:
        self.conn.close()
