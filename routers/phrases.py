"""The regex vocabulary the rule table is written in: helpers and phrase lists shared by several rows."""

from __future__ import annotations

import re


def pattern(*alternatives: str) -> re.Pattern[str]:
    """One case-insensitive pattern that matches any of `alternatives`."""
    return re.compile("|".join(f"(?:{a})" for a in alternatives), re.IGNORECASE)


def one_of(spec: str) -> str:
    """A non-capturing alternation of "|"-separated phrases; a space in a phrase matches any whitespace."""
    return "(?:" + "|".join(p.replace(" ", r"\s+") for p in spec.split("|")) + ")"


ORDER_ID = r"#?\s*\d{5,6}"
# "cancel" about an order, never about an account, a subscription or a refund request.
CANCEL = (
    r"\bcancell?\b(?!\s+(?:my\s+|the\s+|this\s+)?"
    + one_of("account|subscription|membership|newsletter|emails?|plan|refund|return|request")
    + ")"
)
PASSWORD = one_of("pass?w(?:or|ro)?d|passcode|pw")
LOGIN = one_of(r"log(?:ging)?\s*-?\s*(?:in|on)|sign(?:ing)?\s*-?\s*(?:in|on)")
CANT = one_of("can't|cant|cannot|can not|unable to|couldn't|couldnt|won't let me|not able to|trouble|problems?")
NOT_YET = one_of("hasn't|hasnt|has not|haven't|havent|have not|didn't|didnt|did not|never|still not|not yet")
ARRIVED = one_of("arrived|received|got|gotten|come|came|showed up|shown up|arrive|receive|get|show up")
SHIPPED = one_of(r"shipped|dispatched|delivered|sent out|out for delivery|on (?:its|the|their) way|in transit")
ORDER_THING = one_of("order|oder|ordr|package|parcel|stuff|delivery|shipment|items?|purchase|things|box")
PAYMENT_KIND = one_of(
    "paypal|apple pay|google pay|credit cards?|debit cards?|visa|mastercard|amex|american express|klarna"
    r"|afterpay|bitcoin|crypto|cash|gift\s*cards?|checks?|bank transfer"
)
