"""``goflex bench twin`` on a small fleet: real Mosquitto (TLS), real ingest into SQLite, a fleet process.

Three houses at 20x for 8 s are far below what the machine can do, so the run must keep up: every expected
meter push received through the pty, every published value stored, the outboxes empty after the drain, and CPU
figures read for the three processes. The physics parts must report plausible speeds.
"""

from __future__ import annotations

import pytest

from goflex.bench import TwinBenchOptions, bench_twin
from goflex.bench.twin import TECHNICAL_PUSH_S
from tests.conftest import mosquitto_binary

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]


async def test_small_twin_bench_keeps_up_and_reports_every_figure() -> None:
    mosquitto_binary()  # skip (or fail under GOFLEX_REQUIRE_SERVICES=1) without Mosquitto
    options = TwinBenchOptions(
        houses=3,
        speed=20.0,
        seconds=8.0,
        territory_houses=1000,  # a sample of the territory
        territory_days=0.25,
        physics_days=0.1,
        drain_seconds=15.0,
        shards=2,  # two fleet processes (houses 1 and 3 in one, 2 in the other): their figures add up
    )

    result = await bench_twin(options)

    stack = result["full_stack"]
    assert stack["all_connected"]
    assert stack["wall_seconds"] == pytest.approx(8.0, abs=1.0)
    assert stack["simulated_seconds"] == pytest.approx(20.0 * stack["wall_seconds"], rel=0.05)
    # 3 houses, a technical push every 5 simulated seconds: ~96 pushes in 160 simulated seconds.
    assert stack["meter_pushes_expected"] >= 3 * 150 / TECHNICAL_PUSH_S
    assert stack["meter_pushes_received"] >= 0.95 * stack["meter_pushes_expected"]
    # a push emitted just before the window opens may be read inside it (one in flight per meter at most: seen
    # 98 received for 96 emitted on a loaded machine)
    assert stack["meter_pushes_received"] <= stack["meter_pushes_emitted"] + options.houses
    assert stack["values_published"] >= stack["values_published_in_window"] > stack["meter_pushes_received"]
    assert stack["values_stored"] == stack["values_published"]
    assert stack["outbox_backlog_end"] == 0
    assert stack["drained"]
    assert stack["ingest_rejected"] == 0
    cpu = stack["cpu_seconds"]
    assert cpu["fleet"] > 0
    assert cpu["ingest"] > 0
    assert cpu["mosquitto"] >= 0
    assert cpu["total"] == pytest.approx(cpu["fleet"] + cpu["ingest"] + cpu["mosquitto"], abs=0.02)
    assert stack["houses_per_core_realtime"] == pytest.approx(3 * 20.0 / stack["cores_used"], rel=0.05)
    assert stack["kept_up"] is True
    assert result["kept_up"] is True

    detailed, territory = result["physics_detailed"], result["territory"]
    assert detailed["houses"] == 3
    assert detailed["house_days_per_s"] > 0
    assert stack["fleet_processes"] == 2
    assert territory["houses"] == 1000
    assert territory["house_days_per_s"] > detailed["house_days_per_s"]
    assert result["speedup_territory_vs_full_stack"] > 1
