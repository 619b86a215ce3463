"""Our retry policy for LLM calls (the SDK's own retries are off).

Exponential backoff with full jitter, a server's Retry-After taking precedence, only
errors worth retrying retried, and never a sleep past the caller's deadline. Giving up
raises `LlmUnavailable` with a stable `code`, which the degradation ladder acts on;
it names the last error by class and status only, never by its text.
"""

from __future__ import annotations

import asyncio
import email.utils
import inspect
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol, TypeVar

import openai

from infra import metrics
from infra.llm.breaker import BreakerOpen, CircuitBreaker

T = TypeVar("T")


class LlmUnavailable(Exception):
    """The LLM cannot answer this call; the caller takes the next rung of the ladder.

    Also the base of the gate's `GateTimeout` and the budget's `BudgetExceeded`, so one
    `except LlmUnavailable` covers every way of not getting an LLM answer.
    """

    code: str

    def __init__(self, reason: str, code: str, attempts: int, last_error: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.reason = reason
        self.code = code
        self.attempts = attempts
        self.last_error = last_error


class RetryableError(Exception):
    """Raise a subclass from the call to have it retried like a transient LLM failure."""

    code = "llm_retryable"

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class MalformedToolCall(RetryableError):
    """The model's tool call did not parse or validate; asking again usually fixes it."""

    code = "llm_malformed_output"


class Rng(Protocol):
    def uniform(self, a: float, b: float) -> float: ...


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    base_delay_s: float = 0.2
    max_delay_s: float = 4.0
    jitter: bool = True
    # A server asking for a longer pause than this is not waited for: the ladder answers sooner.
    max_retry_after_s: float = 60.0

    def backoff_s(self, retry: int, rng: Rng = random) -> float:
        """The pause before retry number `retry` (0 for the first): capped exponential, full jitter."""
        ceiling = min(self.max_delay_s, self.base_delay_s * 2.0 ** min(retry, 64))
        return rng.uniform(0.0, ceiling) if self.jitter else ceiling


@dataclass(frozen=True)
class RetryEvent:
    """Passed to `on_retry` before each pause."""

    attempt: int  # the attempt that just failed, from 1
    delay_s: float
    code: str
    error: str


def retry_after_s(headers: Mapping[str, str]) -> float | None:
    """A server's requested pause: `retry-after-ms`, else `retry-after` in seconds or as an HTTP date."""
    for header, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(header)
        if value is None:
            continue
        try:
            seconds = float(value) / divisor
        except ValueError:
            continue
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _status_retryable(exc: openai.APIStatusError) -> bool:
    # The server may say so explicitly (OpenAI's own SDK obeys this header too).
    should_retry = exc.response.headers.get("x-should-retry")
    if should_retry in ("true", "false"):
        return should_retry == "true"
    # 408 request timeout, 409 lock timeout, 429 rate limit, 5xx: transient. Any other 4xx
    # is our request's fault and would fail the same way again.
    return exc.status_code in (408, 409, 429) or exc.status_code >= 500


def classify(exc: BaseException) -> tuple[bool, float | None]:
    """(worth retrying?, the server's requested pause in seconds, if any)."""
    if isinstance(exc, RetryableError):
        return True, exc.retry_after_s
    if isinstance(exc, openai.APIStatusError):
        return _status_retryable(exc), retry_after_s(exc.response.headers)
    if isinstance(exc, openai.APIConnectionError | TimeoutError):  # APITimeoutError included
        return True, None
    return False, None


def error_code(exc: BaseException) -> str | None:
    """Our stable code for an LLM failure; None when `exc` is not one (a bug: let it propagate)."""
    if isinstance(exc, RetryableError):
        return exc.code
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        if status == 429:
            return "llm_rate_limited"
        if status == 408:
            return "llm_timeout"
        return "llm_server_error" if status >= 500 or status == 409 else "llm_client_error"
    if isinstance(exc, openai.APITimeoutError | TimeoutError):
        return "llm_timeout"
    if isinstance(exc, openai.APIConnectionError):
        return "llm_connection_error"
    if isinstance(exc, openai.OpenAIError):  # e.g. a response that does not fit the schema
        return "llm_bad_response"
    return None


def describe(exc: BaseException) -> str:
    """Class name and status only: an SDK message may echo the prompt or the endpoint's internals."""
    status = getattr(exc, "status_code", None)
    return f"{type(exc).__name__}({status})" if isinstance(status, int) else type(exc).__name__


def is_endpoint_failure(exc: BaseException) -> bool:
    """Counts against the breaker: the endpoint is down or too slow. A 4xx (429 included) or a
    malformed answer means the endpoint is up."""
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code >= 500
    return isinstance(exc, openai.APIConnectionError | TimeoutError)


async def call_with_retries(
    fn: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    deadline: float | None,
    on_retry: Callable[[RetryEvent], object] | None = None,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    rng: Rng = random,
    clock: Callable[[], float] = time.monotonic,
    breaker: CircuitBreaker | None = None,
) -> T:
    """Call `fn` until it succeeds, it fails for good, attempts run out or the deadline would pass.

    `deadline` is a time of `clock` (monotonic by default); each attempt is also cut off
    at it. With a `breaker`, every attempt must be admitted by it and reports its outcome
    to it. `on_retry` (sync or async) hears of each pause before it starts. Exceptions that
    are not LLM failures (see `error_code`) propagate unchanged.
    """
    attempts = 0
    last_error = "none"
    while True:
        now = clock()
        if deadline is not None and now >= deadline:
            raise LlmUnavailable("the deadline passed before the LLM answered", "llm_deadline", attempts, last_error)
        if breaker is not None:
            try:
                await breaker.admit()
            except BreakerOpen as exc:
                reason = f"circuit breaker for {exc.name} is open"
                raise LlmUnavailable(reason, BreakerOpen.code, attempts, last_error) from exc
        attempts += 1
        try:
            if deadline is None:
                result = await fn()
            else:
                async with asyncio.timeout(deadline - now):
                    result = await fn()
        except LlmUnavailable:
            raise  # already final, e.g. the gate timed out inside `fn`
        except Exception as exc:
            code = error_code(exc)
            if code is None:
                raise
            metrics.LLM_ATTEMPT_ERRORS.labels(code).inc()
            last_error = describe(exc)
            if breaker is not None:
                await (breaker.record_failure() if is_endpoint_failure(exc) else breaker.record_success())
            retryable, server_pause = classify(exc)
            if not retryable:
                raise LlmUnavailable(f"{last_error} is not retryable", code, attempts, last_error) from exc
            if deadline is not None and clock() >= deadline:
                raise LlmUnavailable(f"{last_error} at the deadline", "llm_deadline", attempts, last_error) from exc
            if attempts >= policy.max_attempts:
                reason = f"{last_error} after {attempts} attempts"
                raise LlmUnavailable(reason, code, attempts, last_error) from exc
            if server_pause is not None and server_pause > policy.max_retry_after_s:
                reason = f"{last_error} asks for a {server_pause:.0f}s pause"
                raise LlmUnavailable(reason, code, attempts, last_error) from exc
            delay = server_pause if server_pause is not None else policy.backoff_s(attempts - 1, rng)
            if deadline is not None and clock() + delay >= deadline:
                reason = f"{last_error}; the next attempt in {delay:.2f}s would pass the deadline"
                raise LlmUnavailable(reason, "llm_deadline", attempts, last_error) from exc
            if on_retry is not None:
                reported = on_retry(RetryEvent(attempts, delay, code, last_error))
                if inspect.isawaitable(reported):
                    await reported
            await sleep(delay)
        else:
            if breaker is not None:
                await breaker.record_success()
            return result
