"""Deterministic entity extraction: order ids, emails and money amounts, in order of appearance.

Money and emails are found (and blanked out) first, because their digits are the usual source of false order
ids: "$12000", "10002@example.com". Explicit order references ("order no. 10002", "#10002") are trusted next.
A bare 5-6 digit number only counts when nothing around it says it is something else (a phone number, a zip
code or house number in an address, a tracking or card number).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from typing_extensions import TypedDict


class Entities(TypedDict):
    order_ids: list[int]
    emails: list[str]
    amounts: list[str]  # decimal strings with two places: "45.00"
    currency: str | None  # ISO code of the first amount that named one


def empty_entities() -> Entities:
    return {"order_ids": [], "emails": [], "amounts": [], "currency": None}


ORDER_ID_MIN, ORDER_ID_MAX = 10_000, 999_999

_EMAIL = re.compile(
    r"(?<![\w.%+-])[a-z0-9][a-z0-9._%+-]*@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b", re.I
)

_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_CODES = r"USD|EUR|GBP|CAD|AUD"
_AMOUNT = re.compile(
    rf"(?P<cur_a>US\$|[$€£]|\b(?:{_CODES})\b)\s?(?P<num_a>{_NUMBER})(?!\d)"
    # A trailing symbol is only the European "12 €": "order 10002 $45" must not read as 10002 dollars.
    rf"|(?<![\w.,])(?P<num_b>{_NUMBER})\s?(?P<cur_b>€(?!\s?\d)|(?:{_CODES}|dollars?|euros?|pounds?|bucks)\b)",
    re.I,
)
_CURRENCY = {
    "$": "USD", "us$": "USD", "dollar": "USD", "dollars": "USD", "bucks": "USD",
    "€": "EUR", "euro": "EUR", "euros": "EUR",
    "£": "GBP", "pound": "GBP", "pounds": "GBP",
}  # fmt: skip

_ID = r"[1-9]\d{4,5}"
# Not the head of a longer number, a decimal ("10002.50"), a zip+4 or an email; "10002,10003" is a list.
_ID_END = r"(?!\d|\.\d|,\d{1,3}(?!\d)|[-@\w])"
_EXPLICIT_ORDER = re.compile(
    rf"(?:\borders?(?:\s+(?:no|nr|num|number|id)\b\.?)?[\s:#]{{0,4}}|(?<![\w&])#\s?)(?P<id>{_ID}){_ID_END}",
    re.I,
)
_BARE = re.compile(rf"(?<![\w.@$€£+\-/]){_ID}{_ID_END}")

# Phone numbers: international with a leading "+", or 2-4 digit groups split by separators ("555-123-4567").
# Groups are capped at 4 digits so a list of order ids ("10002 10003") never looks like a phone number.
_PHONE = re.compile(
    r"\+\d{1,3}(?:[\s.-]?\(?\d{1,8}\)?){1,5}|(?<![\w+])(?:\(\d{2,4}\)|\d{2,4})(?:[\s.-]\d{2,4}){2,4}(?!\w)"
)
# Words right before a number that say it is not an order id.
_NOT_ORDER_CUE = re.compile(
    r"\b(?:phone|tel|telephone|mobile|cell|fax|whatsapp|call(?:\s+me)?(?:\s+(?:at|on))?|text\s+me(?:\s+at)?"
    r"|zip|zip\s*code|postal\s*code|post\s*code|postcode|tracking|card|ending\s+in|pin|code|sku|item|product"
    r"|model|serial|account|apt|apartment|suite|unit|room|box)"
    r"(?:\s+(?:number|no\.?|num|#|id|is|code))*\s*[:#]?\s*(?:[\d()+.-]+\s)?$",  # "phone 555 12345"
    re.I,
)
# "12345 Oak Avenue": a house number. The street name must be capitalised, the suffix may be any case.
_HOUSE_NUMBER_TAIL = re.compile(
    r"\s+(?:[A-Z][\w'-]*\s+){1,3}(?i:st|street|ave|avenue|rd|road|blvd|boulevard|ln|lane|dr|drive|way|ct"
    r"|court|pl|place|ter|terrace|pkwy|parkway|hwy|highway|str|straße|strasse)\b"
)
# Only unambiguous address words: "way" or "place" would swallow "by the way, where is 10002".
_ADDRESS_CUE = re.compile(
    r"\b(?:address|street|st\.|avenue|ave\.|road|rd\.|blvd|boulevard|zip|postcode)|str\.|straße|strasse", re.I
)
# "Springfield, IL 62704": a US state code after a comma, right before the number (case-sensitive on purpose).
_STATE_BEFORE = re.compile(
    r",\s*(?:A[KLRZ]|C[AOT]|D[CE]|FL|GA|HI|I[ADLN]|K[SY]|LA|M[ADEINOST]|N[CDEHJMVY]|O[HKR]|PA|RI|S[CD]|T[NX]"
    r"|UT|V[AT]|W[AIVY])\s*$"
)
# A period only ends a sentence before a capital: "Hauptstr. 5, 10115 Berlin" is one address.
_SENTENCE_END = re.compile(r"[!?;\n]|\.(?=\s+[A-Z])")


def extract_entities(text: str) -> Entities:
    """Order ids, emails and amounts found in `text`, each de-duplicated, in order of first appearance."""
    entities = empty_entities()
    emails: dict[str, None] = {}
    for m in _EMAIL.finditer(text):
        emails.setdefault(m.group(0).lower(), None)
    entities["emails"] = list(emails)
    masked = _blank(text, _EMAIL)

    amounts: dict[str, None] = {}
    for m in _AMOUNT.finditer(masked):
        amount = _decimal(m.group("num_a") or m.group("num_b"))
        if amount is None:
            continue
        amounts.setdefault(amount, None)
        currency = (m.group("cur_a") or m.group("cur_b")).lower()
        if entities["currency"] is None:
            entities["currency"] = _CURRENCY.get(currency, currency.upper())
    entities["amounts"] = list(amounts)
    masked = _blank(masked, _AMOUNT)

    found: list[tuple[int, int]] = [(m.start("id"), int(m.group("id"))) for m in _EXPLICIT_ORDER.finditer(masked)]
    masked = _blank(_blank(masked, _EXPLICIT_ORDER), _PHONE)
    found += [(m.start(), int(m.group(0))) for m in _BARE.finditer(masked) if _looks_like_order_id(masked, m)]
    ids: dict[int, None] = {}
    for _, order_id in sorted(found):
        if ORDER_ID_MIN <= order_id <= ORDER_ID_MAX:
            ids.setdefault(order_id, None)
    entities["order_ids"] = list(ids)
    return entities


def _looks_like_order_id(text: str, m: re.Match[str]) -> bool:
    before = text[max(0, m.start() - 40) : m.start()]
    if _NOT_ORDER_CUE.search(before) or _STATE_BEFORE.search(before):
        return False
    if _HOUSE_NUMBER_TAIL.match(text, m.end()):
        return False
    # A number later in the same sentence as a street or the word "address" is a zip code.
    sentence = _SENTENCE_END.split(text[max(0, m.start() - 80) : m.start()])[-1]
    return not _ADDRESS_CUE.search(sentence)


def _blank(text: str, pattern: re.Pattern[str]) -> str:
    # Same-length blanks keep positions stable, so ids from different passes can be sorted by position.
    return pattern.sub(lambda m: " " * len(m.group(0)), text)


def _decimal(raw: str) -> str | None:
    # "1,200" is a thousands separator; "12,50" (two digits after the only comma) is a decimal comma.
    if re.fullmatch(r"\d+,\d{1,2}", raw):
        raw = raw.replace(",", ".")
    try:
        return str(Decimal(raw.replace(",", "")).quantize(Decimal("0.01")))
    except InvalidOperation:
        return None
