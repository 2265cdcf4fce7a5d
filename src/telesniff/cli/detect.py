"""``telesniff detect``: run the detectors over lines of text on stdin.

For trying a ChatGroup's keywords and patterns on an exported corpus before
deploying it, and for piping into jq.  Each input line gives one output line.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import orjson
import typer

from telesniff.cli.app import app
from telesniff.contract import MATCH_KINDS, MatchKind
from telesniff.detect import Detector
from telesniff.groupspec import SpecError, load_group_file


def _parse_detectors(value: str) -> list[MatchKind]:
    kinds: list[MatchKind] = []
    for name in (part.strip() for part in value.split(",")):
        if not name:
            continue
        if name not in MATCH_KINDS:
            raise typer.BadParameter(
                f"unknown detector {name!r}; choose from {','.join(MATCH_KINDS)}",
                param_hint="--detectors",
            )
        kinds.append(next(kind for kind in MATCH_KINDS if kind == name))
    if not kinds:
        raise typer.BadParameter(
            f"no detectors given; choose from {','.join(MATCH_KINDS)}", param_hint="--detectors"
        )
    return kinds


def _build_detector(
    group: Path | None, keywords: list[str], patterns: list[str], detectors: str | None
) -> Detector:
    kinds: list[MatchKind] = list(MATCH_KINDS)
    if group is not None:
        try:
            spec = load_group_file(group).spec
        except SpecError as error:
            raise typer.BadParameter(str(error), param_hint="--group") from None
        keywords = [*spec.keywords, *keywords]
        patterns = [*spec.patterns, *patterns]
        kinds = list(spec.detectors)
    if detectors is not None:
        kinds = _parse_detectors(detectors)
    for keyword in keywords:
        if not keyword.strip():
            raise typer.BadParameter("a keyword cannot be blank", param_hint="--keyword")
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as error:
            raise typer.BadParameter(
                f"{pattern!r} is not a valid regular expression: {error}", param_hint="--pattern"
            ) from None
    return Detector(detectors=kinds, keywords=keywords, patterns=patterns)


def _result(line: bytes, number: int, detector: Detector) -> dict[str, Any]:
    text: Any
    if line.lstrip()[:1] == b"{":
        try:
            document = orjson.loads(line)
        except orjson.JSONDecodeError:
            document = None
        if isinstance(document, dict):
            identifier = document.get("id", number)
            if "text" not in document:
                return {"id": identifier, "error": 'missing "text"'}
            text = document["text"]
            if not isinstance(text, str):
                return {
                    "id": identifier,
                    "error": f'"text" must be a string, not {type(text).__name__}',
                }
            return {"id": identifier, "matches": _matches(detector, text)}
    text = line.decode("utf-8", errors="replace")
    return {"id": number, "matches": _matches(detector, text)}


def _matches(detector: Detector, text: str) -> list[dict[str, str]]:
    return [{"kind": match.kind, "value": match.value} for match in detector.scan(text)]


def _run(detector: Detector, source: BinaryIO, sink: BinaryIO, interactive: bool) -> None:
    for number, raw in enumerate(source, start=1):
        sink.write(orjson.dumps(_result(raw.rstrip(b"\r\n"), number, detector)))
        sink.write(b"\n")
        # Someone typing wants each answer at once; a pipe wants throughput.
        if interactive:
            sink.flush()
    sink.flush()


@app.command("detect")
def detect(
    group: Annotated[
        Path | None,
        typer.Option(
            "--group",
            help="ChatGroup YAML (manifest or bare spec): use its keywords, patterns, detectors.",
            dir_okay=False,
        ),
    ] = None,
    keyword: Annotated[
        list[str] | None,
        typer.Option("--keyword", "-k", help="Keyword to find (repeatable)."),
    ] = None,
    pattern: Annotated[
        list[str] | None,
        typer.Option("--pattern", "-p", help="Regular expression to find (repeatable)."),
    ] = None,
    detectors: Annotated[
        str | None,
        typer.Option(
            "--detectors",
            help=f"Comma-separated subset of {','.join(MATCH_KINDS)} (default: all, "
            "or the group's).",
        ),
    ] = None,
) -> None:
    """Read messages from stdin and write their matches as JSON lines.

    Each line is either a JSON object {"id": ..., "text": ...} or plain text,
    whose id is its line number.  Each output line is {"id": ..., "matches":
    [{"kind": ..., "value": ...}]}, or {"id": ..., "error": ...} for a JSON
    line without a usable "text".
    """
    detector = _build_detector(group, keyword or [], pattern or [], detectors)
    try:
        _run(detector, sys.stdin.buffer, sys.stdout.buffer, interactive=sys.stdin.isatty())
    except BrokenPipeError:
        # The reader (head, a closed jq) has all it wanted; that is not a failure.
        _silence_stdout()


def _silence_stdout() -> None:
    # Without this, the interpreter's final flush of stdout raises BrokenPipeError again.
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
