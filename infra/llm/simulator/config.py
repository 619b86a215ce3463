"""The simulator's configuration, and the per-request controls read from headers and message markers.

A request can override latency and ask for a fault in two ways, so tests can steer one call without
touching the configuration of a shared simulator:

- headers: `x-sim-ttft-ms`, `x-sim-tokens-per-s`, `x-sim-fault`, `x-sim-retry-after`, `x-sim-stall-s`;
- a marker anywhere in the messages' text: `[sim:ttft=300,tps=50]`, `[sim:fault=500x2]`,
  `[sim:stall=0.5]`, `[sim:retry_after=2]`. Headers win over markers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

FAULTS: tuple[str, ...] = ("429", "500", "503", "stall", "timeout", "cut", "bad_tool_json")

MARKER = re.compile(r"\[sim:([^\]]*)\]")
_COUNTED_FAULT = re.compile(r"^(?P<name>[a-z0-9_]+?)(?:x(?P<times>\d+))?$")


class SimConfigError(ValueError):
    """A configuration or control value the simulator cannot honour."""

    code = "sim_invalid_config"


@dataclass
class SimConfig:
    """How the simulator behaves. `tokens_per_s <= 0` means no pacing; `ttft_ms <= 0` no first-token wait."""

    ttft_ms: float = 150
    tokens_per_s: float = 100
    # Fault name -> probability per request. The probabilities are exclusive slices of one draw.
    faults: dict[str, float] = field(default_factory=dict)
    seed: int = 7
    retry_after_s: float = 1.0
    stall_s: float = 60.0
    models: tuple[str, ...] = ("gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "gpt-4.1")

    def __post_init__(self) -> None:
        for name in ("ttft_ms", "tokens_per_s", "retry_after_s", "stall_s", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise SimConfigError(f"{name} must be a number, got {value!r}")
        if not isinstance(self.faults, dict):
            raise SimConfigError("faults must map fault names to probabilities")
        unknown = sorted(set(self.faults) - set(FAULTS))
        if unknown:
            raise SimConfigError(f"unknown fault(s) {unknown}; known: {list(FAULTS)}")
        if any(not 0.0 <= p <= 1.0 for p in self.faults.values()) or sum(self.faults.values()) > 1.0:
            raise SimConfigError("fault probabilities must be in [0, 1] and sum to at most 1")
        if self.stall_s < 0 or self.retry_after_s < 0:
            raise SimConfigError("stall_s and retry_after_s must be >= 0")

    def updated(self, changes: Mapping[str, Any]) -> SimConfig:
        """A copy with `changes` applied (what `POST /sim/config` does); unknown keys are refused."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise SimConfigError(f"unknown config field(s) {unknown}; known: {sorted(known)}")
        values = dict(changes)
        try:
            if "faults" in values:
                values["faults"] = {str(k): float(v) for k, v in dict(values["faults"]).items()}
            if "models" in values:
                values["models"] = tuple(str(m) for m in values["models"])
        except (TypeError, ValueError) as exc:
            raise SimConfigError(f"invalid config values: {exc}") from exc
        return replace(self, **values)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Controls:
    """What one request asked for, after headers, markers and the configuration are combined."""

    ttft_ms: float
    tokens_per_s: float
    retry_after_s: float
    stall_s: float
    fault: str | None = None
    # For a counted marker (`[sim:fault=500x2]`): the marker text and how many requests it fails.
    fault_marker: str | None = None
    fault_times: int | None = None


def _number(value: str, what: str) -> float:
    try:
        return float(value)
    except ValueError as exc:
        raise SimConfigError(f"{what} must be a number, got {value!r}") from exc


def _checked_fault(name: str) -> str:
    if name not in FAULTS:
        raise SimConfigError(f"unknown fault {name!r}; known: {list(FAULTS)}")
    return name


def read_controls(config: SimConfig, headers: Mapping[str, str], texts: Iterable[str]) -> Controls:
    """Combine the configuration with markers found in `texts` and then with headers (which win)."""
    values: dict[str, Any] = {
        "ttft_ms": config.ttft_ms,
        "tokens_per_s": config.tokens_per_s,
        "retry_after_s": config.retry_after_s,
        "stall_s": config.stall_s,
    }
    marker_keys = {
        "ttft": "ttft_ms",
        "tps": "tokens_per_s",
        "retry_after": "retry_after_s",
        "stall": "stall_s",
    }
    for text in texts:
        for found in MARKER.finditer(text):
            for pair in found.group(1).split(","):
                key, _, raw = (part.strip() for part in pair.partition("="))
                if key == "fault":
                    match = _COUNTED_FAULT.match(raw)
                    if match is None:
                        raise SimConfigError(f"bad fault marker {found.group(0)!r}")
                    values["fault"] = _checked_fault(match.group("name"))
                    times = match.group("times")
                    values["fault_marker"] = found.group(0) if times else None
                    values["fault_times"] = int(times) if times else None
                elif key in marker_keys:
                    values[marker_keys[key]] = _number(raw, f"marker {key}")
                elif key:
                    raise SimConfigError(f"unknown marker key {key!r} in {found.group(0)!r}")
    header_keys = {
        "x-sim-ttft-ms": "ttft_ms",
        "x-sim-tokens-per-s": "tokens_per_s",
        "x-sim-retry-after": "retry_after_s",
        "x-sim-stall-s": "stall_s",
    }
    for header, key in header_keys.items():
        if header in headers:
            values[key] = _number(headers[header], header)
    if "x-sim-fault" in headers:
        values.update(fault=_checked_fault(headers["x-sim-fault"].strip()), fault_marker=None, fault_times=None)
    return Controls(**values)


def strip_markers(text: str) -> str:
    """The text without simulator markers, so they never influence or leak into an answer."""
    return MARKER.sub("", text).strip() if "[sim:" in text else text
