"""Turn a chat message's `content` into one clean string the routing tiers can match against."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

# Routing needs the gist, not an essay. The API validates length; this cap only bounds the work every regex
# and n-gram pass does if an oversized message slips through.
MAX_CHARS = 4000

# Block types that carry user-visible text: LangChain/OpenAI chat ("text") and the Responses API variants.
_TEXT_BLOCK_TYPES = frozenset({"text", "input_text", "output_text"})

# NFKC leaves typographic quotes alone; rules are written with ASCII apostrophes ("don't", "can't").
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201b": "'", "\u2032": "'", "\u201c": '"', "\u201d": '"'})
_WHITESPACE = re.compile(r"\s+")


def message_text(content: object) -> str:
    """Join the text parts of a message `content`: a string, or a list of content blocks and strings.

    Non-text blocks (images, tool calls, files) are skipped; parts are joined with newlines.
    """
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Mapping):
        return _block_text(content)
    if isinstance(content, list | tuple):
        parts = (p if isinstance(p, str) else _block_text(p) if isinstance(p, Mapping) else "" for p in content)
        return "\n".join(p for p in parts if p)
    return ""


def _block_text(block: Mapping[object, object]) -> str:
    text = block.get("text")
    kind = block.get("type")
    if isinstance(text, str) and (kind is None or kind in _TEXT_BLOCK_TYPES):
        return text
    return ""


def normalize(text: str) -> str:
    """NFKC, ASCII quotes, no control or zero-width characters, single spaces, stripped, capped at MAX_CHARS.

    Zero-width and other format characters are dropped because they are a cheap way to split a keyword
    ("ig\u200bnore previous instructions") past a regex.
    """
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    text = "".join(ch for ch in text if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn"))
    return _WHITESPACE.sub(" ", text).strip()[:MAX_CHARS]
