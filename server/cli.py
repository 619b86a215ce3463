"""The `switchyard` command: serve, seed, sim, eval, bench.

Every option also reads a `SWITCHYARD_*` environment variable (see infra.settings);
an option given on the command line wins.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from infra import logs
from infra.settings import Settings, db_paths
from server import keys_cli

log = logging.getLogger("switchyard.cli")


def seed_if_missing(settings: Settings, *, force: bool = False) -> None:
    from shop.seed import has_shop, seed_database

    path = db_paths(settings.db).shop
    if has_shop(path) and not force:
        log.info("shop: using %s", path)
        return
    log.info(
        "shop: seeding %s (%d customers, %d orders, seed %d) ...",
        path,
        settings.seed_customers,
        settings.seed_orders,
        settings.seed,
    )
    started = time.perf_counter()
    summary = seed_database(
        path, seed=settings.seed, customers=settings.seed_customers, orders=settings.seed_orders, force=force
    )
    log.info("shop: done in %.1fs: %s", time.perf_counter() - started, summary)


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from infra.metrics import multiprocess_folder
    from server.app import create_app
    from server.auth import refuse_open_auth

    settings = Settings.with_options(
        args, "host", "port", "db", "log_level", "redis_url", "workers", "auth", "log_format"
    )
    logs.configure(settings.log_level, settings.log_format)
    refusal = refuse_open_auth(settings.auth, settings.host)
    if refusal:
        print(f"serve: {refusal}", file=sys.stderr)
        return 2
    if settings.workers > 1 and not settings.redis_url:
        print(
            "serve: --workers needs --redis-url (SWITCHYARD_REDIS_URL): in embedded mode the run queue and "
            "the event logs live in one process",
            file=sys.stderr,
        )
        return 2
    seed_if_missing(settings)
    # log_config None: uvicorn's loggers keep no handlers of their own and reach ours (infra/logs.py).
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "timeout_graceful_shutdown": 5,
        "log_config": None,
    }
    if settings.workers == 1:
        uvicorn.run(create_app(settings), log_level=settings.log_level, **options)
        return 0
    # Each worker process builds its own app from the environment, so pass the options on there.
    for name, value in settings.model_dump(
        include={"host", "port", "db", "log_level", "log_format", "redis_url", "auth"}
    ).items():
        os.environ[f"SWITCHYARD_{name.upper()}"] = str(value)
    log.info("serve: %d worker processes on one port, sharing Redis", settings.workers)
    with multiprocess_folder():  # a /metrics scrape of any worker reports the sum over all of them
        uvicorn.run(
            "server.app:create_app", factory=True, workers=settings.workers, log_level=settings.log_level, **options
        )
    return 0


def seed(args: argparse.Namespace) -> int:
    settings = Settings.with_options(args, "db", "seed", "seed_customers", "seed_orders")
    logs.configure(settings.log_level, settings.log_format)
    seed_if_missing(settings, force=args.force)
    return 0


def sim(args: argparse.Namespace) -> int:
    from infra.llm.client import sim_config
    from infra.llm.simulator import serve as serve_simulator

    settings = Settings.with_options(
        args, "host", "sim_ttft_ms", "sim_tokens_per_s", "sim_faults", "sim_seed", "log_level"
    )
    port = args.port or 8300
    print(
        f"simulator: OpenAI-compatible endpoint on http://{settings.host}:{port}/v1 "
        f"(ttft {settings.sim_ttft_ms} ms, {settings.sim_tokens_per_s} tokens/s, faults {settings.sim_faults})",
        file=sys.stderr,
    )
    serve_simulator(settings.host, port, sim_config(settings), log_level=settings.log_level)
    return 0


def eval_(args: argparse.Namespace) -> int:
    from evals.runner import main as eval_main

    return int(eval_main(args.rest))


# `switchyard bench NAME`: the module in bench/ that runs it (imported only when asked for: they are heavy).
BENCHMARKS = {
    "fast-path": "fast_path",
    "checkpointers": "checkpointers",
    "llm-path": "llm_path",
    "sessions": "sessions",
    "observability": "observability",
}


def bench(args: argparse.Namespace) -> int:
    module = importlib.import_module(f"bench.{BENCHMARKS[args.name]}")
    return int(module.main(args.rest))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="switchyard", description="Hybrid LangGraph agents, served.")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="serve the graphs over the LangGraph Platform protocol")
    s.add_argument("--host", help="bind address (SWITCHYARD_HOST, default 127.0.0.1)")
    s.add_argument("--port", type=int, help="port (SWITCHYARD_PORT, default 8123)")
    s.add_argument("--db", type=Path, help="database folder or file (SWITCHYARD_DB, default ./var)")
    s.add_argument("--log-level", dest="log_level", help="debug|info|warning (SWITCHYARD_LOG_LEVEL)")
    s.add_argument(
        "--log-format",
        dest="log_format",
        choices=["json", "text"],
        help="json: one object per line; text: for a terminal (SWITCHYARD_LOG_FORMAT, default json)",
    )
    s.add_argument(
        "--redis-url",
        dest="redis_url",
        help="scale-out mode: share state, runs and streams through this Redis (SWITCHYARD_REDIS_URL)",
    )
    s.add_argument(
        "--workers", type=int, help="processes on this port, scale-out mode only (SWITCHYARD_WORKERS, default 1)"
    )
    s.add_argument(
        "--auth",
        choices=["on", "off"],
        help="require API keys (SWITCHYARD_AUTH, default on); off is refused unless --host is loopback",
    )
    s.set_defaults(func=serve)

    keys_cli.add_parser(sub)

    d = sub.add_parser("seed", help="(re)build the demo shop database")
    d.add_argument("--db", type=Path, help="database folder or file (SWITCHYARD_DB, default ./var)")
    d.add_argument("--seed", type=int, help="random seed (SWITCHYARD_SEED, default 42)")
    d.add_argument("--customers", dest="seed_customers", type=int, help="customers (default 2000)")
    d.add_argument("--orders", dest="seed_orders", type=int, help="orders (default 10000)")
    d.add_argument("--force", action="store_true", help="rebuild even if a shop exists")
    d.set_defaults(func=seed)

    m = sub.add_parser("sim", help="run the OpenAI-compatible LLM simulator as its own process")
    m.add_argument("--host", help="bind address (default 127.0.0.1)")
    m.add_argument("--port", type=int, help="port (default 8300)")
    m.add_argument("--ttft-ms", dest="sim_ttft_ms", type=float, help="time to first token (SWITCHYARD_SIM_TTFT_MS)")
    m.add_argument("--tokens-per-s", dest="sim_tokens_per_s", type=float, help="SWITCHYARD_SIM_TOKENS_PER_S")
    m.add_argument(
        "--faults",
        dest="sim_faults",
        type=json.loads,
        help='fault rates as JSON, e.g. \'{"429": 0.05, "cut": 0.01}\' (SWITCHYARD_SIM_FAULTS)',
    )
    m.add_argument("--seed", dest="sim_seed", type=int, help="fault draw seed (SWITCHYARD_SIM_SEED)")
    m.add_argument("--log-level", dest="log_level", help="debug|info|warning")
    m.set_defaults(func=sim)

    # Its options are evals.runner's (switchyard eval -h); prefix_chars keeps argparse from reading them here.
    e = sub.add_parser("eval", help="run the offline evals (see evals/README.md)", add_help=False, prefix_chars="+")
    e.add_argument("rest", nargs=argparse.REMAINDER, help="its options (see: switchyard eval -h)")
    e.set_defaults(func=eval_)

    b = sub.add_parser("bench", help="run a benchmark (see bench/README.md)")
    b.add_argument("name", choices=list(BENCHMARKS), help="which benchmark")
    b.add_argument("rest", nargs=argparse.REMAINDER, help="its options (see: switchyard bench fast-path -h)")
    b.set_defaults(func=bench)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
