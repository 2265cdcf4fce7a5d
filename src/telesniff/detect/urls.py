"""Links to the token pages traders share: launchpads, charts, explorers, DEX apps."""

from __future__ import annotations

import re
from typing import Final

from telesniff.contract import Match

# Registrable domains; any subdomain (www., neo., app.) is accepted too.
TOKEN_HOSTS: Final[tuple[str, ...]] = (
    "pump.fun",
    "dexscreener.com",
    "birdeye.so",
    "gmgn.ai",
    "jup.ag",
    "raydium.io",
    "photon-sol.tinyastro.io",
    "bullx.io",
    "dextools.io",
    "etherscan.io",
    "basescan.org",
    "bscscan.com",
    "solscan.io",
    "app.uniswap.org",
    "geckoterminal.com",
)

_HOSTS_PATTERN: Final = "|".join(
    re.escape(host) for host in sorted(TOKEN_HOSTS, key=len, reverse=True)
)

# The host must not follow a letter, digit, dot, "@" or "/" and must end at a port,
# path or query, so notpump.fun, example.com/pump.fun/... and pump.fun.evil.example
# never match.  A path is required: a bare "pump.fun" in a sentence names the site,
# it does not point at a token.  Brackets, quotes and non-ASCII end a URL because
# these sites never use them, while Markdown links, quoted text and CJK sentences
# wrap URLs in them.  Only the scheme and the host are matched ignoring case (the classes
# name both cases already): a whole-pattern IGNORECASE folds every character tried, which
# made the scan a fifth slower for the same matches.
URL: Final = re.compile(
    r"(?<![A-Za-z0-9@.\-/])"
    r"(?:(?i:https?)://)?"
    r"(?:[A-Za-z0-9\-]+\.)*"
    rf"(?i:{_HOSTS_PATTERN})"
    r"(?::\d{1,5})?"
    r"(?P<path>[/?][A-Za-z0-9\-._~:/?#@!$&*+,;=%]*)",
    re.ASCII,
)

_TRAILING: Final = ".,;:!?*"


def find(text: str, found: list[tuple[int, int, Match]], *, order: int) -> None:
    """Append ``(position, order, match)`` for each token-page link in ``text``."""
    # Nearly every chat message fails this test and so skips the regex entirely.  Every
    # link these sites hand out has a "/" (scheme or path), so nothing real is lost.
    if "/" not in text:
        return
    lowered = text.lower()
    if not any(host in lowered for host in TOKEN_HOSTS):
        return
    for link in URL.finditer(text):
        value = link.group().rstrip(_TRAILING)
        path = value[link.start("path") - link.start() :]
        if not path.strip("/?"):
            continue
        found.append((link.start(), order, Match("url", value)))
