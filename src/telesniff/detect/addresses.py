"""One pass over the text finds every address candidate, Solana and EVM alike.

Both kinds are ASCII alphanumeric runs, so a single regex finds maximal runs
of 32+ characters; an address must be the whole run.  That is what rejects a
slice of something longer (an 88-character transaction signature, a 64-digit
transaction hash) and what lets ``/``, ``_``, ``=`` or CJK text sit right next
to an address.  Typical chat text has no such run, so the validators that
follow (base58 decoding, Keccak) almost never run.
"""

from __future__ import annotations

import re
from typing import Final

from telesniff.contract import Match
from telesniff.detect import evm, solana

# The lookbehind changes no result, only the cost: without it every start inside a
# word would rescan the rest of that word.
RUN: Final = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]{32,}")

# Even a failing regex pass costs ~15 ns a character; mapping every byte to "a"
# (ASCII letter or digit) or " " and looking for 32 "a"s in a row is ten times
# cheaper and rules out nearly every chat message before the regex runs.
_ALNUM_TABLE: Final = bytes(
    ord("a") if chr(byte).isascii() and chr(byte).isalnum() else ord(" ") for byte in range(256)
)
_SHORTEST_RUN: Final = b"a" * 32

Found = list[tuple[int, int, Match]]


def find(text: str, found: Found, *, want_solana: bool, want_evm: bool, order: int) -> None:
    """Append ``(position, order, match)`` for each address in ``text``."""
    # surrogatepass: Telegram text may carry lone surrogates, which plain UTF-8 rejects.
    if _SHORTEST_RUN not in text.encode("utf-8", "surrogatepass").translate(_ALNUM_TABLE):
        return
    for run in RUN.finditer(text):
        candidate = run.group()
        size = len(candidate)
        if size == 42 and candidate[1] == "x" and candidate[0] == "0":
            if want_evm:
                checksummed = evm.token_address(candidate)
                if checksummed is not None:
                    found.append((run.start(), order, Match("evm", checksummed)))
        elif size <= solana.MAX_LENGTH and want_solana and solana.is_token_candidate(candidate):
            found.append((run.start(), order, Match("solana", candidate)))
