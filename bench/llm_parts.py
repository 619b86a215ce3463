"""The over-HTTP parts of the LLM-path benchmark: the hybrid traffic mix, many concurrent streams, and
the stack's overhead over the simulator's own time. Each starts its own simulator and server.

Every answer is checked against the path its question should take (`llm_queries.off_path`); answers
that strayed, and requests that failed, are counted and reported, never silently dropped.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.common import BrokenRun, ShopTemplate, fresh_copy, percentile
from bench.llm_queries import REFERENCE_COMPLEX, OrderPool, Question, complex_question, mix, off_path
from bench.llm_replay import direct_llm_seconds
from bench.llm_setups import SimSpeed, ask, http_client, llm_stack, vm_rss_kb

FAILURES = (BrokenRun, httpx.HTTPError, TimeoutError)
RUN_TIMEOUT_S = 60.0  # one question in the mix or the overhead part
CONCURRENCY_BOUND = 1.15  # p99 completion <= this x the critical path at concurrency 1
CLIENT_POOL = 25  # streams per httpx client in the concurrency part


@dataclass
class Outcomes:
    """Latencies of answers that took their path; the rest, counted by why. `completed` holds the
    latency of every stream that ended, on its path or not."""

    latencies: list[float] = field(default_factory=list)
    off_path: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    completed: list[float] = field(default_factory=list)

    def record(self, question: Question, values: dict[str, Any], latency: float) -> None:
        self.completed.append(latency)
        problem = off_path(question, values)
        if problem is None:
            self.latencies.append(latency)
        else:
            self.off_path.append(f"{question.text!r}: {problem}")

    def stats(self) -> dict[str, Any]:
        values = self.latencies
        return {
            "ok": len(values),
            "off_path": len(self.off_path),
            "errors": len(self.errors),
            "mean_s": statistics.fmean(values) if values else float("nan"),
            **{f"p{q}_s": percentile(values, q) for q in (50, 95, 99)},
            "completed_p50_s": percentile(self.completed, 50),
            "completed_p99_s": percentile(self.completed, 99),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            **self.stats(),
            "latencies_s": [round(x, 4) for x in self.latencies],
            "completed_s": [round(x, 4) for x in self.completed],
            "off_path_examples": self.off_path[:20],
            "error_examples": self.errors[:20],
        }


async def _answer(client: httpx.AsyncClient, question: Question, outcomes: Outcomes, timeout_s: float) -> None:
    try:
        async with asyncio.timeout(timeout_s):
            answer = await ask(client, question.text)
    except FAILURES as exc:
        outcomes.errors.append(f"{question.text!r}: {type(exc).__name__}: {str(exc)[:200]}")
        return
    outcomes.record(question, answer.values, answer.latency)


def combined(parts: dict[str, Outcomes]) -> Outcomes:
    whole = Outcomes()
    for part in parts.values():
        whole.latencies += part.latencies
        whole.off_path += part.off_path
        whole.errors += part.errors
        whole.completed += part.completed
    return whole


async def drive(
    client: httpx.AsyncClient, questions: list[Question], concurrency: int, label: str, log: Callable[[str], None]
) -> dict[str, Outcomes]:
    """`concurrency` workers take questions in turn; outcomes by kind of question; progress every ~5 s."""
    by_kind: dict[str, Outcomes] = {}
    queue = iter(questions)
    started = shown = time.perf_counter()

    async def worker() -> None:
        nonlocal shown
        for question in queue:
            await _answer(client, question, by_kind.setdefault(question.kind, Outcomes()), RUN_TIMEOUT_S)
            if time.perf_counter() - shown > 5:
                shown = time.perf_counter()
                done = sum(len(o.latencies) + len(o.off_path) + len(o.errors) for o in by_kind.values())
                log(f"[{label}] {done}/{len(questions)}, {shown - started:.0f}s")

    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(questions)))))
    return by_kind


async def sim_stats(client: httpx.AsyncClient, sim_url: str) -> dict[str, Any]:
    response = await client.get(f"{sim_url}/sim/stats")
    stats: dict[str, Any] = response.json()
    return {k: stats.get(k) for k in ("requests", "rejected", "streamed", "faults")}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Workspace:
    """What every part shares: the seeded shop to copy, a scratch folder, orders to ask about."""

    template: ShopTemplate
    workdir: Path
    pool: OrderPool
    log: Callable[[str], None]


async def hybrid_mix(ws: Workspace, args: Any) -> dict[str, Any]:
    """The traffic mix against an all-LLM stand-in (every question phrased to reach the agent)."""
    mixed = mix(args.mix_requests, args.complex_share, ws.pool, ws.pool.rng)
    all_llm = [complex_question(ws.pool) for _ in range(args.baseline_requests)]
    warm = [complex_question(ws.pool) for _ in range(2)]
    speed = SimSpeed(args.mix_ttft_ms, args.mix_tokens_per_s)
    db = fresh_copy(ws.template, ws.workdir / "db-mix")
    async with llm_stack(db, ws.workdir, speed) as stack:
        async with http_client(stack.server.url, args.mix_concurrency) as client:
            await drive(client, warm, 2, "mix warm-up", ws.log)
            ws.log(f"[mix] {len(mixed)} questions at concurrency {args.mix_concurrency} ...")
            hybrid = await drive(client, mixed, args.mix_concurrency, "mix", ws.log)
            ws.log(f"[mix] all-LLM stand-in: {len(all_llm)} complex questions ...")
            baseline = combined(await drive(client, all_llm, args.mix_concurrency, "all-llm", ws.log))
            stats = await sim_stats(client, stack.sim.url)
    whole = combined(hybrid)
    mean_ratio = whole.stats()["mean_s"] / baseline.stats()["mean_s"]
    return {
        "sim": {"ttft_ms": speed.ttft_ms, "tokens_per_s": speed.tokens_per_s, "stats": stats},
        "concurrency": args.mix_concurrency,
        "hybrid": whole.to_json(),
        "hybrid_by_kind": {kind: part.stats() for kind, part in sorted(hybrid.items())},
        "all_llm": baseline.to_json(),
        "mean_ratio": mean_ratio,
        "field_mean_ratio": 0.85 / 12.3,
    }


@dataclass
class Burst:
    """Questions started all at once; the server's peak RSS and the most streams open at a time."""

    outcomes: Outcomes = field(default_factory=Outcomes)
    active: int = 0
    max_active: int = 0
    peak_rss_kb: int = 0
    wall_s: float = 0.0

    async def run(
        self, clients: list[httpx.AsyncClient], questions: list[Question], pid: int, timeout_s: float
    ) -> None:
        self.peak_rss_kb = vm_rss_kb(pid)

        async def one(client: httpx.AsyncClient, question: Question) -> None:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            try:
                await _answer(client, question, self.outcomes, timeout_s)
            finally:
                self.active -= 1

        async def sample() -> None:
            while True:
                self.peak_rss_kb = max(self.peak_rss_kb, vm_rss_kb(pid))
                await asyncio.sleep(0.1)

        sampler = asyncio.create_task(sample())
        started = time.perf_counter()
        try:
            await asyncio.gather(*(one(clients[i % len(clients)], q) for i, q in enumerate(questions)))
        finally:
            self.wall_s = time.perf_counter() - started
            sampler.cancel()


