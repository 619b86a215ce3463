"""Structured logs: one JSON object per line (or text for a terminal), with the request and run
they belong to, and with secrets and personal data redacted before any handler writes them.

Context comes from contextvars, so nothing is passed around: `request_id` (set per HTTP request by
`server.middleware.RequestId`), `run_id` and `thread_id` (set by the executor for a run's task and
inherited by its node tasks), `node` (LangGraph's current runnable config), and the fields
`annotate_run` attached to the run, such as the route's `intent` and `tier`.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import unquote_plus

from langchain_core.runnables.config import var_child_runnable_config

LogFormat = Literal["json", "text"]

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
run_id: ContextVar[str | None] = ContextVar("run_id", default=None)
thread_id: ContextVar[str | None] = ContextVar("thread_id", default=None)

# In this order after ts, level, logger and message; each only when known.
CONTEXT_FIELDS = ("request_id", "run_id", "thread_id", "node", "intent", "tier")

# -- runs ---------------------------------------------------------------------------------------

_annotations: dict[str, dict[str, Any]] = {}
_MAX_ANNOTATED_RUNS = 10_000  # a run never forgotten must not grow this for ever


def annotate_run(run: str, **fields: Any) -> None:
    """Fields every later record of the run carries (e.g. `intent`, `tier` once the route is known)."""
    known = {name: value for name, value in fields.items() if value is not None}
    if run not in _annotations and len(_annotations) >= _MAX_ANNOTATED_RUNS:
        del _annotations[next(iter(_annotations))]
    _annotations.setdefault(run, {}).update(known)


def forget_run(run: str) -> None:
    _annotations.pop(run, None)


@contextmanager
def run_context(run: str, thread: str) -> Iterator[None]:
    """Records logged inside (and in tasks started inside) carry the run and its thread;
    the run's annotations are dropped on exit."""
    run_token, thread_token = run_id.set(run), thread_id.set(thread)
    try:
        yield
    finally:
        run_id.reset(run_token)
        thread_id.reset(thread_token)
        forget_run(run)


# -- redaction ----------------------------------------------------------------------------------

