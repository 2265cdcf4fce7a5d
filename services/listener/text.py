"""The text a message is scanned (and shown) with, shared by every source.

A text link shows one thing and points at another ("chart" → a DexScreener
page with the token address in its path).  Traders need the hidden target,
so it is appended to the text on its own line: detection sees it, and the
dashboard shows the link that was actually posted.
"""

from __future__ import annotations

from collections.abc import Iterable


def with_hidden_links(text: str, urls: Iterable[str]) -> str:
    """``text`` plus each hidden URL not already visible in it, one per line, in order."""
    hidden = [url for url in dict.fromkeys(url.strip() for url in urls) if url and url not in text]
    if not hidden:
        return text
    return "\n".join([text, *hidden]) if text else "\n".join(hidden)
