"""LangGraph Studio's own server, `langgraph dev`, loads our langgraph.json and runs `support`."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
from langgraph_sdk import get_client

from shop import fixtures
from tests.support import ROOT, copy_db, free_port


async def test_langgraph_dev_serves_the_support_graph(shop_template: Path, tmp_path: Path) -> None:
    db = copy_db(shop_template, tmp_path / "db")
    port = free_port()  # never 2024: that port belongs to the machine
    env = {
        **os.environ,
        "SWITCHYARD_DB": str(db),
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        "LANGSMITH_TRACING": "false",
    }
    env.pop("LANGSMITH_API_KEY", None)
    log = (tmp_path / "langgraph-dev.log").open("wb")
    langgraph = Path(os.sys.executable).parent / "langgraph"  # type: ignore[attr-defined]
    command = [
        str(langgraph),
        "dev",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-browser",
        "--no-reload",
    ]
    # cwd: the committed langgraph.json; langgraph dev's state dir .langgraph_api/ is git-ignored.
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, (tmp_path / "langgraph-dev.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "langgraph dev did not start"
            try:
                if httpx.get(f"{url}/ok", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        client = get_client(url=url)
        assert [a["graph_id"] for a in await client.assistants.search()] == ["support"]
        thread = await client.threads.create()
        result = await client.runs.wait(
            thread["thread_id"],
            "support",
            input={
                "messages": [{"role": "user", "content": f"I want a refund for order #{fixtures.REFUNDABLE_ORDER}"}]
            },
        )
        assert "Refund of 79.99 USD" in result["answer"], result
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
