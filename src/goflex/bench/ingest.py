"""``goflex bench ingest``: throughput and latency of broker -> ingest -> database, against raw Mosquitto.

One run, one machine, two phases on the same Mosquitto (rendered TLS configuration, as in production):

1. *raw*: the load generator publishes the load while ``mosquitto_sub`` (with a read-only service
   certificate) receives it; what it receives per second is the baseline.
2. *ingest*: the same load again, with the ingest service storing it into the given database; each message is
   timed from publication to the ``@ack`` that ingest sends after its commit (what a gateway's outbox waits for).

Afterwards the database is checked: lost = messages published but absent from the ledger; duplicates = values
stored more than once for one (endpoint, sequence, item). Human progress goes to stderr, the result (one JSON
document) to stdout.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import shutil
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from goflex.broker.acl import Grant, ingest_grants
from goflex.broker.render import render_mosquitto
from goflex.common import ConfigError
from goflex.ingest import IngestService
from goflex.pki import CertificateAuthority, CertificateKind
from goflex.store import open_database
from goflex.store.schema import history, ingest_ledger

log = logging.getLogger(__name__)
OBSERVER = "bench-observer"


@dataclass(frozen=True)
class IngestBenchOptions:
    """Options of ``goflex bench ingest``."""

    endpoints: int = 200
    rate: float = 2000.0
    seconds: float = 20.0
    db_url: str | None = None
    updates_per_message: int = 1
    drain_seconds: float = 30.0
    keep: bool = False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _mosquitto() -> str:
    found = shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).exists()), None
    )
    if found is None or shutil.which("mosquitto_sub") is None:
        raise ConfigError(
            "mosquitto", "the benchmark needs mosquitto and mosquitto_sub (Debian: mosquitto, mosquitto-clients)"
        )
    return found


def _wait_port(port: int, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise ConfigError("mosquitto", f"the broker did not listen on port {port} within {timeout_s} s")


async def _count_lines(stream: asyncio.StreamReader, counter: list[int]) -> None:
    """Count the lines ``mosquitto_sub`` prints (one per message)."""
    while chunk := await stream.read(65536):
        counter[0] += chunk.count(b"\n")


async def _loadgen(config: dict[str, Any]) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "goflex.bench.loadgen",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate(json.dumps(config).encode())
    if process.returncode != 0:
        raise RuntimeError(f"load generator failed with exit code {process.returncode}")
    result: dict[str, Any] = json.loads(out)
    return result


def _prepare(root: Path, names: list[str]) -> tuple[Path, Path, int]:
    ca = CertificateAuthority.init(root / "pki")
    for service in ("ingest", OBSERVER):
        ca.issue(service, CertificateKind.SERVICE)
    ca.issue_many(names, CertificateKind.ENDPOINT)
    port = _free_port()
    grants = [
        *ingest_grants(),
        Grant(OBSERVER, "@update/#", read=True, write=False),
        Grant(OBSERVER, "@transaction/#", read=True, write=False),
    ]
    rendered = render_mosquitto(
        ca.directory,
        root / "broker",
        port=port,
        grants=grants,
        run_as_current_user=True,
        dynsec_plugin=None,
        log_types=("error", "warning"),
    )
    return ca.directory, rendered.conf_path, port


def _ledger_and_duplicates(db_url: str, names: list[str]) -> tuple[int, int, int]:
    """(messages in the ledger, values stored, values stored more than once) for the bench endpoints."""
    db = open_database(db_url)
    try:
        with db.transaction() as conn:
            ledger = conn.execute(
                sa.select(sa.func.count()).select_from(ingest_ledger).where(ingest_ledger.c.endpoint.in_(names))
            ).scalar_one()
            from goflex.store.schema import attribute  # noqa: PLC0415

            ids = sa.select(attribute.c.id).where(attribute.c.endpoint.in_(names)).scalar_subquery()
            rows = conn.execute(
                sa.select(sa.func.count()).select_from(history).where(history.c.attribute_id.in_(ids))
            ).scalar_one()
            keys = (
                sa.select(history.c.attribute_id, history.c.seq, history.c.item)
                .where(history.c.attribute_id.in_(ids))
                .distinct()
                .subquery()
            )
            distinct = conn.execute(sa.select(sa.func.count()).select_from(keys)).scalar_one()
    finally:
        db.close()
    return int(ledger), int(rows), int(rows) - int(distinct)


async def _raw_phase(base: dict[str, Any], pki: Path, port: int) -> tuple[dict[str, Any], int]:
    """Phase 1: the load, received by ``mosquitto_sub``: (load generator result, messages received)."""
    sub_args = ["-h", "localhost", "-p", str(port), "-V", "mqttv5", "--cafile", str(pki / "ca.crt")]
    sub_args += ["--cert", str(pki / f"{OBSERVER}.crt"), "--key", str(pki / f"{OBSERVER}.key"), "-q", "1"]
    sub_args += ["-t", "@update/#", "-t", "@transaction/#"]
    sub = await asyncio.create_subprocess_exec(
        shutil.which("mosquitto_sub") or "mosquitto_sub",
        *sub_args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert sub.stdout is not None
    received = [0]
    counting = asyncio.create_task(_count_lines(sub.stdout, received))
    await asyncio.sleep(1.0)
    raw = await _loadgen({**base, "expect_acks": False})
    await asyncio.sleep(1.0)
    sub.terminate()
    await sub.wait()
    await counting
    raw_messages = received[0]
    return raw, raw_messages


async def bench_ingest(options: IngestBenchOptions) -> dict[str, Any]:
    """Run both phases and return the figures (see the module docstring)."""
    mosquitto = _mosquitto()
    root = Path(tempfile.mkdtemp(prefix="goflex-bench-"))
    run_id = secrets.token_hex(3)
    names = [f"b{run_id}-{i:05d}" for i in range(1, options.endpoints + 1)]
    db_url = options.db_url or f"sqlite:///{root / 'bench.db'}"
    print(f"bench: issuing {len(names)} certificates in {root}", file=sys.stderr)
    t0 = time.monotonic()
    pki, conf, port = await asyncio.to_thread(_prepare, root, names)
    issue_s = time.monotonic() - t0
    broker = await asyncio.create_subprocess_exec(
        mosquitto, "-c", str(conf), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    try:
        await asyncio.to_thread(_wait_port, port)
        base = {
            "host": "127.0.0.1",
            "port": port,
            "pki": str(pki),
            "names": names,
            "rate": options.rate,
            "seconds": options.seconds,
            "updates_per_message": options.updates_per_message,
            "drain_seconds": options.drain_seconds,
            "warmup_seconds": 1.0,
        }
        print("bench: phase 1, raw broker to mosquitto_sub", file=sys.stderr)
        raw, raw_messages = await _raw_phase(base, pki, port)
        raw_updates_per_s = raw_messages * options.updates_per_message / raw["send_seconds"]

        print(f"bench: phase 2, ingest into {db_url.split('@')[-1]}", file=sys.stderr)
        db = await asyncio.to_thread(open_database, db_url)
        await asyncio.to_thread(db.migrate)
        ingest = IngestService(
            db=db,
            broker=f"mqtts://localhost:{port}",
            ca_file=pki / "ca.crt",
            cert_file=pki / "ingest.crt",
            key_file=pki / "ingest.key",
        )
        await ingest.start()
        try:
            stored_run = await _loadgen({**base, "expect_acks": True})
            registry = ingest.metrics.registry
            batches = registry.get_sample_value("goflex_ingest_batch_seconds_count") or 0.0
            batch_s = registry.get_sample_value("goflex_ingest_batch_seconds_sum") or 0.0
        finally:
            await ingest.stop()
            db.close()
        ledger, rows, duplicates = await asyncio.to_thread(_ledger_and_duplicates, db_url, names)
    finally:
        broker.terminate()
        await broker.wait()
        if not options.keep:
            shutil.rmtree(root, ignore_errors=True)
    updates_per_s = rows / stored_run["total_seconds"] if stored_run["total_seconds"] else 0.0
    return {
        "updates_per_s": round(updates_per_s, 1),
        "p50_latency_ms": stored_run["latencies_ms"]["p50"],
        "p99_latency_ms": stored_run["latencies_ms"]["p99"],
        "max_latency_ms": stored_run["latencies_ms"]["max"],
        "lost": stored_run["messages_sent"] - ledger,
        "duplicates": duplicates,
        "raw_broker_updates_per_s": round(raw_updates_per_s, 1),
        "ratio_to_raw": round(updates_per_s / raw_updates_per_s, 3) if raw_updates_per_s else None,
        "endpoints": options.endpoints,
        "target_updates_per_s": options.rate,
        "updates_per_message": options.updates_per_message,
        "seconds": options.seconds,
        "database": "postgresql" if db_url.startswith("postgres") else "sqlite",
        "updates_sent": stored_run["updates_sent"],
        "values_stored": rows,
        "raw_messages_received": raw_messages,
        "raw_messages_sent": raw["messages_sent"],
        "unconfirmed_at_end": stored_run["unacked_messages"],
        "ingest_batches": int(batches),
        "ingest_mean_batch_rows": round(rows / batches, 1) if batches else None,
        "ingest_db_busy_fraction": round(batch_s / stored_run["total_seconds"], 3)
        if stored_run["total_seconds"]
        else None,
        "certificates_seconds": round(issue_s, 1),
        "connect_seconds": stored_run["connect_seconds"],
    }
