"""The rule tier: an ordered table of regex rows. The first row that applies and matches decides.

Order is policy: prompt injection first; then follow-ups, which only apply after an order intent; then the
rows that hand over to a person; then rows that settle mixed requests; then general questions (faq, account
access) before order actions, so "how long do refunds take" is a question and not a refund.

Decisions made here, so they are not re-litigated in code review:
- "cancel my refund request" -> handoff: withdrawing a refund has no self-service flow; a person must do it.
- "cancel order 10002 and refund me ..." -> complex: two money-moving asks in one message need reasoning,
  and a rule must not silently pick one.
- "change the delivery date / address / size of order 10002" -> complex: there is no deterministic flow for
  changing an order, and the words ("delivery", "order") would otherwise pull it into order_status.
- "I don't want a refund, just tell me where it is" -> order_status: rows whose intent the text negates are
  skipped (`routers.language.negated_intents`), so the message falls to the order-status row.
- Non-English text never matches: the tier declines before it looks at the table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from routers.language import is_foreign, negated_intents
from routers.phrases import (
    ARRIVED,
    CANCEL,
    CANT,
    LOGIN,
    NOT_YET,
    ORDER_ID,
    ORDER_THING,
    PASSWORD,
    PAYMENT_KIND,
    SHIPPED,
    one_of,
    pattern,
)
from routers.types import ORDER_INTENTS, Decision, Intent, Query

OrderIdNeed = Literal["any", "required", "forbidden"]
PREVIOUS: Literal["previous"] = "previous"  # a row whose intent is "whatever the previous turn was"


@dataclass(frozen=True)
class Rule:
    name: str
    intent: Intent | Literal["previous"]
    pattern: re.Pattern[str]
    confidence: float
    why: str
    order_id: OrderIdNeed = "any"
    after: frozenset[Intent] = frozenset()  # if set, the row needs previous_intent to be one of these
    blocked_by: frozenset[Intent] = frozenset()  # skip the row when the text negates one of these

    def applies(self, query: Query, negated: frozenset[Intent]) -> bool:
        has_id = bool(query.entities["order_ids"])
        if (self.order_id == "required" and not has_id) or (self.order_id == "forbidden" and has_id):
            return False
        if self.after and query.previous_intent not in self.after:
            return False
        return not (self.blocked_by & negated)


_ORDER: frozenset[Intent] = ORDER_INTENTS
_REFUND: frozenset[Intent] = frozenset({"refund"})
_CANCEL_ORDER: frozenset[Intent] = frozenset({"cancel_order"})

RULES: tuple[Rule, ...] = (
    Rule("prompt_injection", "handoff", pattern(
        r"\b(?:ignore|disregard|forget|override)\b(?:\s+\w+){0,3}?\s+"
        + one_of("instructions?|rules|prompts?|guidelines|directives?|polic(?:y|ies)") + r"\b",
        r"\b(?:ignore|disregard|forget)\s+(?:everything|all|anything)\b(?:\s+\w+){0,2}?\s*"
        r"(?:above|before|previous|prior|earlier|i\s+said|you\s+were\s+told)",
        r"\b(?:ignore|disregard)\s+(?:the\s+)?(?:above|previous|prior)\b",
        r"\b(?:new|updated|real)\s+instructions?\b", r"\b(?:system|admin|security)\s+(?:override|command)\b",
        r"^\s*(?:developer|admin|system)\s+(?:note|message|instruction)", r"\b\w+_\w+\s*=\s*\S",
        r"\byou\s+are\s+(?:an?\s+)?(?:\w+\s+){0,2}?(?:assistant|bot|ai|model)\s+(?:that|who|which)\b",
        r"\byou\s+are\s+now\b", r"\bfrom\s+now\s+on,?\s+you\b", r"\bpretend\s+(?:to\s+be|you(?:'re|\s+are))",
        r"\b(?:act|behave)\s+as\s+(?:an?\s+|the\s+)?(?:admin|administrator|developer|system|manager|owner)",
        r"\bsystem\s+prompt\b", r"\b(?:developer|admin|god|dan)\s+mode\b", r"\bjailbreak",
        r"\b(?:reveal|show|print|repeat|tell\s+me)\s+(?:me\s+)?(?:your|the)\s+(?:\w+\s+)?(?:instructions|prompt)",
        r"^\s*(?:system|assistant|developer)\s*:", r"</?\s*(?:system|user|assistant|im_start|im_end)\b",
        r"\[/?(?:system|inst)\]", r"<\|", r"###\s*(?:instruction|system)",
        r"\b(?:as|i\s+am)\s+(?:an?|the)\s+(?:admin|administrator|developer|employee|staff\s+member)\b",
        # Pressure to move money past the checks: "refund me without verification".
        r"^(?=.*\b(?:refund|credit|money)).*"
        + one_of("without|bypass(?:ing)?|skip(?:ping)?|regardless of|no matter")
        + r"\s+(?:any\s+|the\s+|your\s+)?"
        + one_of("checks?|verification|approval|review|polic(?:y|ies)|rules|eligibility"),
        r"\b(?:issue|give|grant|add|apply|credit)\s+(?:me\s+)?(?:an?\s+)?"
        r"(?:[$€£]\s?\d[\d,.]*|\d[\d,.]*\s*(?:dollars|usd|eur|euros?))\s+(?:(?:in|of)\s+)?(?:store\s+)?credit",
        r"\b(?:grant|issue)\s+(?:\w+\s+){0,2}?credits?\s+\d",
    ), 0.99, "possible prompt injection or an attempt to force money movement; a person must look"),
    Rule("follow_up_order_id", PREVIOUS, pattern(
        r"^(?:(?:and|also|so|ok(?:ay)?|now|then|plus|what|how)\s+)*(?:about\s+|for\s+|with\s+)?"
        r"(?:same\s+(?:for|with)\s+)?(?:(?:my|the|this|that)\s+)?(?:other\s+)?"
        rf"(?:orders?(?:\s+(?:no\.?|number))?\s*)?{ORDER_ID}(?:\s*(?:,|and|&|\+)\s*(?:orders?\s*)?{ORDER_ID})*"
        r"(?:\s+(?:too|as\s+well|also|please|pls|then))*[\s?.!]*$",
    ), 0.85, "a message that only adds an order id continues the previous request",
        order_id="required", after=_ORDER),
    Rule("follow_up_yes", PREVIOUS, pattern(
        "^" + one_of("yes|yeah|yep|yup|sure|ok(?:ay)?|please do|go ahead|do it|proceed|confirm(?:ed)?|correct"
                     "|that's right|absolutely|of course")
        + r"(?:[\s,.!]+"
        + one_of("yes|please|go ahead|do it|proceed|thanks|thank you|thx|sure|that's fine")
        + r")*[\s,.!]*$",
    ), 0.85, "an affirmation continues the previous request", after=_ORDER),
    Rule("follow_up_yes_refund", "refund", pattern(
        r"^(?:yes|yeah|yep|sure|ok(?:ay)?)[\s,.!]+(?:please\s+)?(?:refund|reimburse)\s+(?:it|that|them|me)"
        r"(?:\s+please)?[\s.!]*$",
    ), 0.9, "confirms the refund offered on the previous turn", after=_REFUND),
    Rule("follow_up_yes_cancel", "cancel_order", pattern(
        r"^(?:yes|yeah|yep|sure|ok(?:ay)?)[\s,.!]+(?:please\s+)?cancel\s+(?:it|that|them)(?:\s+please)?[\s.!]*$",
    ), 0.9, "confirms the cancellation offered on the previous turn", after=_CANCEL_ORDER),
    Rule("withdraw_refund", "handoff", pattern(
        r"\b(?:cancel|withdraw|retract|revoke|undo)\s+(?:my\s+|the\s+|this\s+|that\s+)?(?:refund|return)\b",
        r"\b(?:no\s+longer|don't|do\s+not)\s+(?:want|need)\s+(?:the|my)\s+refund\b",
    ), 0.9, "withdrawing a refund or return has no self-service flow; a person must do it"),
    Rule("human_requested", "handoff", pattern(
        r"\b(?:talk|speak|chat|connect|transfer|put)\b(?:\s+me)?\s+(?:to|with|through\s+to)\s+"
        r"(?:an?\s+|some\s+|the\s+|your\s+)?(?:real\s+|live\s+|actual\s+)?"
        + one_of("human|person|people|agent|representative|rep|manager|supervisor|someone|somebody|operator"
                 "|customer service|staff"),
        r"\b(?:real|live|actual)\s+(?:human|person|agent)\b", r"\bhuman\s+(?:please|being|agent|support)\b",
        r"^(?:an?\s+)?(?:human|agent|representative|operator)(?:\s+please|\s+now)?[\s!.]*$",
        r"\b(?:manager|supervisor|someone\s+in\s+charge)\b", r"\bunacceptable\b", r"\bescalate\b",
        r"\b(?:useless|stupid|dumb|worthless)\s+(?:bot|robot|ai|chatbot|machine)\b",
    ), 0.95, "the customer asked for a person or is escalating"),
    Rule("legal_threat", "handoff", pattern(
        r"\b(?:lawyer|attorney|solicitor|legal\s+action|lawsuit|small\s+claims|court|sue)\b",
        r"\b(?:better\s+business\s+bureau|bbb|consumer\s+protection|trading\s+standards)\b",
        r"\b(?:file|make|lodge|submit)\s+(?:an?\s+)?(?:formal\s+)?complaint\b",
    ), 0.95, "legal threat or formal complaint; a person must handle it"),
    Rule("cancel_and_refund", "complex", pattern(
        rf"{CANCEL}.{{0,60}}\b(?:and|then|plus)\b.{{0,40}}\b(?:refund|money\s+back|reimburse)",
        rf"\b(?:refund|money\s+back)\b.{{0,60}}\b(?:and|then|plus)\b.{{0,40}}{CANCEL}",
    ), 0.8, "asks both to cancel and to refund; two money-moving asks need reasoning",
        blocked_by=_REFUND | _CANCEL_ORDER),
    Rule("faq_policy", "faq", pattern(
        one_of("return|refund|exchange|cancellation|shipping|delivery|privacy|warranty")
        + r"\s+polic(?:y|ies)\b",
        r"\bprice[-\s]match", r"\bwarrant(?:y|ies)\b", r"\b(?:restocking|return)\s+fees?\b",
        r"\breturns?\s+(?:period|window|deadline|time\s*frame)\b",
        r"\bhow\s+(?:many\s+days|long)\s+do\s+i\s+have\s+to\s+(?:return|send\s+back)\b",
        r"\bhow\s+long\s+(?:do|does|will)\s+(?:a\s+|the\s+)?refunds?\s+(?:usually\s+|normally\s+)?take\b",
    ), 0.9, "a general policy question", order_id="forbidden"),
    Rule("faq_shipping", "faq", pattern(
        r"\bhow\s+(?:long|many\s+days)\s+(?:does|do|will|is)\s+(?:it\s+take\s+to\s+(?:ship|deliver)"
        r"|(?:the\s+)?(?:standard\s+|express\s+|international\s+)?(?:shipping|delivery))",
        r"\bdo\s+(?:you|u)\s+(?:ship|deliver)\b", r"\bis\s+(?:shipping|delivery)\s+free\b",
        one_of(r"international|overseas|worldwide|free|express|next[-\s]day|same[-\s]day")
        + r"\s+(?:shipping|delivery)\b",
        r"\bshipping\s+" + one_of("costs?|rates?|fees?|prices?|options|methods|times?"),
        r"\bhow\s+much\s+(?:is|does|do)\s+(?:the\s+)?(?:shipping|delivery)\b",
    ), 0.9, "a general shipping question", order_id="forbidden"),
    Rule("faq_payment_and_store", "faq", pattern(
        r"\bpayment\s+(?:methods?|options?|types?)\b", r"\bforms?\s+of\s+payment\b",
        r"\bpay\s+in\s+installments\b",
        r"\b(?:do|can|will)\s+(?:you|u|i)\s+(?:accept|take|pay\s+(?:with|by|using|via)|use)\s+(?:\w+\s+)?"
        + PAYMENT_KIND,
        r"\b(?:sell|buy|offer|have)\s+gift\s*cards?\b",
        r"\b(?:opening|business|store|customer\s+service|support|office)\s+hours\b",
        r"\bhow\s+(?:can|do)\s+i\s+(?:contact|reach)\s+(?:you|customer\s+(?:service|support))\b",
    ), 0.9, "a general question about payment or the store", order_id="forbidden"),
    Rule("password_reset", "password_reset", pattern(
        r"\b(?:forgot|forgotten|lost|reset|change|recover|update|new)\s+(?:my\s+|the\s+|a\s+)?(?:account\s+)?"
        + PASSWORD + r"\b",
        rf"\b{PASSWORD}\s+(?:reset|recovery|help|problem|issue)", r"\breset\s+(?:link|email|code)\b",
        rf"\b{CANT}\s+(?:\w+\s+)?(?:{LOGIN}|access\s+(?:my\s+)?account|get\s+into\s+my\s+account)",
        rf"\b{LOGIN}\s+(?:problems?|issues?|trouble|error|fails?|failed|page\s+\w+"
        r"|(?:isn't|isnt|is\s+not|not|doesn't|does\s+not)\s+work(?:ing)?)",
        r"\blocked\s+out\b",
        r"\baccount\s+(?:is\s+|got\s+|has\s+been\s+|was\s+)?(?:locked|blocked|disabled)\b",
        rf"\b(?:wrong|incorrect|invalid)\s+(?:{PASSWORD}|credentials)\b",
        rf"\b(?:don't|do\s+not|can't|cannot)\s+remember\s+(?:my\s+|the\s+)?(?:{PASSWORD}|login)",
        r"\brecover\s+(?:my\s+)?account\b",
        r"\b(?:2fa|two[-\s]factor|verification\s+code|one[-\s]time\s+code)\b",
    ), 0.93, "account access: password or login"),
    Rule("change_order", "complex", pattern(
        r"\b(?:change|modify|update|edit|alter|switch|swap)\b(?:\s+\S+){0,4}?\s+"
        + one_of(r"address|date|day|size|colou?r|items?|quantity|name|email|phone(?:\s+number)?"
                 "|delivery instructions"),
        r"\b(?:add|remove)\s+(?:an?\s+|one\s+|the\s+)?(?:\w+\s+)?(?:items?|products?|something)\s+"
        r"(?:to|from)\s+(?:my\s+|the\s+|an?\s+)?(?:existing\s+)?order\b",
    ), 0.8, "asks to change an order or account detail; that needs reasoning"),
    Rule("cancel_order", "cancel_order", pattern(
        rf"{CANCEL}\s+(?:my\s+|the\s+|this\s+|that\s+|an?\s+|one\s+of\s+(?:my\s+|the\s+|them)?|both\s+)?"
        rf"(?:\w+\s+){{0,2}}?(?:orders?|purchases?|it|them|everything|{ORDER_ID})\b",
        r"\b(?:want|like|need|wish|trying|how\s+(?:do|can)\s+i|can\s+i|could\s+i|please|to)\s+(?:\w+\s+)?"
        + CANCEL,
        rf"^{CANCEL}", r"\bcancellation\s+(?:of|for)\s+(?:my\s+|the\s+)?order",
        r"\b(?:stop|void|call\s+off|halt)\s+(?:my\s+|the\s+|this\s+)?(?:\w+\s+)?(?:order|purchase)\b",
        r"\b(?:don't|do\s+not)\s+ship\b", r"\bcall\s+it\s+off\b",
    ), 0.93, "asks to cancel an order", blocked_by=_CANCEL_ORDER),
    Rule("refund", "refund", pattern(
        r"\brefund(?:ed|s)?\b", r"\bmoney\s+back\b", r"\breimburse(?:d|ment)?\b",
        r"\b(?:give|send|pay)\s+(?:me\s+)?(?:back\s+)?my\s+money\b",
        r"\bmy\s+money\s+(?:returned|refunded)\b",
        r"\b(?:charged|billed)\s+(?:me\s+)?(?:twice|double|two\s+times)\b", r"\bdouble[-\s]charged\b",
        r"\b(?:charged|billed)\s+(?:me\s+)?(?:\S+\s+)?(?:extra|too\s+much)\b",
        r"\bover-?charged\b", r"\bpaid\s+(?:\w+\s+)?twice\b",
        # Money that never came back is a refund question even though it reads like "never arrived".
        rf"\b{NOT_YET}\s+(?:\w+\s+)?(?:my|the|any)\s+money\b", r"\bwhere(?:'s|\s+is)\s+my\s+money\b",
        # "billed me for something I never got": a charge without the goods is a refund, not tracking.
        r"\b(?:charged|billed)\s+(?:me\s+)?for\b(?:\s+\S+){0,4}?\s+(?:never|didn't|did\s+not|wasn't|was\s+not)\b",
        r"\b(?:want|would\s+like|'d\s+like|need)\s+to\s+(?:return|send\s+back)\s+(?:my|the|this|these|it|order)\b",
    ), 0.92, "asks for money back", blocked_by=_REFUND),
    Rule("order_status", "order_status", pattern(
        r"\bwhere(?:'s|s|\s+is|\s+are|\s+r)?\s+(?:(?:my|the|our)\s+(?:\w+\s+)?)?" + ORDER_THING,
        r"\bwhere\s+(?:is\s+it|it\s+is)\b", r"\btrack(?:ing|in)?\b",
        r"\b(?:look\s+up|check)\s+(?:on\s+)?(?:my\s+|the\s+)?order\b",
        r"\bexpect\s+(?:my|the|it|to\s+(?:get|receive))\b",
        r"\b(?:is|are|will)\s+(?:my|the|it)\s+(?:\w+\s+)?(?:coming|arriving)\b",
        r"\b(?:says|shows|marked)\s+(?:as\s+)?delivered\b",
        r"\beta\b", r"\bestimated\s+(?:delivery|arrival)\b",
        r"\b(?:order|delivery|shipping|shipment)\s+(?:status|update|date|progress|info)",
        r"\bstatus\s+(?:of|on|for)\s+(?:my\s+|the\s+)?"
        rf"(?:orders?|package|delivery|shipment|purchase|{ORDER_ID})",
        r"\b(?:has|have|did|is|was|were)\b(?:\s+\S+){0,4}?\s+" + SHIPPED + r"\b",
        r"\bwhen\b(?:\s+\S+){0,6}?\s+"
        + one_of("arrive|arrives|arriving|be delivered|get here|gets here|ship|ships|be shipped|show up")
        + r"\b",
        rf"\b{NOT_YET}\s+(?:\w+\s+)?{ARRIVED}\b",
        r"\bstill\s+(?:waiting|not\s+here)\b",
        r"\b(?:updates?|news)\s+(?:on|about|for)\s+(?:my\s+|the\s+)?(?:order|package|shipment|delivery|parcel)",
        r"\b(?:is|did)\s+(?:my\s+)?(?:order|package|parcel)\b(?:\s+\S+){0,2}?\s+(?:get\s+)?lost\b",
    ), 0.9, "asks where an order is"),
    # The faq rows decline when an order is named; then "how long ..." is about that order.
    Rule("order_eta", "order_status", pattern(
        r"\bhow\s+(?:long|soon|many\s+(?:more\s+)?days)\b(?!.*\breturn)",
    ), 0.85, "asks how long a named order will take", order_id="required"),
    Rule("bare_order_id", "order_status", pattern(
        rf"^(?:(?:my\s+)?order\s*(?:no\.?|number)?\s*)?{ORDER_ID}[\s?.!]*$",
    ), 0.8, "a message that is only an order id asks for its status", order_id="required"),
)  # fmt: skip


async def rule_tier(query: Query) -> Decision | None:
    """The first applicable row that matches decides; None if no row does or the text is not English."""
    if is_foreign(query.text):
        return None
    negated = negated_intents(query.text)
    for rule in RULES:
        if not rule.applies(query, negated):
            continue
        match = rule.pattern.search(query.text)
        if match is None:
            continue
        intent = query.previous_intent if rule.intent == PREVIOUS else rule.intent
        if intent is None:  # unreachable while every PREVIOUS row sets `after`; keeps the type honest
            continue
        follow = f"follow-up to {intent}; " if rule.after else ""
        return {
            "intent": intent,
            "tier": "rule",
            "confidence": rule.confidence,
            "reason": f"rule {rule.name}: {follow}{rule.why}; matched {match.group(0).strip()[:60]!r}",
            "entities": query.entities,
        }
    return None
