"""The demo shop against real SQLite files: seeding, every tool, the fixture orders and refund idempotency."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import shop.tools
from shop import (
    IdempotencyKeyReused,
    InvalidEmail,
    InvalidRefundAmount,
    OrderNotFound,
    RefundAssessment,
    RefundExceedsBalance,
    RefundReceipt,
    Shop,
    ShopNotSeeded,
    UnknownCategory,
    assess_refund,
    has_shop,
    seed_database,
)
from shop import fixtures as fx
from shop.schema import SHOP_TABLES

SMALL_CUSTOMERS, SMALL_ORDERS = 200, 1000
AS_OF = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


# ---------------------------------------------------------------------------------------------------- helpers


def content_hash(path: Path) -> str:
    """A digest of every row of every shop table, independent of SQLite's page layout."""
    digest = hashlib.sha256()
    with closing(sqlite3.connect(path)) as conn:
        for table in SHOP_TABLES:
            digest.update(table.encode())
            for row in conn.execute(f"SELECT * FROM {table} ORDER BY rowid"):
                digest.update(repr(row).encode())
    return digest.hexdigest()


def query(path: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql, params).fetchall()


def scalar(path: Path, sql: str, params: tuple[object, ...] = ()) -> Any:
    return query(path, sql, params)[0][0]


async def assess(shop_: Shop, order_id: int, requested_cents: int | None = None) -> RefundAssessment:
    order = await shop_.get_order(order_id)
    history = await shop_.get_payment_history(order_id)
    policy = await shop_.get_order_refund_policy(order_id)
    assert order is not None and policy is not None
    return assess_refund(order, history, policy, as_of=shop_.as_of(), requested_cents=requested_cents)


# --------------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("shop") / "template.db"
    seed_database(path, seed=7, customers=SMALL_CUSTOMERS, orders=SMALL_ORDERS)
    return path


@pytest.fixture
def db_path(template_db: Path, tmp_path: Path) -> Path:
    """A private copy of the seeded shop, so writes in one test never leak into another."""
    path = tmp_path / "shop.db"
    shutil.copyfile(template_db, path)
    return path


@pytest.fixture
async def shop_(db_path: Path) -> AsyncIterator[Shop]:
    async with await Shop.open(db_path) as opened:
        yield opened


# ------------------------------------------------------------------------------------------------------- seed


def test_same_seed_gives_identical_content_and_another_seed_differs(tmp_path: Path) -> None:
    first, again, other = tmp_path / "a.db", tmp_path / "b.db", tmp_path / "c.db"
    seed_database(first, seed=7, customers=SMALL_CUSTOMERS, orders=SMALL_ORDERS)
    seed_database(again, seed=7, customers=SMALL_CUSTOMERS, orders=SMALL_ORDERS)
    seed_database(other, seed=8, customers=SMALL_CUSTOMERS, orders=SMALL_ORDERS)
    assert content_hash(first) == content_hash(again)
    assert content_hash(first) != content_hash(other)


def test_seed_sizes_ids_and_mix(template_db: Path) -> None:
    assert scalar(template_db, "SELECT count(*) FROM customers") == 200
    assert query(template_db, "SELECT count(*), min(id), max(id) FROM orders") == [(1000, 10001, 11000)]
    statuses = dict(query(template_db, "SELECT status, count(*) FROM orders GROUP BY status"))
    assert set(statuses) == {
        "pending", "paid", "shipped", "delivered", "cancelled", "refunded", "partially_refunded",
    }  # fmt: skip
    assert statuses["delivered"] > 400
    currencies = dict(query(template_db, "SELECT currency, count(*) FROM orders GROUP BY currency"))
    assert set(currencies) == {"USD", "EUR", "GBP"}
    assert currencies["USD"] > 600
    low, high = query(template_db, "SELECT min(total_cents), max(total_cents) FROM orders")[0]
    assert isinstance(low, int) and isinstance(high, int)
    assert low < 1500 and high > 150_000
    per_order = {n for (n,) in query(template_db, "SELECT count(*) FROM order_items GROUP BY order_id")}
    assert per_order == {1, 2, 3, 4}
    oldest = scalar(template_db, "SELECT min(created_at) FROM orders")
    assert isinstance(oldest, str)
    assert AS_OF - timedelta(days=366) < datetime.fromisoformat(oldest) < AS_OF - timedelta(days=300)
    assert scalar(template_db, "SELECT value FROM shop_meta WHERE key = 'as_of'") == "2026-11-01T12:00:00Z"
    assert scalar(template_db, "SELECT count(*) FROM kb_articles") >= 30


