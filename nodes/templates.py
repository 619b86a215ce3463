"""Template answers. They state the facts (ids, statuses, amounts, dates) and nothing else."""

from __future__ import annotations

from typing import Any

from shop.policy import format_money


def _date(timestamp: str | None) -> str:
    return timestamp[:10] if timestamp else "unknown"


def order_status(order: dict[str, Any]) -> str:
    oid, status = order["order_id"], order["status"]
    total = format_money(order["total_cents"], order["currency"])
    detail = {
        "pending": "is waiting for payment",
        "paid": f"was paid on {_date(order['paid_at'])} and is being prepared",
        "shipped": f"shipped on {_date(order['shipped_at'])} and is on its way",
        "delivered": f"was delivered on {_date(order['delivered_at'])}",
        "cancelled": f"was cancelled on {_date(order['cancelled_at'])}",
        "refunded": "was refunded in full",
        "partially_refunded": f"was delivered on {_date(order['delivered_at'])} and partly refunded",
    }.get(status, f"has status {status}")
    count = len(order["items"])
    items = f"{count} item{'s' if count != 1 else ''}"
    return f"Order #{oid} ({items}, {total}, placed {_date(order['created_at'])}) {detail}. Status: {status}."


def order_not_found(order_id: int) -> str:
    return f"I couldn't find order #{order_id}. Please check the number on your confirmation email."


def ask_order_id(intent: str) -> str:
    what = {"refund": "refund", "cancel_order": "cancel", "order_status": "look up"}.get(intent, "help with")
    return f"Which order would you like me to {what}? Please give the order number, e.g. #10002."


def ask_email() -> str:
    return "Which email address is your account registered with? I'll send the reset link there."


def refund_declined(assessment: dict[str, Any]) -> str:
    reasons = "; ".join(r["message"].rstrip(".") for r in assessment["reasons"]) or "it is not eligible"
    return f"I can't refund order #{assessment['order_id']}: {reasons}."


def refund_issued(receipt: dict[str, Any]) -> str:
    amount = format_money(receipt["amount_cents"], receipt["currency"])
    already = "" if receipt["created"] else " (this refund had already been issued)"
    return (
        f"Refund of {amount} for order #{receipt['order_id']} is issued{already}. "
        f"Refund id {receipt['refund_id']}; it reaches your original payment method in 5-10 business days."
    )


def cancellation(result: dict[str, Any]) -> str:
    if result["cancelled"]:
        refund = (
            f" {format_money(result['refunded_cents'], result.get('currency', 'USD'))} will be refunded."
            if result.get("refunded_cents")
            else ""
        )
        return f"Order #{result['order_id']} is cancelled.{refund}"
    return f"I can't cancel order #{result['order_id']}: {result['message']}"


def password_reset(ticket: dict[str, Any]) -> str:
    return f"{ticket['message']} (ticket {ticket['ticket_id']}, sent to {ticket['masked_email']})."


def faq(articles: list[dict[str, Any]]) -> str:
    if not articles:
        return 'I couldn\'t find an article about that. A support agent can help: just say "talk to a human".'
    best = articles[0]
    return f"{best['title']}: {best['body']}"


def handoff(reason: str) -> str:
    return f"I'm passing this conversation to a human agent ({reason}). Someone will reply shortly."


def refund_rejected(order_id: int, message: str | None) -> str:
    why = f": {message}" if message else ""
    return f"The refund for order #{order_id} was not approved{why}."


def refund_not_possible(order_id: int) -> str:
    return (
        f"I couldn't issue the refund for order #{order_id}: the refundable balance changed since it was "
        "approved. A human agent will look at it."
    )
