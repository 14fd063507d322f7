"""The balance group's meter as a cloud.iO endpoint: ``goflex-grid-tg8000`` (seed 3.3: TG8000, every 5 minutes).

Seed 3.3: the DSO reads the balance group's load from its TG8000 ripple-control system every 5 minutes; DOMS
compares it with the day-ahead forecast. Here a scenario's ``grid.csv`` is replayed on the platform clock
(:class:`goflex.doms.live_inputs.ScenarioReplay`: the same weekday and time of day when the dates differ) and
published like any endpoint: its own certificate (CN ``goflex-grid-tg8000``, confined by the broker to its own
topics), a durable outbox, one ``@update`` of :data:`goflex.doms.live.LOAD_PATH` per 5-minute interval at the
interval's end, timestamped with the interval's start [MW]. A hole in the file is not published (the reader sees
a gap); bad values (spikes, a stuck feed) are published as they are: judging them is DOMS's job.

It lives in :mod:`goflex.demo` (not :mod:`goflex.sim`) because it reuses DOMS's scenario replay, and ``sim`` and
``doms`` are independent layers.
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass
from pathlib import Path

from goflex.cloudio.endpoint_client import Endpoint
from goflex.cloudio.model import AttributeType, Constraint, EndpointModel, attr, endpoint, node, obj
from goflex.common.clock import Clock
from goflex.doms.live import GRID_ENDPOINT
from goflex.doms.live_inputs import ScenarioReplay
from goflex.pki.authority import CertificateAuthority
from goflex.pki.names import CertificateKind

log = logging.getLogger(__name__)
STEP_S = 300


def grid_model(name: str = GRID_ENDPOINT) -> EndpointModel:
    """The meter's data model: ``tg8000/balanceGroupLoadMw/datapoint`` (Measure, Number) [MW]."""
    return endpoint(
        name, {"tg8000": node({"balanceGroupLoadMw": obj(datapoint=attr(Constraint.MEASURE, AttributeType.NUMBER))})}
    )


def ensure_certificate(pki: Path, name: str, kind: CertificateKind) -> None:
    """Issue ``name``'s certificate in the CA directory ``pki`` unless it exists (created once, then reused)."""
    if not (pki / f"{name}.crt").is_file():
        CertificateAuthority.load(pki).issue(name, kind)


@dataclass
class GridMeter:
    """Publishes the replayed load every 5 minutes of the clock (see the module docstring).

    Args:
        replay: the scenario (its ``scale`` is the demo balance group's).
        endpoint: the connected cloud.iO endpoint of model :func:`grid_model`.
        clock: the platform clock.
    """

    replay: ScenarioReplay
    endpoint: Endpoint
    clock: Clock
    published: int = 0
    holes: int = 0

    def publish(self, interval_start: int) -> bool:
        """Publish the load of ``[interval_start, + 5 min)``; False for a hole in the file."""
        load = self.replay.row(interval_start).load_mw
        if not math.isfinite(load):
            self.holes += 1
            return False
        path = f"{self.endpoint.name}/tg8000/balanceGroupLoadMw/datapoint"
        self.endpoint.update(path, load, timestamp=float(interval_start))
        self.published += 1
        return True

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """At the end of each 5-minute interval, publish it; until cancelled or ``stop`` is set."""
        stop = stop or asyncio.Event()
        boundary = int(self.clock.time()) // STEP_S * STEP_S + STEP_S
        while not stop.is_set():
            wait = boundary - self.clock.time()
            if wait > 0:
                await self.clock.sleep(wait)
                continue
            self.publish(boundary - STEP_S)
            boundary += STEP_S


def open_endpoint(*, pki: Path, broker_url: str, outbox: Path, clock: Clock, name: str = GRID_ENDPOINT) -> Endpoint:
    """The meter's endpoint with its certificate (issued if missing) and outbox (not yet connected)."""
    ensure_certificate(pki, name, CertificateKind.ENDPOINT)
    outbox.parent.mkdir(parents=True, exist_ok=True)
    return Endpoint(
        grid_model(name),
        broker=broker_url,
        ca_file=pki / "ca.crt",
        cert_file=pki / f"{name}.crt",
        key_file=pki / f"{name}.key",
        outbox_path=outbox,
        clock=clock,
    )


__all__ = ["GridMeter", "ensure_certificate", "grid_model", "open_endpoint"]
