"""Benchmark of what a session costs to pick up again, on a real `switchyard serve` process:
(a) resuming an interrupted thread, (b) rejoining a live stream, (c) recovering after `kill -9`.

    python -m bench.sessions [--resumes 10] [--rejoins 20] [--crash-runs 8] [--crash-repeats 3]

(a) `POST runs/wait` with the approve command, against the same request for a plain
order-status question. (b) `GET .../stream` with a mid-run `Last-Event-ID` to the first
replayed event, against a fresh `runs/stream` to its first event. (c) K slow runs, `kill -9`,
restart: process start to `/ok`, to all K `running` again, to all K finished; against a clean
start and the same K runs without a crash. Results go to `<out>/sessions.{json,md}`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx

from bench.common import (
    ROOT,
    BrokenRun,
    ServerProcess,
    add_output_options,
    check_answer,
    command_line,
    free_port,
    fresh_copy,
    machine_info,
    percentile,
    prepare_shop,
    refund_input,
    run_in_workdir,
    start_server,
)
from shop import fixtures

APPROVE = {"resume": {"decisions": [{"type": "approve"}]}}
STATUS_INPUT = {"messages": [{"role": "user", "content": f"where is order #{fixtures.SHIPPED_ORDER}"}]}
FAST_LATENCY_MS = 100  # (a) and (b): one tool call per measured request, long enough to rejoin mid-run
CRASH_LATENCY_MS = 1500  # (c): runs still running when the kill lands


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def serve(name: str, db: Path, workdir: Path, latency_ms: int) -> ServerProcess:
    port = free_port()
    command = [sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port", str(port), "--db", str(db)]
    env = {"SWITCHYARD_TOOL_LATENCY_MS": str(latency_ms), "LANGSMITH_TRACING": "false"}
    return await start_server(name, command, port, workdir / f"{name}.log", cwd=ROOT, env=env)


def kill_9(server: ServerProcess) -> None:
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait(10)


async def new_thread(http: httpx.AsyncClient) -> str:
    return str((await http.post("/threads", json={})).raise_for_status().json()["thread_id"])


async def next_event(lines: AsyncIterator[str]) -> list[str]:
    """The lines of the next SSE event frame (heartbeat comments skipped)."""
    frame: list[str] = []
    async for line in lines:
        if line.startswith(":"):
            continue
        if not line:
            if frame:
                return frame
            continue
        frame.append(line)
    raise AssertionError("stream ended before its first event")


# -- (a) resume an interrupted thread ------------------------------------------------------------


async def resume_part(http: httpx.AsyncClient, orders: list[int]) -> dict[str, list[float]]:
    resume, baseline = [], []
    for order_id in orders:
        tid = await new_thread(http)
        body = {"assistant_id": "support", "input": refund_input(order_id), "context": {"refund_approval_limit": 0}}
        (await http.post(f"/threads/{tid}/runs/wait", json=body)).raise_for_status()
        if (await http.get(f"/threads/{tid}")).json()["status"] != "interrupted":
            raise BrokenRun(f"order {order_id}: the refund did not stop for approval")
        started = time.perf_counter()
        done = await http.post(f"/threads/{tid}/runs/wait", json={"assistant_id": "support", "command": APPROVE})
        resume.append(time.perf_counter() - started)
        check_answer(done.raise_for_status().json(), order_id)

        tid = await new_thread(http)
        started = time.perf_counter()
        plain = await http.post(f"/threads/{tid}/runs/wait", json={"assistant_id": "support", "input": STATUS_INPUT})
        baseline.append(time.perf_counter() - started)
        if f"#{fixtures.SHIPPED_ORDER}" not in str(plain.raise_for_status().json().get("answer")):
            raise BrokenRun(f"order status run answered {plain.json().get('answer')!r}")
        log(f"(a) {len(resume)}/{len(orders)} resume {resume[-1] * 1000:.0f} ms, baseline {baseline[-1] * 1000:.0f} ms")
    return {"resume_s": resume, "baseline_s": baseline}


# -- (b) rejoin a live stream ------------------------------------------------------------------------


async def rejoin_part(http: httpx.AsyncClient, n: int) -> dict[str, list[float]]:
    rejoin, fresh = [], []
    body = {"assistant_id": "support", "input": STATUS_INPUT, "stream_mode": ["updates", "values"]}
    for i in range(n):
        tid = await new_thread(http)
        stream_body = {**body, "stream_resumable": True, "on_disconnect": "continue"}
        started = time.perf_counter()
        async with http.stream("POST", f"/threads/{tid}/runs/stream", json=stream_body) as response:
            lines = response.aiter_lines()
            frame = await next_event(lines)
            fresh.append(time.perf_counter() - started)
            location = response.headers["location"]
            frame = await next_event(lines)  # a second event: rejoin after it, with the run mid-way
        mid_id = next(line.split(":", 1)[1].strip() for line in frame if line.startswith("id:"))
        started = time.perf_counter()
        async with http.stream("GET", location, headers={"Last-Event-ID": mid_id}) as response:
            lines = response.aiter_lines()
            frame = await next_event(lines)
            rejoin.append(time.perf_counter() - started)
            replayed = next(line.split(":", 1)[1].strip() for line in frame if line.startswith("id:"))
            if int(replayed) != int(mid_id) + 1:
                raise BrokenRun(f"rejoin after id {mid_id} replayed id {replayed} first")
            async for _ in lines:  # let the run finish before the next one
                pass
        log(f"(b) {i + 1}/{n} rejoin {rejoin[-1] * 1000:.1f} ms, fresh stream {fresh[-1] * 1000:.1f} ms")
    return {"rejoin_first_event_s": rejoin, "fresh_first_event_s": fresh}


# -- (c) recovery after kill -9 --------------------------------------------------------------------


async def statuses(http: httpx.AsyncClient, runs: list[str]) -> list[str]:
    answers = await asyncio.gather(*(http.get(path) for path in runs))
    return [str(a.raise_for_status().json()["status"]) for a in answers]


async def wait_until(http: httpx.AsyncClient, runs: list[str], accept: set[str], timeout: float = 60.0) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if all(s in accept for s in await statuses(http, runs)):
            return time.perf_counter()
        await asyncio.sleep(0.02)
    raise BrokenRun(f"runs did not all reach {sorted(accept)} within {timeout:.0f}s")


async def start_runs(http: httpx.AsyncClient, k: int) -> list[str]:
    runs = []
    for _ in range(k):
        tid = await new_thread(http)
        run = (await http.post(f"/threads/{tid}/runs", json={"assistant_id": "support", "input": STATUS_INPUT})).json()
        runs.append(f"/threads/{tid}/runs/{run['run_id']}")
    return runs


async def crash_part(template: Any, workdir: Path, k: int, repeats: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {
        k_: [] for k_ in ("clean_start_to_ok_s", "baseline_all_done_s", "restart_to_ok_s", "restart_to_running_s")
    }
    out["restart_to_all_done_s"] = []
    for r in range(repeats):
        db = fresh_copy(template, workdir / f"db-crash-{r}")
        started = time.perf_counter()
        server = await serve(f"crash-{r}", db, workdir, CRASH_LATENCY_MS)
        out["clean_start_to_ok_s"].append(time.perf_counter() - started)
        try:
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
                started = time.perf_counter()
                runs = await start_runs(http, k)
                out["baseline_all_done_s"].append(await wait_until(http, runs, {"success"}) - started)
                runs = await start_runs(http, k)
                await wait_until(http, runs, {"running"})
        finally:
            kill_9(server)
        started = time.perf_counter()
        server = await serve(f"crash-{r}", db, workdir, CRASH_LATENCY_MS)
        try:
            out["restart_to_ok_s"].append(time.perf_counter() - started)
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
                out["restart_to_running_s"].append(await wait_until(http, runs, {"running", "success"}) - started)
                out["restart_to_all_done_s"].append(await wait_until(http, runs, {"success"}) - started)
        finally:
            server.stop()
        log(f"(c) {r + 1}/{repeats}: " + ", ".join(f"{key} {v[-1]:.2f}" for key, v in out.items()))
    return out


# -- report ----------------------------------------------------------------------------------------


def medians(raw: dict[str, dict[str, list[float]]]) -> dict[str, float]:
    m = {f"{part}.{key}": percentile(values, 50) for part, series in raw.items() for key, values in series.items()}
    m["resume.ratio"] = m["resume.resume_s"] / m["resume.baseline_s"]
    m["rejoin.ratio"] = m["rejoin.rejoin_first_event_s"] / m["rejoin.fresh_first_event_s"]
    m["crash.ok_ratio"] = m["crash.restart_to_ok_s"] / m["crash.clean_start_to_ok_s"]
    m["crash.done_ratio"] = m["crash.restart_to_all_done_s"] / m["crash.baseline_all_done_s"]
    return m


def markdown(m: dict[str, float], args: argparse.Namespace) -> str:
    def ms(key: str) -> str:
        return f"{m[key] * 1000:.1f} ms"

    rows = [
        ("(a) resume interrupted thread (`runs/wait` + approve)", ms("resume.resume_s"), "order-status `runs/wait`",
         ms("resume.baseline_s"), m["resume.ratio"], args.resumes),
        ("(b) rejoin `GET .../stream` + mid-run `Last-Event-ID`, to first replayed event",
         ms("rejoin.rejoin_first_event_s"), "fresh `runs/stream` to first event", ms("rejoin.fresh_first_event_s"),
         m["rejoin.ratio"], args.rejoins),
        ("(c) restart after `kill -9`: process start to `/ok`", ms("crash.restart_to_ok_s"), "clean start to `/ok`",
         ms("crash.clean_start_to_ok_s"), m["crash.ok_ratio"], args.crash_repeats),
        (f"(c) restart to all {args.crash_runs} runs finished", ms("crash.restart_to_all_done_s"),
         f"same {args.crash_runs} runs, no crash", ms("crash.baseline_all_done_s"), m["crash.done_ratio"],
         args.crash_repeats),
    ]  # fmt: skip
    lines = ["| measure | median | baseline | baseline median | ratio | n |", "|---|---|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} | {e:.2f}x | {n} |" for a, b, c, d, e, n in rows]
    lines.append(
        f"\n(c) restart to all {args.crash_runs} runs `running` again (or done): {ms('crash.restart_to_running_s')}."
    )
    return "\n".join(lines) + "\n"


async def bench(args: argparse.Namespace, workdir: Path) -> tuple[dict[str, dict[str, list[float]]], Any]:
    template = await prepare_shop(workdir, args.resumes, log=log)
    raw: dict[str, dict[str, list[float]]] = {}
    server = await serve("sessions", fresh_copy(template, workdir / "db"), workdir, FAST_LATENCY_MS)
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            raw["resume"] = await resume_part(http, template.refundable[: args.resumes])
            raw["rejoin"] = await rejoin_part(http, args.rejoins)
    finally:
        server.stop()
    raw["crash"] = await crash_part(template, workdir, args.crash_runs, args.crash_repeats)
    return raw, template


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.sessions", description=__doc__.split("\n\n")[0])
    p.add_argument("--resumes", type=int, default=10, help="interrupted threads resumed in (a) (default 10)")
    p.add_argument("--rejoins", type=int, default=20, help="rejoins and fresh streams in (b) (default 20)")
    p.add_argument("--crash-runs", type=int, default=8, help="runs cut by each kill -9 in (c) (default 8)")
    p.add_argument("--crash-repeats", type=int, default=3, help="kill -9 rounds in (c) (default 3)")
    add_output_options(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    started = time.perf_counter()
    outcome = run_in_workdir("switchyard-sessions-", args.keep_workdir, lambda workdir: bench(args, workdir))
    if outcome is None:
        return 1
    raw, template = outcome
    summary = medians(raw)
    table = markdown(summary, args)
    meta = {
        "machine": machine_info(),
        "command": command_line("bench.sessions", argv),
        "shop": {"seeded_orders": template.seeded_orders},
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
        | {"fast_latency_ms": FAST_LATENCY_MS, "crash_latency_ms": CRASH_LATENCY_MS},
        "elapsed_s": round(time.perf_counter() - started, 1),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "sessions.json").write_text(json.dumps({"meta": meta, "medians": summary, "raw": raw}, indent=2))
    (args.out / "sessions.md").write_text(f"# Sessions\n\n`{meta['command']}`\n\n{table}")
    print(table)
    log(f"wrote {args.out / 'sessions.json'} and {args.out / 'sessions.md'} in {meta['elapsed_s']}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
