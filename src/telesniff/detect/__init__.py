"""Token addresses, token-page links, keywords and patterns in chat messages.

Build one ``Detector`` per ChatGroup (``Detector.from_spec``) and call ``scan``
on every message; see ``docs/detectors.md``.
"""

from __future__ import annotations

from telesniff.detect.detector import DEFAULT_DETECTOR, MAX_MATCHES_PER_PATTERN, Detector

__all__ = ["DEFAULT_DETECTOR", "MAX_MATCHES_PER_PATTERN", "Detector"]
