"""The real `langgraph_sdk` client reconnects by itself when the network cuts a resumable stream.

A small TCP proxy sits between the SDK and the server and can cut every live connection
abruptly (RST, as a dying load balancer would). The SDK then reconnects to the stream's
`Location` with `Last-Event-ID`; what it yields across the cut must be exactly the run's
event log: no event missing, none twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from langgraph_sdk import get_client
from langgraph_sdk.schema import StreamPart

from shop import fixtures
from tests.support import ServerProcess, copy_db, running_server

SLOW = {"SWITCHYARD_TOOL_LATENCY_MS": "300", "SWITCHYARD_HEARTBEAT_SECONDS": "0.2"}
STREAM_TIMEOUT_S = 30.0  # a stream that never ends fails the test instead of hanging it


class CuttableProxy:
    """Forwards 127.0.0.1:`port` to the server; `cut()` aborts every live connection at once.

    `truncate_next(n)` makes the next accepted connection die `n` bytes into its first
    response body, which cuts a stream the server sends in one burst (a finished run's replay).
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self.requests: list[bytes] = []  # every client->server chunk, to see what the SDK sent
        self._live: set[asyncio.StreamWriter] = set()
        self._truncate: int | None = None
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> CuttableProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.cut()
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    def cut(self) -> None:
        for writer in list(self._live):
            writer.transport.abort()
        self._live.clear()

    def truncate_next(self, body_bytes: int) -> None:
        self._truncate = body_bytes

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        truncate, self._truncate = self._truncate, None
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        pair = {client_writer, upstream_writer}
        self._live |= pair
        pipes = [
            asyncio.create_task(self._pipe(client_reader, upstream_writer, record=True)),
            asyncio.create_task(self._pipe(upstream_reader, client_writer, truncate=truncate)),
        ]
        # Either side closing ends the pair: the proxy never half-closes.
        await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        for task in pipes:
            task.cancel()
        for writer in pair:
            writer.transport.abort()
        self._live -= pair

    async def _pipe(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        record: bool = False,
        truncate: int | None = None,
    ) -> None:
        seen = bytearray()
        try:
            while data := await reader.read(65536):
                if record:
                    self.requests.append(data)
                if truncate is not None:
                    head_end = (bytes(seen) + data).find(b"\r\n\r\n")
                    if head_end >= 0 and len(seen) + len(data) >= head_end + 4 + truncate:
                        writer.write(data[: head_end + 4 + truncate - len(seen)])
                        await writer.drain()
                        return
                    seen += data
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            return

    def reconnects(self) -> int:
        """GET requests that carried a Last-Event-ID, i.e. the SDK resuming a stream."""
        return sum(1 for chunk in self.requests if chunk.startswith(b"GET ") and b"last-event-id:" in chunk.lower())


@pytest.fixture(scope="module")
def slow_server(shop_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("reconnect")
    with running_server(copy_db(shop_template, folder / "db"), folder / "server.log", env=SLOW) as server:
        yield server


@pytest.fixture
async def proxy(slow_server: ServerProcess) -> AsyncIterator[CuttableProxy]:
    async with CuttableProxy(slow_server.port) as running:
        yield running


def ask(text: str) -> Any:
    return {"messages": [{"role": "user", "content": text}]}


def frames(parts: list[StreamPart]) -> list[tuple[str | None, str, object]]:
    return [(p.id, p.event, p.data) for p in parts]


async def full_replay(server: ServerProcess, thread_id: str, run_id: str) -> list[StreamPart]:
    """The run's whole event log, read straight from the server (`Last-Event-ID: -1`)."""
    client = get_client(url=server.url)
    async with asyncio.timeout(STREAM_TIMEOUT_S):
        return [p async for p in client.runs.join_stream(thread_id, run_id, last_event_id="-1")]


async def test_sdk_resumes_a_live_stream_cut_mid_run(slow_server: ServerProcess, proxy: CuttableProxy) -> None:
    client = get_client(url=proxy.url)
    thread = await client.threads.create()
    received: list[StreamPart] = []
    status_at_cut = None
    async with asyncio.timeout(STREAM_TIMEOUT_S):
        async for part in client.runs.stream(
            thread["thread_id"],
            "support",
            input=ask(f"I want a refund for order #{fixtures.REFUNDABLE_ORDER}"),
            stream_mode=["updates", "values"],
            stream_resumable=True,
        ):
            received.append(part)
            if len(received) == 3:
                run_id = received[0].data["run_id"]
                status_at_cut = (await get_client(url=slow_server.url).runs.get(thread["thread_id"], run_id))["status"]
                proxy.cut()

    assert status_at_cut == "running"  # the cut hit a live run, not a finished one
    assert proxy.reconnects() >= 1
    assert received[-1].event == "end"
    ids = [int(p.id) for p in received if p.id is not None]
    assert ids == sorted(set(ids)), "an event arrived twice or out of order"
    reference = await full_replay(slow_server, thread["thread_id"], received[0].data["run_id"])
    assert frames(received) == frames(reference)
    assert "Refund of" in reference[-2].data["answer"]  # the last `values` before `end`


async def test_a_cut_while_rejoining_a_finished_run_still_ends(
    slow_server: ServerProcess, proxy: CuttableProxy
) -> None:
    direct = get_client(url=slow_server.url)
    thread = await direct.threads.create()
    run = await direct.runs.create(
        thread["thread_id"],
        "support",
        input=ask(f"where is order #{fixtures.SHIPPED_ORDER}"),
        stream_mode=["updates", "values"],
        stream_resumable=True,
    )
    await direct.runs.join(thread["thread_id"], run["run_id"])
    reference = await full_replay(slow_server, thread["thread_id"], run["run_id"])
    assert len(reference) >= 4

    proxy.truncate_next(body_bytes=120)  # mid second frame of the replay
    client = get_client(url=proxy.url)
    async with asyncio.timeout(STREAM_TIMEOUT_S):
        rejoined = [p async for p in client.runs.join_stream(thread["thread_id"], run["run_id"], last_event_id="-1")]

    assert proxy.reconnects() >= 2  # the first join and the SDK's own resume
    assert rejoined[-1].event == "end"
    assert frames(rejoined) == frames(reference)
