"""The three measurements: sustained throughput, a counted burst, latency at a set rate."""

from __future__ import annotations

import time
from array import array
from collections.abc import Callable
from pathlib import Path

from telesniff.bench.options import BenchOptions, Results
from telesniff.bench.pipeline import Pipeline
from telesniff.bench.procs import ChildError
from telesniff.bench.report import percentiles
from telesniff.bench.tally import Tally

_DRAIN_TIMEOUT_S = 180.0


class Phases:
    def __init__(
        self,
        pipeline: Pipeline,
        tally: Tally,
        results: Results,
        *,
        prefix: str,
        chat_base: int,
        workdir: Path,
        say: Callable[[str], None],
        own_database: bool = False,
    ) -> None:
        """``own_database``: the bench started the database, so its tables may be emptied."""
        self.pipeline = pipeline
        self.tally = tally
        self.results = results
        self.options: BenchOptions = results.options
        self.prefix = prefix
        self.workdir = workdir
        self.say = say
        self.groups: list[str] = []
        self._chat_base = chat_base
        self._own_database = own_database

    def _group(self, name: str) -> tuple[str, int]:
        """A fresh group name and chat-id base: no phase ever upserts another's rows."""
        self.groups.append(f"{self.prefix}{name}")
        self._chat_base -= 100
        return self.groups[-1], self._chat_base

    async def throughput(self, consumers: int) -> None:
        duration = self.options.duration
        self.say(f"throughput with {consumers} consumer(s): {duration:g} s at maximum load")
        await self.pipeline.scale_consumers(consumers)
        group, chat_base = self._group(f"throughput-{consumers}")
        cpu_before, started = self.pipeline.cpu(), time.monotonic()
        done = await self.pipeline.run_listener(
            {"group": group, "rate": 0, "duration": duration, "chat_base": chat_base,
             "max_backlog": self._backlog(consumers)},
            within=duration + _DRAIN_TIMEOUT_S,
        )  # fmt: skip
        appended = int(done["appended"])
        rows = await self.tally.wait_for(
            group, appended, _DRAIN_TIMEOUT_S, every=0.1, check=self.pipeline.check_alive
        )
        wall = time.monotonic() - started  # CPU is counted until the last row is in
        cpu_after = self.pipeline.cpu()
        if rows.count < appended:
            self.results.notes.append(
                f"throughput-{consumers}: only {rows.count} of {appended} entries were stored"
            )
        # Sustained: skip the first second (processes warming up), stop when the listener did.
        start = float(done["first_at"]) + min(1.0, duration / 5)
        end = float(done["appended_at"])
        stored = await self.tally.stored_between(group, start, end)
        self.results.throughput.append({
            "consumers": consumers,
            "persisted_per_s": round(stored / (end - start)),
            "offered_per_s": round(appended / (end - float(done["first_at"]))),
            "messages": appended,
            "stored": rows.count,
            # Share of one CPU each used, and CPU microseconds per stored message: the
            # second is what to compare between runs on a busy machine.
            "cpu_percent": {
                name: round((cpu_after[name] - cpu_before[name]) / wall * 100)
                for name in cpu_after
            },
            "cpu_us_per_msg": {
                name: round((cpu_after[name] - cpu_before[name]) / max(1, rows.count) * 1e6, 1)
                for name in cpu_after
            },
        })  # fmt: skip
        self.pipeline.check_alive()
        if self._own_database:
            # Each step then starts from the empty tables the first one had: a step that
            # inherited the previous steps' rows would pay for larger indexes (PostgreSQL
            # spent 33 µs a row on empty tables, 43-46 µs once they held a million rows),
            # which is not what changing the number of consumers is meant to show.
            await self.tally.empty()

    def _backlog(self, consumers: int) -> int:
        """Unacknowledged entries the listener may run ahead by: enough for every consumer to
        read full batches, never near the stream's trimming length (100,000 by default)."""
        return min(self.options.max_backlog * consumers, 80_000)

    async def burst(self) -> None:
        count = self.options.burst
        self.say(f"burst of {count:,} messages")
        group, chat_base = self._group("burst")
        if self.pipeline.clients:
            await self.pipeline.expect(group, count, latency=False)
        done = await self.pipeline.run_listener(
            {"group": group, "rate": 0, "count": count, "chat_base": chat_base},
            within=_DRAIN_TIMEOUT_S,
        )
        first_at = float(done["first_at"])
        rows = await self.tally.wait_for(
            group, count, _DRAIN_TIMEOUT_S, every=0.02, check=self.pipeline.check_alive
        )
        if rows.count < count or rows.last_stored is None:
            raise ChildError(f"burst: only {rows.count} of {count} messages were stored")
        stored_s = rows.last_stored - first_at
        delivered_s = None
        if self.pipeline.clients:
            try:
                delivered_s = await self.pipeline.delivered(_DRAIN_TIMEOUT_S) - first_at
            except ChildError as error:
                raise ChildError(
                    f"burst: not every WebSocket client got every message: {error}"
                ) from None
        self.results.burst = {
            "count": count,
            "seconds": round(max(stored_s, delivered_s or 0.0), 4),
            "stored_s": round(stored_s, 4),
            "delivered_s": round(delivered_s, 4) if delivered_s is not None else None,
            "appended_s": round(float(done["appended_at"]) - first_at, 4),
            "ws_clients": self.options.ws_clients,
        }

    async def latency(self) -> None:
        rate, duration = self.options.rate, self.options.duration
        count = max(1, round(rate * duration))
        self.say(f"latency: {count:,} messages at {rate:g} msgs/s")
        if not self.pipeline.clients:
            self.results.notes.append("latency needs WebSocket clients (--ws-clients > 0)")
            return
        group, chat_base = self._group("latency")
        await self.pipeline.expect(group, count, latency=True)
        cpu_before, started = self.pipeline.cpu(), time.monotonic()
        done = await self.pipeline.run_listener(
            {"group": group, "rate": rate, "count": count, "chat_base": chat_base},
            within=duration * 3 + _DRAIN_TIMEOUT_S,
        )
        await self.pipeline.delivered(_DRAIN_TIMEOUT_S)
        cpu_after, wall = self.pipeline.cpu(), time.monotonic() - started
        self.results.rss_steady = self.pipeline.steady_rss()
        answers, paths = await self.pipeline.reports(self.workdir)
        samples = array("d")
        for path in paths:
            samples.frombytes(path.read_bytes())
        figures = percentiles([value * 1000 for value in samples])
        self.results.latency = {
            "rate": rate,
            "messages": count,
            "offered_per_s": round(
                int(done["sent"]) / max(1e-9, float(done["appended_at"]) - float(done["first_at"]))
            ),
            "samples": len(samples),
            **figures,
            "clients_closed": sum(int(answer["closed"]) for answer in answers),
            "cpu_percent": {
                name: round((cpu_after[name] - cpu_before[name]) / wall * 100) for name in cpu_after
            },
        }