def test_seeded_rows_are_consistent(template_db: Path) -> None:
    """Totals add up, refunds never exceed captures, statuses match money and time."""
    bad_totals = query(
        template_db,
        "SELECT o.id FROM orders o JOIN (SELECT order_id, sum(quantity * unit_price_cents) AS s"
        " FROM order_items GROUP BY order_id) i ON i.order_id = o.id"
        " WHERE o.subtotal_cents != i.s OR o.total_cents != o.subtotal_cents + o.shipping_cents",
    )
    assert bad_totals == []
    money = query(
        template_db,
        "SELECT o.id, o.status, o.delivered_at,"
        " (SELECT coalesce(sum(amount_cents), 0) FROM payments"
        "  WHERE order_id = o.id AND status = 'captured'),"
        " (SELECT coalesce(sum(amount_cents), 0) FROM refunds WHERE order_id = o.id) FROM orders o",
    )
    for order_id, status, delivered_at, captured, refunded in money:
        assert isinstance(captured, int) and isinstance(refunded, int)
        assert refunded <= captured, order_id
        if status == "pending":
            assert captured == 0, order_id
        if status == "refunded":
            assert refunded == captured > 0, order_id
        if status == "partially_refunded":
            assert 0 < refunded < captured, order_id
        if status in ("delivered", "refunded", "partially_refunded"):
            assert delivered_at is not None, order_id
    latest = query(
        template_db,
        "SELECT max(max(created_at), coalesce(delivered_at, ''), coalesce(cancelled_at, ''), updated_at) FROM orders",
    )[0][0]
    assert isinstance(latest, str) and latest <= "2026-11-01T12:00:00Z"


