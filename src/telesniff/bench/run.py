"""A whole bench run: servers, processes, phases, figures; everything started is stopped."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import secrets
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from telesniff import broker, keys
from telesniff.bench import servers
from telesniff.bench.options import BenchOptions, Results
from telesniff.bench.phases import Phases
from telesniff.bench.pipeline import Pipeline
from telesniff.bench.procs import Children, machine_load
from telesniff.bench.tally import Tally
from telesniff.db.engine import create_engine, migrate

# Settings the bench decides for its processes; other TELESNIFF_* (tuning such as
# TELESNIFF_BATCH_SIZE) pass through, so a run can compare settings.
_OWNED = (
    "CONFIG", "SECRETS_DIR", "API_TOKENS", "ALLOWED_ORIGINS", "METRICS_PORT", "REDIS_URL",
    "DATABASE_URL", "DATA_DIR", "STREAM", "CONSUMER_GROUP", "DEAD_LETTER_STREAM",
    "LIVE_CHANNEL", "HOST", "PORT", "CONSUMER_NAME", "LOG_LEVEL", "TELEGRAM_API_ID",
    "TELEGRAM_API_HASH", "TELEGRAM_SESSION",
)  # fmt: skip


def child_env(
    run_id: str, redis_url: str, database_url: str, port: int, workdir: Path
) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if name.removeprefix("TELESNIFF_") not in _OWNED or not name.startswith("TELESNIFF_")
    }
    env.update({
        "TELESNIFF_REDIS_URL": redis_url,
        "TELESNIFF_DATABASE_URL": database_url,
        "TELESNIFF_DATA_DIR": str(workdir / "data"),
        "TELESNIFF_SECRETS_DIR": str(workdir / "no-secrets"),
        "TELESNIFF_STREAM": f"bench:{run_id}:messages",
        "TELESNIFF_CONSUMER_GROUP": f"bench-{run_id}",
        "TELESNIFF_DEAD_LETTER_STREAM": f"bench:{run_id}:dead-letter",
        "TELESNIFF_LIVE_CHANNEL": f"bench:{run_id}:live",
        "TELESNIFF_HOST": "127.0.0.1",
        "TELESNIFF_PORT": str(port),
        "TELESNIFF_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    })  # fmt: skip
    return env


@contextlib.contextmanager
def _database(options: BenchOptions, workdir: Path) -> Iterator[servers.Server]:
    if options.database_url:
        kind = "postgresql" if options.database_url.startswith("postgres") else "sqlite"
        yield servers.Server(options.database_url, kind)
    elif options.postgres:
        with servers.postgres_server() as server:
            yield server
    else:
        yield servers.Server(f"sqlite+aiosqlite:///{workdir / 'bench.db'}", "sqlite")


def bench(options: BenchOptions, say: Callable[[str], None]) -> Results:
    """Run the phases asked for; raises on failure, after stopping everything it started."""
    results = Results(options)
    results.machine["start"] = machine_load()
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="telesniff-bench-") as temp,
        contextlib.ExitStack() as stack,
    ):
        workdir = Path(temp)
        if options.redis_url:
            redis = servers.Server(options.redis_url, "redis (given)")
        else:
            redis = stack.enter_context(servers.redis_server(workdir))
        database = stack.enter_context(_database(options, workdir))
        results.redis, results.database = redis.name, database.name
        say(f"redis: {redis.name}; database: {database.name}; work dir {workdir}")
        try:
            asyncio.run(_run(options, results, redis, database, workdir, say))
        except asyncio.CancelledError:  # SIGTERM: stopped like Ctrl-C
            raise KeyboardInterrupt from None
    results.elapsed_s = time.monotonic() - started
    results.machine["end"] = end = machine_load()
    busiest = max(results.machine["start"].get("load_1m", 0.0), end.get("load_1m", 0.0))
    if busiest > end["cpus"]:
        results.notes.append(
            f"the machine was busy (load average {busiest:.1f} on {end['cpus']:.0f} CPUs, "
            "the bench's own processes included): figures are lower than on a quiet machine"
        )
    return results


async def _run(
    options: BenchOptions, results: Results, redis: servers.Server, database: servers.Server,
    workdir: Path, say: Callable[[str], None],
) -> None:  # fmt: skip
    redis_url, database_url = redis.url, database.url
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    run_id = secrets.token_hex(3)
    (workdir / "logs").mkdir()
    port = servers.free_port()
    env = child_env(run_id, redis_url, database_url, port, workdir)
    engine = create_engine(database_url)
    await migrate(engine)  # once, before several processes would race to do it
    children = Children(workdir / "logs", env)
    pipeline = Pipeline(children, options, port)
    pipeline.servers = {
        name: server.pid
        for name, server in (("redis", redis), ("postgresql", database))
        if server.pid is not None
    }
    phases = Phases(
        pipeline, Tally(engine), results, prefix=f"bench-{run_id}-",
        chat_base=-1_009_000_000_000 - random.randrange(10**6) * 1000, workdir=workdir, say=say,
        own_database=options.database_url is None,
    )  # fmt: skip
    watching = asyncio.create_task(pipeline.watch())
    try:
        say("starting listener, consumer(s) and gateway")
        await pipeline.start_listener()
        await pipeline.scale_consumers(options.consumers[0])
        if options.ws_clients:
            await pipeline.start_gateway()
        if "throughput" in options.phases:
            for count in options.consumers:
                await phases.throughput(count)
            await pipeline.scale_consumers(options.consumers[0])
        if options.ws_clients and {"burst", "latency"} & set(options.phases):
            say(f"connecting {options.ws_clients} WebSocket clients")
            await pipeline.start_clients()
        if "burst" in options.phases:
            await phases.burst()
        if "latency" in options.phases:
            await phases.latency()
        if not results.rss_steady:
            results.rss_steady = pipeline.steady_rss()
    finally:
        watching.cancel()
        say("stopping what the run started")
        try:
            pipeline.sample()
            await children.stop_all()
        except BaseException:
            children.kill_all()
            raise
        finally:
            results.rss_peak = pipeline.peak_rss()
            with contextlib.suppress(Exception):
                await _forget(options, phases, env, redis_url, Tally(engine))
            await engine.dispose()


async def _forget(
    options: BenchOptions, phases: Phases, env: dict[str, str], redis_url: str, tally: Tally
) -> None:
    """Remove what the run wrote into servers it did not start itself."""
    if options.database_url:
        await tally.forget(phases.prefix)
    if options.redis_url:
        client = broker.connect(redis_url)
        try:
            names = [env["TELESNIFF_STREAM"], env["TELESNIFF_DEAD_LETTER_STREAM"]]
            for group in phases.groups:
                names += [keys.group_stats(group), keys.high_water(group)]
            await client.delete(*names)
        finally:
            await client.aclose()