_SECRET_NAMES = (
    r"(?:authorization|api[_-]?key|apikey|(?:access|private|secret)[_-]?key|password|passwd|secret|token"
    r"|credentials?|cookie)"
)
_SECRET_KEY = re.compile(rf"(?i)[\w-]*{_SECRET_NAMES}")  # a dict key naming a secret: its value goes
_SECRET_VALUE = r"(?:(?:bearer|basic|digest|token)\s+)?[^\s\"'&,;}\]]+"
_URL_PASSWORD = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^\s/:@]*:)[^\s/@]+(@)")  # scheme://user:pass@
# (hints, pattern, replacement), applied in order when the lowercased text holds one of the hints: named
# values first, so `x-api-key: <key>` reads `x-api-key: ***`. The hints keep an ordinary line cheap.
_RULES: list[tuple[tuple[str, ...], re.Pattern[str], str]] = [
    (("bearer",), re.compile(r"(?i)\b(bearer)\s+[^\s\"',;]+"), r"\1 ***"),
    # name: value, name=value, "name": "value", ('name', 'value'), (b'name', b'value'); x-api-key, OPENAI_API_KEY
    (
        ("auth", "key", "passw", "secret", "token", "credential", "cookie"),
        re.compile(rf"(?i)({_SECRET_NAMES}(?:[\"']\s*[:=,]|\s*[:=])\s*(?:b?[\"'])?){_SECRET_VALUE}"),
        r"\1***",
    ),
    (("://",), _URL_PASSWORD, r"\1***\2"),
    (("syk_",), re.compile(r"syk_[A-Za-z0-9_-]{16,}"), "syk_…[redacted]"),  # our API keys
    (("lsv2_",), re.compile(r"lsv2_[A-Za-z0-9_-]{16,}"), "lsv2_…[redacted]"),  # LangSmith
    (("sk-",), re.compile(r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_-]{20,}"), "sk-…[redacted]"),  # OpenAI style
    # Not after `/` (the user of scheme://user@host) nor inside a longer token.
    (("@",), re.compile(r"(?<![\w.%+/-])[\w.%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"), "[email]"),
]
# Digit groups joined by single spaces or dashes, standing alone (not part of an id like a UUID).
_DIGIT_RUN = re.compile(r"(?<!\w)(?<!\w-)[0-9]+(?:[ -][0-9]+)*(?!\w)(?!-\w)")
_URL_ENCODED = re.compile(r"%[0-9A-Fa-f]{2}|[^\s+]\+[^\s+]")
_MAYBE_CARD = re.compile(r"[0-9][0-9 -]{11,}[0-9]")  # at least 13 characters of digits and separators


def luhn(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = ord(char) - 48
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _cards(match: re.Match[str]) -> str:
    """Every stretch of whole groups in the run with 13-19 digits passing Luhn becomes `[card]`."""
    text = match.group()
    groups = [(m.start(), m.end()) for m in re.finditer(r"[0-9]+", text)]
    spans: list[tuple[int, int]] = []
    for first in range(len(groups)):
        digits = ""
        for last in range(first, len(groups)):
            digits += text[groups[last][0] : groups[last][1]]
            if len(digits) > 19:
                break
            if len(digits) >= 13 and luhn(digits):
                spans.append((groups[first][0], groups[last][1]))
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, at = [], 0
    for start, end in merged:
        out += [text[at:start], "[card]"]
        at = end
    return "".join(out) + text[at:]


def redact(text: str) -> str:
    """`text` without API keys, bearer tokens, secret values, URL passwords, emails and card numbers;
    URL-encoded ones too (a query string's `jane%40example.com`, `4111+1111+...`): then the text
    comes back decoded."""
    out = _redact(text)
    if ("%" in out or "+" in out) and _URL_ENCODED.search(out):
        decoded = unquote_plus(out)
        cleaned = _redact(decoded)
        if cleaned != decoded:
            return cleaned
    return out


def _redact(text: str) -> str:
    lowered = text.lower()
    for hints, pattern, replacement in _RULES:
        if any(hint in lowered for hint in hints):
            text = pattern.sub(replacement, text)
    return _DIGIT_RUN.sub(_cards, text) if _MAYBE_CARD.search(text) else text


def redact_value(value: Any) -> Any:
    """`redact` through dicts and lists (a value under a key that names a secret becomes `***`);
    numbers that look like cards become `[card]`; other objects become their redacted text."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        return "[card]" if 13 <= len(str(abs(value))) <= 19 and luhn(str(abs(value))) else value
    if isinstance(value, Mapping):
        return {str(k): "***" if _SECRET_KEY.fullmatch(str(k)) else redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(item) for item in value]
    return redact(str(value))


def redact_url(url: str) -> str:
    """The URL with its password (if any) replaced by `***`."""
    return _URL_PASSWORD.sub(r"\1***\2", url)


# -- records ------------------------------------------------------------------------------------

_STANDARD = {*logging.makeLogRecord({}).__dict__, "message", "asctime", "color_message", *CONTEXT_FIELDS}


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """What the caller passed with `extra=` (and uvicorn's access fields)."""
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")}


class RunContext(logging.Filter):
    """Stamps each record with the context fields it does not carry already."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in (("request_id", request_id), ("run_id", run_id), ("thread_id", thread_id)):
            if getattr(record, name, None) is None and (value := var.get()) is not None:
                setattr(record, name, value)
        if getattr(record, "node", None) is None:
            config = var_child_runnable_config.get() or {}
            node = (config.get("metadata") or {}).get("langgraph_node")
            if node is not None:
                record.__dict__["node"] = node
        run = getattr(record, "run_id", None)
        for name, value in _annotations.get(run, {}).items() if isinstance(run, str) else ():
            if getattr(record, name, None) is None:
                setattr(record, name, value)
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            _, method, path, _, status = record.args
            record.__dict__.update(method=method, path=path, status_code=status)
        return True


class Redaction(logging.Filter):
    """Rewrites the record in place, so whichever handler or formatter comes next sees no secret:
    the final message (its args merged in), every `extra=` field, the exception and stack text."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_redacted", False):
            return True
        try:
            record.msg, record.args = redact(record.getMessage()), ()
        except (TypeError, ValueError):  # args that do not fit the format: the handler reports it, redacted
            record.msg, record.args = redact(str(record.msg)), (redact(repr(record.args)),)
        for name, value in extra_fields(record).items():
            setattr(record, name, redact_value(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        record.__dict__["_redacted"] = True
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, the context fields that are known,
    the `extra=` fields, and `exception` text for errors."""

    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        entry: dict[str, Any] = {
            "ts": ts.replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            if (value := getattr(record, name, None)) is not None:
                entry[name] = value
        entry.update(extra_fields(record))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`ts LEVEL logger message [request_id=... run_id=...]`, for a human at a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        context = [f"{n}={v}" for n in CONTEXT_FIELDS if (v := getattr(record, n, None)) is not None]
        line = super().formatMessage(record)
        return f"{line} [{' '.join(context)}]" if context else line


# -- setup --------------------------------------------------------------------------------------

HANDLER_NAME = "switchyard"
_run_context, _redaction = RunContext(), Redaction()


def formatter(fmt: LogFormat) -> logging.Formatter:
    return JsonFormatter() if fmt == "json" else TextFormatter()


def configure(level: str = "info", fmt: LogFormat = "json") -> None:
    """Once per process, again to change the format. Our stderr handler goes on the root logger,
    unless someone else (a test) configured it already; every root handler gets the context and
    redaction filters, and uvicorn's loggers propagate to it, so their lines share the format."""
    root = logging.getLogger()
    ours = next((h for h in root.handlers if h.get_name() == HANDLER_NAME), None)
    if ours is None and not root.handlers:
        ours = logging.StreamHandler(sys.stderr)
        ours.set_name(HANDLER_NAME)
        root.addHandler(ours)
    if ours is not None:
        ours.setFormatter(formatter(fmt))
        root.setLevel(level.upper())
    for handler in root.handlers:
        for f in (_run_context, _redaction):  # context first: redaction covers what it adds
            if f not in handler.filters:
                handler.addFilter(f)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.captureWarnings(True)
