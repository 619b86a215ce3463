"""`LlmService`: every LLM call of the app, through one door.

    response cache -> gate (concurrency, RPM, TPM, priority) -> breaker -> retries -> ChatOpenAI

It returns the message with its usage and cost, or raises `LlmUnavailable` (with a stable
`code`) for the degradation ladder to handle. Calls are cached only when the caller
passes `cache_deps` (what the answer depends on); side-effecting calls never pass it.

Embedded, the gate and the caches live in the process. Given a Redis client (scale-out),
the gate's budget (`RedisGate`) and the caches' second tier (`RedisCacheTier`) are shared
by every process on that Redis, under `settings.redis_prefix`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, message_to_dict, messages_from_dict
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from pydantic import BaseModel, ValidationError

from infra import metrics
from infra.llm.breaker import BreakerRegistry
from infra.llm.cache import ResponseCache, cache_key
from infra.llm.client import Role, chat_model, endpoint, model_name
from infra.llm.gate import LlmGate, LocalGate, Priority
from infra.llm.probe import EndpointProbe
from infra.llm.redis_cache import RedisCacheTier
from infra.llm.redis_gate import RedisGate
from infra.llm.retry import LlmUnavailable, MalformedToolCall, RetryPolicy, call_with_retries
from infra.llm.usage import Usage, usage_from_message
from infra.settings import Settings

if TYPE_CHECKING:  # the embedded mode never imports redis
    from redis.asyncio import Redis

__all__ = ["LlmResult", "LlmService", "LlmUnavailable", "Priority"]


@dataclass
class LlmResult:
    message: AIMessage
    usage: dict[str, Any]
    parsed: Any = None
    waited_s: float = 0.0
    cached: bool = False

    def to_json(self) -> dict[str, Any]:
        """What a shared cache keeps: the message, its usage and the structured output (as JSON)."""
        return {"message": message_to_dict(self.message), "usage": self.usage, "parsed": self.parsed}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LlmResult:
        """The inverse of `to_json`, except that `parsed` stays JSON: only the caller knows its schema."""
        message = cast(AIMessage, messages_from_dict([data["message"]])[0])
        return cls(message, data["usage"], data["parsed"])


@dataclass
class LlmService:
    settings: Settings
    models: Mapping[Role, BaseChatModel]
    gate: LlmGate
    breakers: BreakerRegistry
    responses: ResponseCache[LlmResult]
    # Whole answers for the ladder's second rung (see nodes.ladder).
    answers: ResponseCache[dict[str, Any]]
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    # Reachability of a real endpoint, for /health (None: the in-process simulator).
    probe: EndpointProbe | None = None
    # Models with their tools or schema bound, built once: binding re-renders JSON schemas every time.
    _bound: dict[tuple[Role, tuple[str, ...], str | None], Any] = field(default_factory=dict)

    @classmethod
    def from_settings(
        cls, settings: Settings, models: Mapping[Role, BaseChatModel] | None = None, redis: Redis | None = None
    ) -> LlmService:
        """The process's service; with `redis`, its gate budget and cache second tier are shared."""
        roles: tuple[Role, ...] = ("router", "agent", "responder")
        limits = (settings.llm_max_concurrency, settings.llm_rpm, settings.llm_tpm)
        gate: LlmGate = LocalGate(*limits)
        responses_tier: RedisCacheTier[LlmResult] | None = None
        answers_tier: RedisCacheTier[dict[str, Any]] | None = None
        if redis is not None:
            prefix = settings.redis_prefix
            gate = RedisGate(redis, prefix, *limits, lease_s=settings.lease_seconds)
            responses_tier = RedisCacheTier(redis, prefix, "responses", LlmResult.to_json, LlmResult.from_json)
            answers_tier = RedisCacheTier(redis, prefix, "answers")
        entries, ttl_s = settings.llm_cache_entries, settings.llm_cache_ttl_s
        return cls(
            settings=settings,
            models=models or {role: chat_model(role, settings) for role in roles},
            gate=gate,
            breakers=BreakerRegistry(settings.breaker_failures, settings.breaker_reset_s),
            responses=ResponseCache(entries, ttl_s, second_tier=responses_tier, name="responses"),
            answers=ResponseCache(entries, ttl_s, second_tier=answers_tier, name="answers"),
            policy=RetryPolicy(settings.llm_max_attempts, settings.llm_backoff_base_s, settings.llm_backoff_max_s),
            probe=None
            if settings.llm_simulated
            else EndpointProbe(
                endpoint(settings),
                settings.openai_api_key,
                settings.health_llm_probe_ttl_s,
                settings.health_llm_probe_timeout_s,
            ),
        )

    def _runnable(self, role: Role, tools: Sequence[BaseTool] | None, schema: type[BaseModel] | None) -> Any:
        key = (role, tuple(t.name for t in tools or ()), schema.__qualname__ if schema else None)
        if key not in self._bound:
            model = self.models[role]
            if tools:
                self._bound[key] = model.bind_tools(list(tools))
            elif schema is not None:
                self._bound[key] = model.with_structured_output(schema, method="json_schema", include_raw=True)
            else:
                self._bound[key] = model
        return self._bound[key]

    @property
    def endpoint(self) -> str:
        return endpoint(self.settings)

    async def ainvoke(
        self,
        role: Role,
        messages: Sequence[BaseMessage],
        *,
        tools: Sequence[BaseTool] | None = None,
        schema: type[BaseModel] | None = None,
        config: RunnableConfig | None = None,
        priority: Priority = "interactive",
        deadline: float | None = None,
        cache_deps: Mapping[str, str] | None = None,
    ) -> LlmResult:
        """One LLM call. `cache_deps` makes it cacheable (None: never cached)."""
        name = model_name(role, self.settings)
        params = {"tools": [t.name for t in tools or ()], "schema": schema.__name__ if schema else None}
        key = cache_key(name, list(messages), params)
        if cache_deps is not None and (hit := await self._cached(key, cache_deps, schema)) is not None:
            metrics.LLM_CALLS.labels(name, "cached").inc()
            return hit

        runnable = self._runnable(role, tools, schema)

        async def attempt() -> tuple[AIMessage, Any]:
            try:
                output = await runnable.ainvoke(list(messages), config)
            except ValidationError as exc:  # structured output that is not valid JSON for the schema
                raise MalformedToolCall("the model's structured output did not match the schema") from exc
            if schema is not None and not tools:
                return output["raw"], output["parsed"]
            if output.invalid_tool_calls and not output.tool_calls:
                raise MalformedToolCall("the model's tool call arguments were not valid JSON")
            return output, None

        estimate = sum(len(str(m.content)) for m in messages) // 4 + 256
        started = time.perf_counter()
        try:
            async with self.gate.slot(tokens=estimate, priority=priority, deadline=deadline) as ticket:
                message, parsed = await call_with_retries(
                    attempt,
                    policy=self.policy,
                    deadline=deadline,
                    breaker=self.breakers.for_endpoint(self.endpoint),
                )
                usage = usage_from_message(message, self.settings.prices, name)
                ticket.settle(usage.total_tokens)
        except LlmUnavailable as exc:
            _count_call(name, exc.code, started)
            raise
        _count_call(name, "ok", started, usage)
        result = LlmResult(message, usage.as_dict(), parsed, ticket.waited_s)
        if cache_deps is not None:
            await self.responses.aput(key, result, cache_deps, cacheable=True)
        return result

    async def _cached(self, key: str, deps: Mapping[str, str], schema: type[BaseModel] | None) -> LlmResult | None:
        hit = await self.responses.aget(key, deps)
        if hit is None:
            return None
        parsed = hit.parsed
        if schema is not None and parsed is not None and not isinstance(parsed, schema):
            # From the shared tier structured output comes back as JSON; the caller's schema makes it a model.
            try:
                parsed = schema.model_validate(parsed)
            except ValidationError:  # written by a process with another version of the schema
                return None
        # A fresh id: the same answer may land twice in one conversation.
        message = hit.message.model_copy(update={"id": None})
        return LlmResult(message, Usage().as_dict(), parsed, 0.0, cached=True)


def _count_call(model: str, outcome: str, started: float, usage: Usage | None = None) -> None:
    metrics.LLM_CALLS.labels(model, outcome).inc()
    metrics.LLM_CALL_SECONDS.labels(model).observe(time.perf_counter() - started)
    if usage is not None:
        metrics.LLM_TOKENS.labels(model, "prompt").inc(usage.prompt_tokens)
        metrics.LLM_TOKENS.labels(model, "completion").inc(usage.completion_tokens)
        metrics.LLM_COST.labels(model).inc(usage.cost_usd)