def test_seed_is_idempotent_unless_forced_and_keeps_foreign_tables(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    assert not has_shop(path)
    assert not path.exists(), "has_shop must not create the file"
    first = seed_database(path, seed=7, customers=SMALL_CUSTOMERS, orders=SMALL_ORDERS)
    assert first.created and has_shop(path)
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("CREATE TABLE checkpoints (id INTEGER PRIMARY KEY)")  # another store in the same file
        conn.execute("INSERT INTO checkpoints VALUES (1)")
    before = content_hash(path)
    again = seed_database(path, seed=99, customers=10, orders=20)
    assert not again.created
    assert (again.seed, again.customers, again.orders) == (7, 200, 1000)
    assert content_hash(path) == before
    forced = seed_database(path, seed=99, customers=10, orders=20, force=True)
    assert forced.created and scalar(path, "SELECT count(*) FROM orders") == 20
    assert scalar(path, "SELECT count(*) FROM checkpoints") == 1


def test_has_shop_is_false_for_an_unrelated_database(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE meta (key TEXT, value TEXT)")
    assert not has_shop(path)


def test_seed_rejects_sizes_too_small_for_the_fixtures(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="fixture"):
        seed_database(tmp_path / "tiny.db", orders=len(fx.FIXTURE_ORDERS) - 1)


async def test_default_sizes(tmp_path: Path) -> None:
    summary = await asyncio.to_thread(seed_database, tmp_path / "default.db")
    assert (summary.created, summary.customers, summary.orders) == (True, 2000, 10000)
    async with await Shop.open(tmp_path / "default.db") as big:
        assert await big.get_order(20000) is not None
        assert await big.get_order(20001) is None
        assert (await assess(big, fx.REFUNDABLE_ORDER)).amount_cents == 7999


# --------------------------------------------------------------------------------------------- opening, reads


async def test_open_refuses_missing_or_unseeded_files(tmp_path: Path) -> None:
    with pytest.raises(ShopNotSeeded) as missing:
        await Shop.open(tmp_path / "missing.db")
    assert missing.value.code == "shop_not_seeded"
    assert not await asyncio.to_thread((tmp_path / "missing.db").exists)
    empty = tmp_path / "empty.db"
    await asyncio.to_thread(query, empty, "CREATE TABLE unrelated (id INTEGER)")
    with pytest.raises(ShopNotSeeded):
        await Shop.open(empty)


async def test_as_of_is_frozen(shop_: Shop) -> None:
    assert shop_.as_of() == AS_OF


async def test_get_order(shop_: Shop) -> None:
    order = await shop_.get_order(fx.PARTIALLY_REFUNDED_ORDER)
    assert order is not None
    assert order.customer_email == fx.FIXTURE_CUSTOMER_EMAIL
    assert order.status == "partially_refunded"
    assert [i.sku for i in order.items] == ["AP-JACKET", "AP-TSHIRT"]
    assert order.total_cents == sum(i.line_total_cents for i in order.items) + order.shipping_cents == 14700
    assert order.delivered_at == "2026-10-20T12:00:00Z"
    assert type(order).model_validate(json.loads(json.dumps(order.model_dump(mode="json")))) == order
    assert await shop_.get_order(fx.UNKNOWN_ORDER) is None
    assert await shop_.get_order(-1) is None


async def test_get_payment_history(shop_: Shop) -> None:
    history = await shop_.get_payment_history(fx.PARTIALLY_REFUNDED_ORDER)
    assert history.found and history.currency == "USD"
    assert (history.captured_cents, history.refunded_cents, history.balance_cents) == (14700, 1800, 12900)
    assert [p.status for p in history.payments] == ["captured"]
    assert [r.amount_cents for r in history.refunds] == [1800]
    pending = await shop_.get_payment_history(fx.PENDING_ORDER)
    assert pending.captured_cents == 0 and pending.balance_cents == 0
    unknown = await shop_.get_payment_history(fx.UNKNOWN_ORDER)
    assert not unknown.found and unknown.payments == [] and unknown.balance_cents == 0
    json.dumps(unknown.model_dump(mode="json"))


async def test_get_refund_policy(shop_: Shop) -> None:
    electronics = await shop_.get_refund_policy("electronics")
    assert electronics.refundable and electronics.window_days == 30
    assert (await shop_.get_refund_policy("apparel")).window_days == 60
    groceries = await shop_.get_refund_policy("groceries")
    assert not groceries.refundable and groceries.window_days is None
    assert (await shop_.get_refund_policy("digital")).requires_not_downloaded
    with pytest.raises(UnknownCategory) as unknown:
        await shop_.get_refund_policy("spaceships")
    assert unknown.value.code == "unknown_category"


async def test_order_refund_policy_takes_the_strictest_category(shop_: Shop) -> None:
    mixed = await shop_.get_order_refund_policy(fx.MIXED_CATEGORY_ORDER)
    assert mixed is not None
    assert mixed.categories == ["electronics", "apparel"]
    assert mixed.policy.category == "electronics" and "electronics" in mixed.explanation
    groceries = await shop_.get_order_refund_policy(fx.NON_REFUNDABLE_ORDER)
    assert groceries is not None and groceries.policy.category == "groceries"
    assert await shop_.get_order_refund_policy(fx.UNKNOWN_ORDER) is None


# ------------------------------------------------------------------------------------------- fixture orders

FIXTURE_EXPECTATIONS = [
    # order id, status, total, currency, eligible, within policy, reason codes, refundable now
    (fx.PENDING_ORDER, "pending", 5399, "USD", False, True, {"not_delivered", "no_payment"}, 0),
    (fx.REFUNDABLE_ORDER, "delivered", 7999, "USD", True, True, {"within_policy"}, 7999),
    (fx.LARGE_REFUNDABLE_ORDER, "delivered", 124900, "USD", True, True, {"within_policy"}, 124900),
    (fx.OUTSIDE_WINDOW_ORDER, "delivered", 5498, "USD", False, False, {"outside_window"}, 0),
    (fx.SHIPPED_ORDER, "shipped", 32900, "USD", False, True, {"not_delivered"}, 0),
    (fx.PAID_ORDER, "paid", 3998, "USD", False, True, {"not_delivered"}, 0),
    (fx.CANCELLED_ORDER, "cancelled", 2498, "USD", False, True, {"order_cancelled", "no_payment"}, 0),
    (fx.REFUNDED_ORDER, "refunded", 11900, "USD", False, True, {"already_refunded"}, 0),
    (fx.PARTIALLY_REFUNDED_ORDER, "partially_refunded", 14700, "USD", True, True, {"within_policy"}, 12900),
    (fx.NON_REFUNDABLE_ORDER, "delivered", 3897, "USD", False, False, {"non_refundable_category"}, 0),
    (fx.DOWNLOADED_DIGITAL_ORDER, "delivered", 5999, "USD", False, False, {"already_downloaded"}, 0),
    (fx.UNDOWNLOADED_DIGITAL_ORDER, "delivered", 999, "USD", True, True, {"within_policy"}, 999),
    (fx.APPAREL_GBP_ORDER, "delivered", 11800, "GBP", True, True, {"within_policy"}, 11800),
    (fx.MIXED_CATEGORY_ORDER, "delivered", 4298, "EUR", False, False, {"outside_window"}, 0),
]


def test_every_fixture_order_has_an_expectation() -> None:
    assert sorted(row[0] for row in FIXTURE_EXPECTATIONS) == sorted(f.order_id for f in fx.FIXTURE_ORDERS)


@pytest.mark.parametrize(
    ("order_id", "status", "total", "currency", "eligible", "within_policy", "codes", "amount"),
    FIXTURE_EXPECTATIONS,
)
async def test_fixture_order_behaves_as_documented(
    shop_: Shop,
    order_id: int,
    status: str,
    total: int,
    currency: str,
    eligible: bool,
    within_policy: bool,
    codes: set[str],
    amount: int,
) -> None:
    order = await shop_.get_order(order_id)
    assert order is not None
    assert (order.status, order.total_cents, order.currency) == (status, total, currency)
    assert order.customer_id == fx.FIXTURE_CUSTOMER_ID
    verdict = await assess(shop_, order_id)
    assert (verdict.eligible, verdict.within_policy) == (eligible, within_policy)
    assert set(verdict.reason_codes) == codes
    assert verdict.amount_cents == amount and verdict.currency == currency
    assert all(r.message for r in verdict.reasons)


# --------------------------------------------------------------------------------------------- assess_refund


async def test_assess_partial_requests_and_caps(shop_: Shop) -> None:
    partial = await assess(shop_, fx.REFUNDABLE_ORDER, requested_cents=2500)
    assert partial.eligible and partial.amount_cents == 2500 and partial.balance_cents == 7999
    capped = await assess(shop_, fx.PARTIALLY_REFUNDED_ORDER, requested_cents=14700)
    assert capped.amount_cents == 12900
    assert capped.reason_codes == ["within_policy", "amount_capped"]
    with pytest.raises(InvalidRefundAmount) as invalid:
        await assess(shop_, fx.REFUNDABLE_ORDER, requested_cents=0)
    assert invalid.value.code == "invalid_refund_amount"


async def test_assess_window_is_judged_against_the_given_as_of(shop_: Shop) -> None:
    order = await shop_.get_order(fx.REFUNDABLE_ORDER)
    history = await shop_.get_payment_history(fx.REFUNDABLE_ORDER)
    policy = await shop_.get_refund_policy("electronics")
    assert order is not None and order.delivered_at is not None
    delivered = datetime.fromisoformat(order.delivered_at)
    last_day = assess_refund(order, history, policy, as_of=delivered + timedelta(days=30))
    assert last_day.eligible
    too_late = assess_refund(order, history, policy, as_of=delivered + timedelta(days=30, seconds=1))
    assert not too_late.eligible and too_late.reason_codes == ["outside_window"]
    apparel = await shop_.get_refund_policy("apparel")
    assert assess_refund(order, history, apparel, as_of=delivered + timedelta(days=45)).eligible


async def test_assess_rejects_history_of_another_order(shop_: Shop) -> None:
    order = await shop_.get_order(fx.REFUNDABLE_ORDER)
    other = await shop_.get_payment_history(fx.LARGE_REFUNDABLE_ORDER)
    policy = await shop_.get_refund_policy("electronics")
    assert order is not None
    with pytest.raises(ValueError, match="history"):
        assess_refund(order, other, policy, as_of=AS_OF)


# ---------------------------------------------------------------------------------------------- issue_refund


async def test_issue_refund_updates_status_and_history(shop_: Shop, db_path: Path) -> None:
    first = await shop_.issue_refund(fx.REFUNDABLE_ORDER, 2000, "scratched case", "r-1")
    assert first.created and first.order_status == "partially_refunded"
    assert (first.refunded_cents, first.balance_cents, first.currency) == (2000, 5999, "USD")
    assert first.created_at == "2026-11-01T12:00:00Z"
    rest = await shop_.issue_refund(fx.REFUNDABLE_ORDER, 5999, "returned", "r-2")
    assert rest.order_status == "refunded" and rest.balance_cents == 0
    history = await shop_.get_payment_history(fx.REFUNDABLE_ORDER)
    assert [r.amount_cents for r in history.refunds] == [2000, 5999]
    assert "already_refunded" in (await assess(shop_, fx.REFUNDABLE_ORDER)).reason_codes
    json.dumps(rest.model_dump(mode="json"))


async def test_same_key_twice_refunds_once(shop_: Shop, db_path: Path) -> None:
    first = await shop_.issue_refund(fx.REFUNDABLE_ORDER, 7999, "defective", "key-1")
    replay = await shop_.issue_refund(fx.REFUNDABLE_ORDER, 7999, "defective", "key-1")
    assert first.created and not replay.created
    assert replay.refund_id == first.refund_id
    assert scalar(db_path, "SELECT count(*) FROM refunds WHERE idempotency_key = 'key-1'") == 1
    with pytest.raises(IdempotencyKeyReused) as reused:
        await shop_.issue_refund(fx.REFUNDABLE_ORDER, 100, "defective", "key-1")
    assert reused.value.code == "idempotency_key_reused"


async def test_concurrent_calls_with_one_key_refund_once(shop_: Shop, db_path: Path) -> None:
    receipts = await asyncio.gather(
        *(shop_.issue_refund(fx.LARGE_REFUNDABLE_ORDER, 124900, "return", "same-key") for _ in range(20))
    )
    assert sum(r.created for r in receipts) == 1
    assert len({r.refund_id for r in receipts}) == 1
    order_id = fx.LARGE_REFUNDABLE_ORDER
    assert scalar(db_path, "SELECT count(*) FROM refunds WHERE order_id = ?", (order_id,)) == 1


async def test_two_shops_on_one_file_refund_once(db_path: Path) -> None:
    async with await Shop.open(db_path) as a, await Shop.open(db_path) as b:
        calls = [
            s.issue_refund(fx.LARGE_REFUNDABLE_ORDER, 124900, "return", "cross-process")
            for _ in range(10)
            for s in (a, b)
        ]
        receipts = await asyncio.gather(*calls)
    assert sum(r.created for r in receipts) == 1
    assert len({r.refund_id for r in receipts}) == 1
    order_id = fx.LARGE_REFUNDABLE_ORDER
    assert scalar(db_path, "SELECT count(*) FROM refunds WHERE order_id = ?", (order_id,)) == 1


async def test_two_shops_with_different_keys_cannot_overdraw(db_path: Path) -> None:
    async with await Shop.open(db_path) as a, await Shop.open(db_path) as b:
        outcomes = await asyncio.gather(
            *(s.issue_refund(fx.REFUNDABLE_ORDER, 7999, "return", f"k{i}") for i, s in enumerate([a, b] * 5)),
            return_exceptions=True,
        )
    assert sum(isinstance(o, RefundReceipt) for o in outcomes) == 1
    assert sum(isinstance(o, RefundExceedsBalance) for o in outcomes) == 9
    refunded = scalar(db_path, "SELECT sum(amount_cents) FROM refunds WHERE order_id = ?", (fx.REFUNDABLE_ORDER,))
    assert refunded == 7999


async def test_second_key_exceeding_the_balance_raises(shop_: Shop, db_path: Path) -> None:
    await shop_.issue_refund(fx.REFUNDABLE_ORDER, 5000, "partial", "k-a")
    with pytest.raises(RefundExceedsBalance) as exceeded:
        await shop_.issue_refund(fx.REFUNDABLE_ORDER, 3000, "more", "k-b")
    assert exceeded.value.code == "refund_exceeds_balance"
    assert exceeded.value.balance_cents == 2999
    assert scalar(db_path, "SELECT count(*) FROM refunds WHERE idempotency_key = 'k-b'") == 0
    order = await shop_.get_order(fx.REFUNDABLE_ORDER)
    assert order is not None and order.status == "partially_refunded"


async def test_refund_errors(shop_: Shop) -> None:
    with pytest.raises(OrderNotFound) as missing:
        await shop_.issue_refund(fx.UNKNOWN_ORDER, 100, "x", "k-missing")
    assert missing.value.code == "order_not_found"
    with pytest.raises(InvalidRefundAmount):
        await shop_.issue_refund(fx.REFUNDABLE_ORDER, 0, "x", "k-zero")
    with pytest.raises(RefundExceedsBalance):
        await shop_.issue_refund(fx.PENDING_ORDER, 100, "x", "k-unpaid")
    with pytest.raises(ValueError, match="blank"):
        await shop_.issue_refund(fx.REFUNDABLE_ORDER, 100, "x", "  ")


# ---------------------------------------------------------------------------------------------- cancel_order


async def test_cancel_pending_order(shop_: Shop) -> None:
    result = await shop_.cancel_order(fx.PENDING_ORDER, "c-1")
    assert result.cancelled and result.created and result.code == "cancelled" and result.refunded_cents == 0
    order = await shop_.get_order(fx.PENDING_ORDER)
    assert order is not None and order.status == "cancelled" and order.cancelled_at == "2026-11-01T12:00:00Z"
    replay = await shop_.cancel_order(fx.PENDING_ORDER, "c-1")
    assert replay.cancelled and not replay.created
    again = await shop_.cancel_order(fx.PENDING_ORDER, "c-2")
    assert not again.cancelled and again.code == "already_cancelled"
    with pytest.raises(IdempotencyKeyReused):
        await shop_.cancel_order(fx.PAID_ORDER, "c-1")


async def test_cancel_paid_order_refunds_the_capture(shop_: Shop) -> None:
    result = await shop_.cancel_order(fx.PAID_ORDER, "c-paid")
    assert result.cancelled and result.refunded_cents == 3998 and result.status == "cancelled"
    assert result.currency == "USD" and "39.98 USD" in result.message
    history = await shop_.get_payment_history(fx.PAID_ORDER)
    assert history.refunded_cents == 3998 and history.balance_cents == 0
    order = await shop_.get_order(fx.PAID_ORDER)
    assert order is not None and order.status == "cancelled" and order.paid_at is not None


async def test_concurrent_cancels_refund_once(shop_: Shop, db_path: Path) -> None:
    results = await asyncio.gather(*(shop_.cancel_order(fx.PAID_ORDER, f"c-{i}") for i in range(10)))
    assert sum(r.cancelled for r in results) == 1
    assert scalar(db_path, "SELECT count(*) FROM refunds WHERE order_id = ?", (fx.PAID_ORDER,)) == 1


@pytest.mark.parametrize(
    ("order_id", "code"),
    [
        (fx.SHIPPED_ORDER, "already_shipped"),
        (fx.REFUNDABLE_ORDER, "already_shipped"),
        (fx.CANCELLED_ORDER, "already_cancelled"),
        (fx.REFUNDED_ORDER, "refunded"),
        (fx.UNKNOWN_ORDER, "order_not_found"),
    ],
)
async def test_orders_that_cannot_be_cancelled(shop_: Shop, order_id: int, code: str) -> None:
    before = await shop_.get_order(order_id)
    result = await shop_.cancel_order(order_id, f"c-{order_id}")
    assert not result.cancelled and result.code == code and result.message
    assert result.status == (None if before is None else before.status)
    assert await shop_.get_order(order_id) == before


# ------------------------------------------------------------------------------------------ password resets


async def test_password_reset_does_not_reveal_whether_the_account_exists(shop_: Shop, db_path: Path) -> None:
    known = await shop_.start_password_reset(" Alex.Morgan@Example.com ", "pr-1")
    unknown = await shop_.start_password_reset(fx.UNKNOWN_EMAIL, "pr-2")
    assert known.model_dump().keys() == unknown.model_dump().keys()
    assert known.masked_email == "a***@example.com" and "morgan" not in known.model_dump_json()
    assert known.message.replace(known.masked_email, "") == unknown.message.replace(unknown.masked_email, "")
    assert known.expires_at == "2026-11-01T13:00:00Z"
    rows = query(db_path, "SELECT email, customer_id FROM password_resets ORDER BY id")
    assert rows == [(fx.FIXTURE_CUSTOMER_EMAIL, fx.FIXTURE_CUSTOMER_ID), (fx.UNKNOWN_EMAIL, None)]


async def test_password_reset_is_idempotent(shop_: Shop, db_path: Path) -> None:
    first = await shop_.start_password_reset(fx.FIXTURE_CUSTOMER_EMAIL, "pr-same")
    replay = await shop_.start_password_reset(fx.FIXTURE_CUSTOMER_EMAIL, "pr-same")
    assert first.created and not replay.created and replay.ticket_id == first.ticket_id
    assert scalar(db_path, "SELECT count(*) FROM password_resets") == 1
    with pytest.raises(IdempotencyKeyReused):
        await shop_.start_password_reset("someone@example.com", "pr-same")
    with pytest.raises(InvalidEmail) as invalid:
        await shop_.start_password_reset("not an email", "pr-bad")
    assert invalid.value.code == "invalid_email"


# -------------------------------------------------------------------------------------------------- search_kb


@pytest.mark.parametrize(
    ("query_text", "slug"),
    [
        ("How do I reset my password?", "password-reset"),
        ("delete my account", "account-deletion"),
        ("how can I track my order #10002?", "order-tracking"),
        ("my package never arrived!", "missing-package"),
        ("refund for a downloaded game", "digital-goods-refunds"),
        ("what payment methods do you accept", "payment-methods"),
    ],
)
async def test_search_kb_finds_the_right_article(shop_: Shop, query_text: str, slug: str) -> None:
    results = await shop_.search_kb(query_text)
    assert results and results[0].slug == slug
    assert len(results) <= 3
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)


@pytest.mark.parametrize(
    "query_text",
    ['"refund', "refund AND (NOT", "return* -policy:", "NEAR(shipping", "l'été ^ ~ {}[]", "'; DROP x; --"],
)
async def test_search_kb_survives_punctuation(shop_: Shop, query_text: str) -> None:
    assert isinstance(await shop_.search_kb(query_text), list)


async def test_search_kb_edge_cases(shop_: Shop) -> None:
    assert await shop_.search_kb("?!...\"'") == []
    assert await shop_.search_kb("") == []
    assert len(await shop_.search_kb("shipping refund payment account", limit=5)) == 5
    assert await shop_.search_kb("shipping", limit=0) == []


# ---------------------------------------------------------------------------------------------------- latency


async def test_latency_is_awaited_per_tool(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []

    async def record(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(shop.tools.asyncio, "sleep", record)
    async with await Shop.open(db_path, latency={"get_order": 1.2, "get_payment_history": 1.4}) as slow:
        await slow.get_order(fx.REFUNDABLE_ORDER)
        await slow.get_payment_history(fx.REFUNDABLE_ORDER)
        await slow.search_kb("shipping")
    assert slept == [1.2, 1.4]
    slept.clear()
    async with await Shop.open(db_path, latency=0.5) as uniform:
        await uniform.get_refund_policy("books")
    assert slept == [0.5]
    with pytest.raises(ValueError, match="unknown tools"):
        await Shop.open(db_path, latency={"get_ordr": 1.0})
