"""The wire format: request bodies we accept. One module, shared by server, tests and evals.
What we answer is in `server.responses`.

Every request model forbids unknown fields, and fields of the protocol that we do not
implement are refused with a clear 422 (see `UNSUPPORTED_RUN_FIELDS`): silently
ignoring them would be false compatibility.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import orjson
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator, with_config
from typing_extensions import TypedDict  # pydantic needs it before Python 3.12

from infra.jsonwire import dumps
from server.sse import StreamMode

MultitaskStrategy = Literal["reject", "enqueue", "interrupt", "rollback"]


# Deeper bodies parse, but orjson (records, checkpoints, SSE) refuses nesting past 255 levels,
# and the run record wraps a body a few levels deeper still.
MAX_JSON_DEPTH = 200
# Past any real page; SQLite and Redis refuse offsets beyond 64 bits.
MAX_OFFSET = 2**53


def json_depth(value: Any) -> int:
    """Nesting depth of parsed JSON, iteratively: the value may be nested ~1000 levels deep."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        """What parses must also encode: records, checkpoints and SSE frames are orjson, which
        refuses integers beyond 64 bits and unpaired surrogates (`"\\ud800"`) that `json.loads` accepts."""
        if json_depth(data) > MAX_JSON_DEPTH:
            raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
        try:
            dumps(data)
        except orjson.JSONEncodeError as exc:
            raise ValueError(f"not storable as JSON: {exc}") from None
        return data


class CheckpointConfig(BaseModel):
    model_config = ConfigDict(extra="allow")

    thread_id: str | None = None
    checkpoint_ns: str | None = ""
    checkpoint_id: str | None = None
    checkpoint_map: dict[str, Any] | None = None


class Command(Body):
    resume: Any = None
    update: dict[str, Any] | list[Any] | None = None
    goto: str | list[str] | dict[str, Any] | list[dict[str, Any]] | None = None


# Other keys are let through here and refused by `server.run_requests.refuse_unsupported`
# (422 `unsupported_field`), so the client learns which key we do not implement.
@with_config(ConfigDict(extra="allow"))
class RunConfig(TypedDict, total=False):
    configurable: dict[str, Any]
    tags: list[str]
    recursion_limit: Annotated[int, Field(ge=1)]
    run_name: str
    max_concurrency: Annotated[int, Field(ge=1)]
    metadata: dict[str, Any]


SUPPORTED_CONFIG_KEYS = frozenset(RunConfig.__annotations__)


class RunCreate(Body):
    assistant_id: str
    input: dict[str, Any] | None = None
    command: Command | None = None
    metadata: dict[str, Any] | None = None
    config: RunConfig | None = None
    context: dict[str, Any] | None = None
    checkpoint: CheckpointConfig | None = None
    checkpoint_id: str | None = None
    stream_mode: StreamMode | list[StreamMode] = "values"
    stream_subgraphs: bool = False
    stream_resumable: bool = False
    interrupt_before: Literal["*"] | list[str] | None = None
    interrupt_after: Literal["*"] | list[str] | None = None
    multitask_strategy: MultitaskStrategy = "enqueue"
    if_not_exists: Literal["create", "reject"] = "reject"
    on_disconnect: Literal["cancel", "continue"] = "continue"
    on_completion: Literal["delete", "keep"] = "delete"
    durability: Literal["sync", "async", "exit"] | None = None
    checkpoint_during: bool | None = None
    # Accepted by the protocol, refused by us until implemented (see server.runs_api).
    webhook: str | None = None
    feedback_keys: list[str] | None = None
    after_seconds: float | None = None
    langsmith_tracer: dict[str, Any] | None = None
    strict_resume: bool | None = None

    def modes(self) -> list[str]:
        return [self.stream_mode] if isinstance(self.stream_mode, str) else list(self.stream_mode)


UNSUPPORTED_RUN_FIELDS = ("webhook", "feedback_keys", "after_seconds", "langsmith_tracer", "strict_resume")


class ThreadCreate(Body):
    thread_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    if_exists: Literal["raise", "do_nothing"] = "raise"


class ThreadPatch(Body):
    metadata: dict[str, Any] = Field(default_factory=dict)


def _pathable_keys(filters: dict[str, Any]) -> dict[str, Any]:
    """Embedded mode matches each key as a JSON path in SQLite, which cannot spell these characters."""
    unmatchable = [key for key in filters if any(c in '"\\' or c < " " for c in key)]
    if unmatchable:
        raise ValueError(f"keys may not contain '\"', '\\' or control characters: {unmatchable[:3]}")
    return filters


# `metadata` and `values` of a thread search: each key must equal the given JSON value.
ThreadFilter = Annotated[dict[str, Any], AfterValidator(_pathable_keys)]
# A SQLite statement takes at most 32766 parameters.
MAX_SEARCH_IDS = 1000


class ThreadSearch(Body):
    ids: list[str] | None = Field(None, max_length=MAX_SEARCH_IDS)
    metadata: ThreadFilter = Field(default_factory=dict)
    values: ThreadFilter = Field(default_factory=dict)
    status: Literal["idle", "busy", "interrupted", "error"] | None = None
    limit: int = Field(10, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)
    sort_by: Literal["thread_id", "status", "created_at", "updated_at"] = "created_at"
    sort_order: Literal["asc", "desc"] = "desc"


class ThreadCount(Body):
    metadata: ThreadFilter = Field(default_factory=dict)
    values: ThreadFilter = Field(default_factory=dict)
    status: Literal["idle", "busy", "interrupted", "error"] | None = None


class HistoryRequest(Body):
    limit: int = Field(10, ge=1, le=1000)
    before: CheckpointConfig | str | None = None
    metadata: dict[str, Any] | None = None
    checkpoint: CheckpointConfig | None = None


class StateUpdate(Body):
    values: dict[str, Any] | list[Any] | None = None
    checkpoint: CheckpointConfig | None = None
    checkpoint_id: str | None = None
    as_node: str | None = None


class StateAtCheckpoint(Body):
    checkpoint: CheckpointConfig
    subgraphs: bool = False


class AssistantSearch(Body):
    metadata: dict[str, Any] = Field(default_factory=dict)
    graph_id: str | None = None
    name: str | None = None
    limit: int = Field(10, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)
    sort_by: Literal["assistant_id", "graph_id", "name", "created_at", "updated_at"] | None = None
    sort_order: Literal["asc", "desc"] | None = None
    select: list[str] | None = None


class StorePut(Body):
    namespace: list[str]
    key: str
    value: dict[str, Any]
    index: Literal[False] | list[str] | None = None
    ttl: float | None = None


class StoreDelete(Body):
    namespace: list[str] = Field(default_factory=list)
    key: str


# The store reads a filter key as a dotted JSON path, and an object value as {operator: operand}.
_STORE_FILTER_KEY = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")
STORE_FILTER_OPERATORS = ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte")


class StoreSearch(Body):
    namespace_prefix: list[str] = Field(default_factory=list)
    filter: dict[str, Any] | None = None
    limit: int = Field(10, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)
    query: str | None = None
    refresh_ttl: bool | None = None

    @field_validator("filter")
    @classmethod
    def _matchable(cls, filter: dict[str, Any] | None) -> dict[str, Any] | None:
        for key, value in (filter or {}).items():
            if not _STORE_FILTER_KEY.fullmatch(key):
                raise ValueError(f"key {key!r} must be letters, digits, '_' and '-', with '.' between names")
            if isinstance(value, dict) and not set(value) <= set(STORE_FILTER_OPERATORS):
                raise ValueError(f"the operators of {key!r} must be among {list(STORE_FILTER_OPERATORS)}")
        return filter


class StoreNamespaces(Body):
    prefix: list[str] | None = None
    suffix: list[str] | None = None
    max_depth: int | None = Field(None, ge=1, le=MAX_OFFSET)
    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)