def cpu_now(pids: dict[str, int]) -> dict[str, float]:
    return {"bench": time.process_time(), **{name: cpu_seconds(pid) for name, pid in pids.items()}}


async def concurrency(ws: Workspace, args: Any) -> dict[str, Any]:
    """`args.streams` complex questions at once in one server process, against the same question alone."""
    n = args.streams
    speed = SimSpeed(args.conc_ttft_ms, args.conc_tokens_per_s)
    # The gate must not be what serializes the streams: room for every call, a minute of them at once.
    env = {
        "SWITCHYARD_RUN_DEADLINE_S": str(args.conc_run_deadline_s),
        "SWITCHYARD_LLM_MAX_CONCURRENCY": str(2 * n),
        "SWITCHYARD_LLM_RPM": str(100 * n + 1000),
        "SWITCHYARD_LLM_TPM": str(20_000 * n + 100_000),
    }
    db = fresh_copy(ws.template, ws.workdir / "db-concurrency")
    alone = [complex_question(ws.pool, REFERENCE_COMPLEX) for _ in range(args.critical_runs + 1)]
    questions = [complex_question(ws.pool, REFERENCE_COMPLEX) for _ in range(n)]
    burst = Burst()
    async with llm_stack(db, ws.workdir, speed, env) as stack, AsyncExitStack() as open_clients:
        # httpx's pool scans its connections on every request: many small pools cost the client far less.
        clients = [
            await open_clients.enter_async_context(http_client(stack.server.url, CLIENT_POOL, args.stream_timeout))
            for _ in range(-(-n // CLIENT_POOL))
        ]
        single = combined(await drive(clients[0], alone, 1, "critical path", ws.log))
        if single.errors or single.off_path or len(single.latencies) < 2:
            raise BrokenRun(f"the question alone did not take its path: {single.errors + single.off_path}")
        critical = statistics.median(single.latencies[1:])  # the first one warmed the server up
        pids = {"server": stack.server.process.pid, "sim": stack.sim.process.pid}
        idle_kb = vm_rss_kb(pids["server"])
        before = cpu_now(pids)
        ws.log(f"[concurrency] critical path {critical:.2f}s; {n} streams at once ...")
        await burst.run(clients, questions, pids["server"], args.stream_timeout)
        cpu = {name: value - before[name] for name, value in cpu_now(pids).items()}
        stats = await sim_stats(clients[0], stack.sim.url)
    result = burst.outcomes.to_json()
    ratio = result["completed_p99_s"] / critical
    ok = not result["errors"] and not result["off_path"] and ratio <= CONCURRENCY_BOUND
    return {
        "streams": n,
        "sim": {"ttft_ms": speed.ttft_ms, "tokens_per_s": speed.tokens_per_s, "stats": stats},
        "gate_env": env,
        "critical_path_s": critical,
        "critical_path_runs_s": single.latencies[1:],
        "burst": result,
        "wall_s": burst.wall_s,
        "cpu_s": cpu,
        "p99_ratio": ratio,
        "memory": {
            "idle_rss_kb": idle_kb,
            "peak_rss_kb": burst.peak_rss_kb,
            "max_active_streams": burst.max_active,
            "kb_per_stream": (burst.peak_rss_kb - idle_kb) / max(burst.max_active, 1),
        },
        "verdict": "PASS" if ok else "MISS",
    }


async def overhead(ws: Workspace, args: Any) -> dict[str, Any]:
    """A complex question at concurrency 1 through the server, then the same LLM calls sent straight
    to the simulator with ChatOpenAI: the ratio is what our stack adds to the simulator's own time."""
    speed = SimSpeed(args.mix_ttft_ms, args.mix_tokens_per_s)
    db = fresh_copy(ws.template, ws.workdir / "db-overhead")
    runs: list[dict[str, Any]] = []
    async with llm_stack(db, ws.workdir, speed) as stack:
        async with http_client(stack.server.url, 1) as client:
            for i in range(args.overhead_runs + 1):
                question = complex_question(ws.pool, REFERENCE_COMPLEX)
                answer = await ask(client, question.text)
                problem = off_path(question, answer.values)
                if problem:
                    raise BrokenRun(f"{question.text!r}: {problem}")
                direct, calls = await direct_llm_seconds(stack.llm_url, answer.values)
                if calls != answer.values["usage"]["calls"]:
                    raise BrokenRun(f"replayed {calls} LLM calls, the run made {answer.values['usage']['calls']}")
                if i == 0:
                    continue  # warm-up of both the server and the direct client
                runs.append({"e2e_s": answer.latency, "direct_llm_s": direct, "llm_calls": calls})
                ws.log(f"[overhead] {i}/{args.overhead_runs}: {answer.latency:.3f}s vs {direct:.3f}s direct")
    e2e = statistics.median(r["e2e_s"] for r in runs)
    direct = statistics.median(r["direct_llm_s"] for r in runs)
    return {
        "sim": {"ttft_ms": speed.ttft_ms, "tokens_per_s": speed.tokens_per_s},
        "runs": runs,
        "e2e_p50_s": e2e,
        "direct_llm_p50_s": direct,
        "added_ms": (e2e - direct) * 1000,
        "ratio": statistics.median(r["e2e_s"] / r["direct_llm_s"] for r in runs),
    }
