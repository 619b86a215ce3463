"""The service's Prometheus metrics, and the text a `/metrics` scrape gets.

Labels are bounded sets only: route templates (never raw paths), graph, node, intent, tier,
model, status and error codes. An id (thread, run, user) never becomes a label.

With `PROMETHEUS_MULTIPROC_DIR` set (`switchyard serve --workers N` sets it), every process
writes its samples to files there and a scrape from any process reports the sum over all of
them (`prometheus_client`'s multiprocess mode). Gauges then say how they combine: the
`live*` modes count live processes only, so a stopped worker's gauges disappear.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "render"]

_FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_SLOW = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)

HTTP_REQUEST_SECONDS = Histogram(
    "switchyard_http_request_duration_seconds",
    "HTTP requests, to the last byte of the response; SSE streams to their first byte.",
    ["method", "route", "status"],
    buckets=_FAST,
)
SSE_STREAMS = Gauge("switchyard_sse_streams_active", "SSE streams open now.", ["kind"], multiprocess_mode="livesum")

RUNS_ACTIVE = Gauge(
    "switchyard_runs_active",
    "Runs pending or running in this process.",
    ["graph", "status"],
    multiprocess_mode="livesum",
)
RUNS_FINISHED = Counter("switchyard_runs_finished", "Runs that reached an outcome.", ["graph", "status"])
RUN_SECONDS = Histogram(
    "switchyard_run_duration_seconds",
    "Runs, from the start of execution to the recorded outcome.",
    ["graph", "intent", "tier"],
    buckets=_SLOW,
)
NODE_SECONDS = Histogram("switchyard_node_duration_seconds", "Graph node tasks.", ["graph", "node"], buckets=_FAST)

LLM_CALLS = Counter(
    "switchyard_llm_calls", "LLM calls by how they ended: ok, cached, or the error code.", ["model", "outcome"]
)
LLM_CALL_SECONDS = Histogram(
    "switchyard_llm_call_duration_seconds",
    "LLM calls not answered from the cache: gate wait and retries included.",
    ["model"],
    buckets=_SLOW,
)
LLM_ATTEMPT_ERRORS = Counter(
    "switchyard_llm_attempt_errors", "Failed LLM attempts (retried or not), by error code.", ["kind"]
)
LLM_TOKENS = Counter("switchyard_llm_tokens", "LLM tokens used.", ["model", "kind"])
LLM_COST = Counter("switchyard_llm_cost_usd", "Estimated LLM cost in USD (SWITCHYARD_PRICES).", ["model"])
CACHE_LOOKUPS = Counter(
    "switchyard_llm_cache_lookups", "LLM cache lookups per tier consulted.", ["cache", "tier", "result"]
)
BREAKER_STATE = Gauge(
    "switchyard_llm_breaker_state",
    "Circuit breaker per endpoint: 0 closed, 1 half-open, 2 open (the worst over processes).",
    ["endpoint"],
    multiprocess_mode="livemax",
)
GATE_QUEUE = Gauge(
    "switchyard_llm_gate_queue_depth", "LLM calls waiting at the gate.", ["priority"], multiprocess_mode="livesum"
)
GATE_WAIT_SECONDS = Histogram(
    "switchyard_llm_gate_wait_seconds", "Time LLM calls waited at the gate.", ["priority"], buckets=_FAST
)
GATE_TIMEOUTS = Counter("switchyard_llm_gate_timeouts", "LLM calls that got no gate slot in time.", ["priority"])

BREAKER_CODES = {"closed": 0, "half_open": 1, "open": 2}


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def render() -> bytes:
    """The scrape: this process's metrics, or in multiprocess mode every process's, summed."""
    folder = multiprocess_dir()
    if folder is None:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=folder)
    return generate_latest(registry)


_LIVE_FILE = re.compile(r"^gauge_live\w+_(\d+)\.db$")


def forget_dead_processes() -> None:
    """Drop the live gauges of processes that died without saying so (a crashed worker): their
    values would otherwise count forever. Called when a process starts, and for itself at exit."""
    folder = multiprocess_dir()
    if folder is None:
        return
    for path in Path(folder).glob("gauge_live*.db"):
        match = _LIVE_FILE.match(path.name)
        if match and not _alive(int(match.group(1))):
            multiprocess.mark_process_dead(int(match.group(1)), folder)


def forget_this_process() -> None:
    folder = multiprocess_dir()
    if folder is not None:
        multiprocess.mark_process_dead(os.getpid(), folder)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


@contextmanager
def multiprocess_folder() -> Iterator[str]:
    """For a supervisor of worker processes (`serve --workers N`): every worker's metrics go to one
    folder, emptied first. `PROMETHEUS_MULTIPROC_DIR` if set, else a temporary folder removed at the end.
    Set before the workers start: `prometheus_client` picks its mode when first imported."""
    folder = multiprocess_dir()
    if folder is not None:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for stale in Path(folder).glob("*.db"):
            stale.unlink()
        yield folder
        return
    with tempfile.TemporaryDirectory(prefix="switchyard-metrics-") as created:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = created
        try:
            yield created
        finally:
            del os.environ["PROMETHEUS_MULTIPROC_DIR"]
