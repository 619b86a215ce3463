"""Two cheap linguistic checks both deterministic tiers rely on: "is this not English?" and "is this intent
negated?". Both err towards letting the message through to a later tier, never towards a confident answer.
"""

from __future__ import annotations

import re
import unicodedata

from routers.types import Intent

# Function and shop words of the languages customers most often write in instead of English. Words that are
# also common in English ("die", "also", "war", "per", "me", "no") are left out: they never count as foreign.
_FOREIGN = frozenset(
    # Spanish / Portuguese
    "el los las está esta dónde donde pedido pedidos quiero mi mis por favor para una hola gracias tengo"
    " necesito cuenta envío cancelar puedo sí pero muy del también ayuda hablar llegado todavía reembolso"
    " funciona problema tiene nada sin cuando porque muito quando"
    " contraseña cómo qué que meu minha onde senha esqueci obrigado obrigada não você encomenda"
    # German
    " ist meine mein meinen ich nicht wo und der das bitte bestellung wie kann möchte passwort vergessen"
    " danke hallo mit ein eine einen rückerstattung stornieren geld zurück sie wir haben noch auf für bei"
    " kein keine"
    # French
    " où est ma mon mes je veux commande le les des pas remboursement mot passe bonjour merci avec pour dans"
    " votre vous c'est suis annuler livraison quand comment parler"
    # Italian
    " dov'è il mio mia ordine voglio parlare con operatore rimborso grazie ciao non è sono della"
    # Dutch
    " waar mijn bestelling ik wil het een niet wachtwoord vergeten bedankt terugbetaling".split()
)
# English evidence is function words and everyday verbs only: shop nouns ("refund", "password", "order") are
# borrowed into other languages too often to prove anything ("Quiero un refund para mi pedido").
_ENGLISH = frozenset(
    "the a an is are am was were be my your our i you it this that to of and or for on in at with from by"
    " what where when how why who which can could would will should do does did have has had not me we they"
    " please hi hello hey thanks thank yes no ok okay just still yet about get want need help tell know"
    " got give send make see come go".split()
)
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def is_foreign(text: str) -> bool:
    """True when there is positive evidence the text is not English.

    Text with no words ("10002", "?!") is not foreign; it is simply not evidence of anything.
    """
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return False
    non_latin = sum(1 for ch in letters if not unicodedata.name(ch, "").startswith("LATIN"))
    if non_latin / len(letters) > 0.3:
        return True
    words = _WORD.findall(text.lower())
    foreign = sum(w in _FOREIGN for w in words) + (2 if "¿" in text or "¡" in text else 0)
    english = sum(w in _ENGLISH for w in words)
    # A tie goes to "foreign": declining costs an LLM call, a confident wrong answer costs a customer.
    return foreign > 0 and foreign >= english


_NEGATIONS: dict[Intent, re.Pattern[str]] = {
    # "I don't want a refund", "not asking for a refund", "no refund needed". Deliberately not "I have not
    # received my refund": that is a refund complaint, not a negated refund.
    "refund": re.compile(
        r"\b(?:don't|dont|do not|doesn't|does not|not|never)\s+(?:\w+\s+)?"
        r"(?:want|need|asking|looking|requesting|interested)\b(?:\s+\w+){0,3}?\s+refunds?\b"
        r"|\bno\s+refunds?\s+(?:needed|necessary|required|please)",
        re.I,
    ),
    # "don't cancel", "do not want to cancel". Not "I can't cancel it in the app": that user wants to cancel.
    "cancel_order": re.compile(
        r"\b(?:don't|dont|do not|not|never|no need to)\s+(?:\w+\s+)?"
        r"(?:(?:want|need|trying)\s+to\s+)?cancel\b",
        re.I,
    ),
}


def negated_intents(text: str) -> frozenset[Intent]:
    """Intents the customer explicitly says they do not want."""
    return frozenset(intent for intent, pattern in _NEGATIONS.items() if pattern.search(text))
