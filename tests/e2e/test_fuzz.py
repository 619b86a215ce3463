"""Schemathesis fuzzes every operation of the OpenAPI document the real server serves.

It passes when no response is a 5xx and every response is what the document says:
- the status code;
- the content type;
- the headers;
- the body, and for streams each SSE frame.

`tests/e2e/schemathesis.toml` holds the checks and what is left out, and why. The run is bounded
for CI: `SWITCHYARD_FUZZ_PHASES` (default: fuzzing, then stateful sequences that follow links
between operations) with `SWITCHYARD_FUZZ_EXAMPLES` cases per operation (default 8). It is
derandomized, so every run sends the same cases. To fuzz longer locally:

    SWITCHYARD_FUZZ_EXAMPLES=200 SWITCHYARD_FUZZ_PHASES=examples,coverage,fuzzing,stateful \\
        .venv/bin/pytest tests/e2e/test_fuzz.py

Schemathesis runs as its CLI, in its own process. Its pytest plugin (`schemathesis.pytest.from_fixture`)
renames pytest nodes in a way pytest 9.2 no longer allows. The CLI's report names each failing operation,
and gives the curl command that reproduces the failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from tests.support import ServerProcess

CONFIG = Path(__file__).with_name("schemathesis.toml")
EXAMPLES = int(os.environ.get("SWITCHYARD_FUZZ_EXAMPLES", "8"))
PHASES = os.environ.get("SWITCHYARD_FUZZ_PHASES", "examples,fuzzing,stateful")
# The default run takes well under a minute per mode; a longer one may take as long as it needs.
BOUNDED = "SWITCHYARD_FUZZ_EXAMPLES" not in os.environ and "SWITCHYARD_FUZZ_PHASES" not in os.environ


@pytest.mark.timeout(120 if BOUNDED else 0)
def test_every_response_conforms_to_the_openapi_document(server: ServerProcess, tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(CONFIG),
        "run",
        f"{server.url}/openapi.json",
        "--max-examples",
        str(EXAMPLES),
        "--phases",
        PHASES,
        # One worker: with two, the cases of one operation depend on what the other's responses taught
        # the fuzzer, and a derandomized run is no longer the same run.
        "--workers",
        "1",
        "--no-color",
    ]
    # cwd: Schemathesis may write its example database (.hypothesis/) there.
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert result.returncode == 0, _report(result.stdout + result.stderr)


def test_the_document_declares_errors_and_streams(server: ServerProcess) -> None:
    """FastAPI's own document promised a 422 `{"detail": [...]}` that no handler sends."""
    document = httpx.get(f"{server.url}/openapi.json").json()
    operations = [(f"{m.upper()} {p}", op) for p, ops in document["paths"].items() for m, op in ops.items()]
    for name, operation in operations:
        responses = operation["responses"]
        assert "500" in responses, name
        for status, response in responses.items():
            if status.startswith(("4", "5")) and name != "GET /health":
                assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
    streams = {
        name for name, op in operations if "text/event-stream" in op["responses"].get("200", {}).get("content", {})
    }
    assert streams == {
        "POST /threads/{thread_id}/runs/stream",
        "POST /runs/stream",
        "GET /threads/{thread_id}/runs/{run_id}/stream",
        "GET /threads/{thread_id}/stream",
    }
    error = httpx.post(f"{server.url}/threads/search", json={"limit": 0}).json()
    assert set(error) == {"detail", "code"}, error


def test_store_items_have_timestamps_with_an_offset(server: ServerProcess) -> None:
    """The SQLite store's timestamps are UTC without saying so; the document promises RFC 3339."""
    item = {"namespace": ["fuzz", "stamps"], "key": "k", "value": {"a": 1}}
    assert httpx.put(f"{server.url}/store/items", json=item).status_code == 204
    got = httpx.get(f"{server.url}/store/items", params={"namespace": "fuzz.stamps", "key": "k"}).json()
    found = httpx.post(f"{server.url}/store/items/search", json={"namespace_prefix": ["fuzz"]}).json()["items"]
    for stamped in (got, *found):
        for name in ("created_at", "updated_at"):
            assert datetime.fromisoformat(stamped[name]).utcoffset() is not None, stamped


def _report(output: str) -> str:
    """The CLI's failures and summary, without its progress lines."""
    for heading in ("= FAILURES =", "= ERRORS =", "= SUMMARY ="):
        if heading in output:
            return output[output.rfind("\n", 0, output.index(heading)) + 1 :]
    return output[-8000:]
