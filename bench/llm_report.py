"""The LLM-path benchmark's tables: one section per part that ran, ratios against its own baselines."""

from __future__ import annotations

import math
from typing import Any

from bench.llm_parts import CONCURRENCY_BOUND
from bench.refund_field import TARGET_OVERHEAD_MS

FIELD_REFUND_S = {"sequential": 4.8, "parallel": 1.8}


def _s(value: float) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.3f}"


def _latency_row(label: str, stats: dict[str, Any]) -> str:
    cells = [stats["ok"], stats["off_path"], stats["errors"], *(_s(stats[k]) for k in ("mean_s", "p50_s", "p95_s"))]
    return f"| {label} | " + " | ".join(str(c) for c in cells) + f" | {_s(stats['p99_s'])} |"


def refund(r: dict[str, Any]) -> list[str]:
    t = r["tool_latency_s"]
    lines = [
        f"Tool latency (s): get_order {t['get_order']}, get_payment_history {t['get_payment_history']}, "
        f"get_order_refund_policy {t['get_order_refund_policy']}, issue_refund {t['issue_refund']}; "
        f"{len(r['latencies_s']['parallel'])} runs per graph, alternating.",
        "",
        "| graph | critical path s | p50 s | mean s | p50 - critical path ms | field s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, label in (("sequential", "sequential (same nodes, chained)"), ("parallel", "parallel (our graph)")):
        over = r["overhead_ms"]["sequential_p50" if name == "sequential" else "p50"]
        lines.append(
            f"| {label} | {_s(r['critical_path_s'][name])} | {_s(r['p50_s'][name])} | {_s(r['mean_s'][name])} "
            f"| {over:.1f} | {FIELD_REFUND_S[name]} |"
        )
    field = FIELD_REFUND_S["sequential"] / FIELD_REFUND_S["parallel"]
    return [
        *lines,
        "",
        f"Speed-up sequential/parallel (p50): {r['speedup']:.2f}x (field: {field:.2f}x).",
        "",
        f"- {r['verdict']} parallel p50 <= critical path + {TARGET_OVERHEAD_MS:.0f} ms: "
        f"+{r['overhead_ms']['p50']:.1f} ms (worst run +{r['overhead_ms']['max']:.1f} ms)",
    ]


def mix(r: dict[str, Any]) -> list[str]:
    sim = r["sim"]
    lines = [
        f"Simulator in its own process: TTFT {sim['ttft_ms']:.0f} ms, {sim['tokens_per_s']:.0f} tokens/s; "
        f"concurrency {r['concurrency']}. The all-LLM baseline is a stand-in: every question is phrased so "
        "that it reaches the agent (the app has no switch to bypass the rule and classifier tiers).",
        "",
        "| traffic | ok | off path | errors | mean s | p50 s | p95 s | p99 s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        _latency_row("hybrid mix", r["hybrid"]),
        *(_latency_row(f"- of which {kind}", stats) for kind, stats in r["hybrid_by_kind"].items()),
        _latency_row("all-LLM stand-in", r["all_llm"]),
        "",
        f"Mean latency, hybrid / all-LLM: {r['mean_ratio']:.3f} "
        f"(field: 0.85 s / 12.3 s = {r['field_mean_ratio']:.3f}).",
    ]
    examples = r["hybrid"]["off_path_examples"] + r["all_llm"]["off_path_examples"]
    return lines + ([""] + [f"- off path: {e}" for e in examples[:5]] if examples else [])


def concurrency(r: dict[str, Any]) -> list[str]:
    b, m, cpu, sim = r["burst"], r["memory"], r["cpu_s"], r["sim"]
    lines = [
        f"{r['streams']} streams started at once, one complex question each; simulator TTFT {sim['ttft_ms']:.0f} ms, "
        f"{sim['tokens_per_s']:.0f} tokens/s; critical path = the same question alone (median of "
        f"{len(r['critical_path_runs_s'])}): {_s(r['critical_path_s'])} s.",
        "",
        "| streams | ok | off path | errors | p50 s | p99 s | p99 / critical path | wall s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {r['streams']} | {b['ok']} | {b['off_path']} | {b['errors']} | {_s(b['completed_p50_s'])} "
        f"| {_s(b['completed_p99_s'])} | {r['p99_ratio']:.2f}x | {r['wall_s']:.1f} |",
        "",
        "p50 and p99 are over every stream that completed, on its path or not (a degraded answer is off path).",
        "",
        f"Server RSS: idle {m['idle_rss_kb'] / 1024:.0f} MB, peak {m['peak_rss_kb'] / 1024:.0f} MB, "
        f"{m['max_active_streams']} streams active at most: {m['kb_per_stream']:.0f} KB per stream.",
        f"CPU during the burst: server {cpu['server']:.1f} s, simulator {cpu['sim']:.1f} s, "
        f"benchmark client {cpu['bench']:.1f} s (2 cores x {r['wall_s']:.1f} s wall = {2 * r['wall_s']:.0f} s).",
        "",
        f"- {r['verdict']} no errors and p99 <= {CONCURRENCY_BOUND}x critical path: {b['errors']} errors, "
        f"{b['off_path']} off path, {r['p99_ratio']:.2f}x",
    ]
    examples = b["error_examples"] + b["off_path_examples"]
    return lines + ([""] + [f"- e.g. {e}" for e in examples[:3]] if examples else [])


def overhead(r: dict[str, Any]) -> list[str]:
    return [
        f"A complex question at concurrency 1 (TTFT {r['sim']['ttft_ms']:.0f} ms, {r['sim']['tokens_per_s']:.0f} "
        f"tokens/s), end to end through the server, vs the same LLM calls sent straight to the simulator "
        f"with ChatOpenAI ({r['runs'][0]['llm_calls']} calls), {len(r['runs'])} runs.",
        "",
        "| end to end p50 s | direct LLM p50 s | added ms | ratio (median) |",
        "|---:|---:|---:|---:|",
        f"| {_s(r['e2e_p50_s'])} | {_s(r['direct_llm_p50_s'])} | {r['added_ms']:.1f} | {r['ratio']:.3f}x |",
    ]


TITLES = {
    "refund": "1. Field figure: refund, in-process",
    "mix": "2. Hybrid mix vs all-LLM",
    "concurrency": "3. Concurrent streams in one server process",
    "overhead": "4. Overhead over the simulator's own time",
}
SECTIONS = {"refund": refund, "mix": mix, "concurrency": concurrency, "overhead": overhead}


def markdown(results: dict[str, Any]) -> str:
    out: list[str] = []
    for part, result in results.items():
        out += [f"## {TITLES[part]}", ""]
        out += [f"Broken, not measured: {result['broken']}"] if "broken" in result else SECTIONS[part](result)
        out.append("")
    return "\n".join(out)


def header(meta: dict[str, Any]) -> str:
    machine = meta["machine"]
    return (
        f"# LLM path: refund figure, hybrid mix, concurrent streams, overhead\n\n"
        f"{machine['timestamp']}, {machine['cpu_count']} CPUs, Python {machine['python']}, "
        f"langgraph {machine['versions']['langgraph']}, git {machine['git_sha'] or '?'}, "
        f"{meta['elapsed_s']:.0f} s in all\n\n"
        f"Command: `{meta['command']}`\n\n"
    )
