from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

import telesniff
import telesniff.cli.detect as detect_command
from telesniff.cli.app import app
from telesniff.detect import Detector

SOL = "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263"
ETH = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
URL = f"https://pump.fun/coin/{SOL}"

MIXED_INPUT = "\n".join(
    [
        f"plain line with {SOL}",
        orjson.dumps({"id": "m-1", "text": f"gm {URL}"}).decode(),
        orjson.dumps({"id": 99, "text": f"eth {ETH.lower()} GM"}).decode(),
        "",
        orjson.dumps({"id": True}).decode(),
        "[1, 2, 3]",
        '{"not json',
        orjson.dumps({"id": None, "text": ["not", "text"]}).decode(),
    ]
)
MIXED_OUTPUT: list[dict[str, Any]] = [
    {"id": 1, "matches": [{"kind": "solana", "value": SOL}]},
    {
        "id": "m-1",
        "matches": [
            {"kind": "keyword", "value": "gm"},
            {"kind": "url", "value": URL},
            {"kind": "solana", "value": SOL},
        ],
    },
    {
        "id": 99,
        "matches": [{"kind": "evm", "value": ETH}, {"kind": "keyword", "value": "gm"}],
    },
    {"id": 4, "matches": []},
    {"id": True, "error": 'missing "text"'},
    {"id": 6, "matches": []},  # a JSON array is not an object: plain text
    {"id": 7, "matches": []},  # broken JSON: plain text
    {"id": None, "error": '"text" must be a string, not list'},
]


def run(args: list[str], stdin: str) -> Any:
    return CliRunner().invoke(app, ["detect", *args], input=stdin)


def lines(output: str) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in output.splitlines()]


def test_mixed_json_and_plain_lines() -> None:
    result = run(["-k", "gm"], MIXED_INPUT + "\n")
    assert result.exit_code == 0, result.output
    assert lines(result.stdout) == MIXED_OUTPUT


def test_last_line_without_newline_and_crlf() -> None:
    result = run([], f"a {SOL}\r\nb {SOL}")
    assert result.exit_code == 0, result.output
    assert lines(result.stdout) == [
        {"id": 1, "matches": [{"kind": "solana", "value": SOL}]},
        {"id": 2, "matches": [{"kind": "solana", "value": SOL}]},
    ]


def test_json_line_without_id_gets_its_line_number() -> None:
    result = run([], 'x\n{"text": "nothing"}\n')
    assert lines(result.stdout)[1] == {"id": 2, "matches": []}


def test_patterns_and_detectors_options() -> None:
    text = f"{SOL} {ETH} 25x gem\n"
    result = run(["-p", r"\b\d+x\b", "--pattern", "gem", "--detectors", "evm, regex"], text)
    assert result.exit_code == 0, result.output
    assert lines(result.stdout) == [
        {
            "id": 1,
            "matches": [
                {"kind": "evm", "value": ETH},
                {"kind": "regex", "value": "25x"},
                {"kind": "regex", "value": "gem"},
            ],
        }
    ]


def test_group_file_supplies_keywords_patterns_and_detectors(tmp_path: Path) -> None:
    group = tmp_path / "callers.yaml"
    group.write_text(
        "apiVersion: telesniff.dev/v1alpha1\n"
        "kind: ChatGroup\n"
        "metadata: {name: callers}\n"
        "spec:\n"
        "  chats: ['@solcallers']\n"
        "  keywords: [stealth launch]\n"
        "  patterns: ['\\b\\d+x\\b']\n"
        "  detectors: [solana, keyword, regex]\n"
    )
    text = f"Stealth launch {SOL} {ETH} 10x\n"
    result = run(["--group", str(group), "-k", "10x"], text)
    assert result.exit_code == 0, result.output
    assert lines(result.stdout) == [
        {
            "id": 1,
            "matches": [
                {"kind": "keyword", "value": "stealth launch"},
                {"kind": "solana", "value": SOL},
                {"kind": "keyword", "value": "10x"},
                {"kind": "regex", "value": "10x"},
            ],
        }
    ]
    only_evm = run(["--group", str(group), "--detectors", "evm"], text)
    assert lines(only_evm.stdout) == [{"id": 1, "matches": [{"kind": "evm", "value": ETH}]}]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--detectors", "solana,bitcoin"], "unknown detector 'bitcoin'"),
        (["--detectors", ","], "no detectors given"),
        (["-p", "(unclosed"], "not a valid regular expression"),
        (["-k", " "], "keyword cannot be blank"),
        (["--group", "/nonexistent/group.yaml"], "cannot read"),
    ],
)
def test_bad_options_exit_2_with_a_clear_message(args: list[str], message: str) -> None:
    result = run(args, f"{SOL}\n")
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert SOL not in result.stdout


def test_invalid_group_spec_exits_2(tmp_path: Path) -> None:
    group = tmp_path / "bad.yaml"
    group.write_text("chats: []\n")
    result = run(["--group", str(group)], "x\n")
    assert result.exit_code == 2
    assert "spec.chats" in result.output


class _Sink(io.BytesIO):
    flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


@pytest.mark.parametrize(("interactive", "flushes"), [(True, 4), (False, 1)])
def test_flushes_per_line_only_when_interactive(interactive: bool, flushes: int) -> None:
    sink = _Sink()
    source = io.BytesIO(b"a\nb\nc\n")
    detect_command._run(Detector(), source, sink, interactive=interactive)
    assert sink.flushes == flushes
    assert sink.getvalue().count(b"\n") == 3


def test_real_subprocess() -> None:
    source = Path(telesniff.__file__).resolve().parents[1]
    environment = {**os.environ, "PYTHONPATH": str(source)}
    completed = subprocess.run(
        [sys.executable, "-m", "telesniff", "detect", "--keyword", "gm"],
        input=(MIXED_INPUT + "\n").encode(),
        capture_output=True,
        env=environment,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr.decode()
    assert lines(completed.stdout.decode()) == MIXED_OUTPUT


def test_real_subprocess_bad_option_exits_2() -> None:
    source = Path(telesniff.__file__).resolve().parents[1]
    completed = subprocess.run(
        [sys.executable, "-m", "telesniff", "detect", "--detectors", "nope"],
        input=b"",
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(source)},
        timeout=60,
        check=False,
    )
    assert completed.returncode == 2
    assert b"unknown detector" in completed.stderr
