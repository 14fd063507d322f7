"""``goflex bench flex``: aggregation and disaggregation throughput, memory, compression vs flexibility loss.

Issue 4 section 5: 1 million FlexOffers aggregated and disaggregated in under 10 s each on one core. The offers
come from :func:`pilot_offers`, a generator shaped on the GOFLEX pilot (reference flexoffer.md section 2):
interruptions of water heaters and heat pumps, EV charging with an energy need (a binding total-energy
constraint), wet-device start delays and a few home batteries (both directions), with windows spread over a
day. Generation, schedule drawing and JSON are timed separately and not counted in the target.
"""

from __future__ import annotations

import gc
import resource
import sys
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from goflex.flex import EnergyConstraint, FlexOffer, FlexOfferState, ProfileSlice, Schedule, ScheduleSlice
from goflex.flex.aggregation import Aggregate, AggregationParameters, TecPolicy, aggregate_all, time_flexibility
from goflex.flex.disaggregation import disaggregate_many
from goflex.flex.json_codec import dumps, loads
from goflex.flex.offer_table import segment_sum
from goflex.flex.validation import validate_schedule

ORIGIN = datetime(2026, 1, 22, tzinfo=UTC)
STEP = timedelta(minutes=15)
EST_TOLERANCES = (0, 1, 4, 20)
TF_TOLERANCES = (0, 4)


@dataclass(frozen=True, slots=True)
class FlexBenchOptions:
    """What to measure.

    Attributes:
        sizes: numbers of offers to aggregate and disaggregate.
        tradeoff_size: offers in the compression / flexibility-loss table.
        max_members: most members per aggregate.
        seed: random seed of the generator.
        parse_json: also time writing and parsing the offers as FlexOffer JSON.
    """

    sizes: tuple[int, ...] = (10_000, 100_000, 1_000_000)
    tradeoff_size: int = 100_000
    max_members: int = 100
    seed: int = 1
    parse_json: bool = True


def _log(message: str) -> None:
    print(f"goflex bench flex: {message}", file=sys.stderr, flush=True)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB


def _current_rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as statm:  # Linux only, as ru_maxrss
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


class _Times:
    """Shared datetime objects per interval index (the generator's memory is not what is measured)."""

    def __init__(self) -> None:
        self._cache: dict[int, datetime] = {}

    def __call__(self, interval: int) -> datetime:
        moment = self._cache.get(interval)
        if moment is None:
            moment = self._cache[interval] = ORIGIN + interval * STEP
        return moment


def _slices(bounds: list[tuple[int, float, float]]) -> tuple[ProfileSlice, ...]:
    return tuple(ProfileSlice(d, d, (EnergyConstraint(lo, hi),)) for d, lo, hi in bounds)


def _kind_profile(kind: int, u: list[float]) -> tuple[list[tuple[int, float, float]], EnergyConstraint | None]:
    """Slices (duration, lower, upper) [intervals, kWh] and TEC of one device class; ``u``: 3 uniform draws."""
    if kind == 0:  # water heater 2-3 kW: interrupt up to 1-4 intervals, then a rebound slice
        e, n = round(0.5 + 0.25 * u[0], 3), 1 + int(4 * u[1])
        return [(1, 0.0, e)] * n + [(1, e, 2 * e)], None
    if kind == 1:  # heat pump 1.5-2 kW electric: interruption of 2-8 intervals with the rebound's energy
        e, n = round(0.35 + 0.15 * u[0], 3), 2 + int(7 * u[1])
        return [(2, 0.0, 2 * e)] * (n // 2) + [(1, 0.0, 2 * e)], EnergyConstraint(e * (n // 2), e * (n + 2))
    if kind == 2:  # EV 3.7 or 11 kW, 4-16 intervals, an energy need by the deadline (binding TEC)
        p, n = (0.925 if u[2] < 0.6 else 2.75), 4 + int(13 * u[1])
        need = round((0.3 + 0.6 * u[0]) * p * n, 2)
        return [(1, 0.0, p)] * n, EnergyConstraint(max(0.0, need - 1.0), need)
    if kind == 3:  # wet device: a fixed 1-2 h cycle, start delayed
        n = 2 + int(3 * u[1])
        return [(2, round(0.2 + 0.4 * u[0], 3), round(0.6 + 0.3 * u[2], 3))] * n, None
    # home battery 3 kWh, +-0.75 kWh per interval, net 0 +-0.5 kWh over 4-8 intervals (both directions)
    return [(1, -0.75, 0.75)] * (4 + int(5 * u[1])), EnergyConstraint(-0.5, 0.5)


KIND_SHARES = (0.45, 0.2, 0.15, 0.12, 0.08)
"""Water heaters, heat pumps, EVs, wet devices, batteries (the Swiss pilot was mostly water heaters)."""


def pilot_offers(n: int, seed: int = 1) -> list[FlexOffer]:
    """``n`` valid pilot-like offers over one day (see the module docstring), ids ``fo-<i>`` in random order."""
    rng = np.random.default_rng(seed)
    times = _Times()
    kinds = rng.choice(len(KIND_SHARES), size=n, p=KIND_SHARES).tolist()
    ests = rng.integers(8, 88, size=n).tolist()  # 02:00 .. 22:00
    tfs = rng.integers(0, 9, size=n).tolist()
    ev_tfs = rng.integers(0, 33, size=n).tolist()  # EVs parked for hours
    owners = rng.integers(0, max(1, n // 3), size=n).tolist()
    ids = rng.permutation(n).tolist()
    draws = rng.random((n, 3)).tolist()
    offers = []
    for i in range(n):
        bounds, tec = _kind_profile(kinds[i], draws[i])
        est, tf = ests[i], ev_tfs[i] if kinds[i] == 2 else tfs[i]
        offers.append(
            FlexOffer(
                id=f"fo-{ids[i]:08d}",
                state=FlexOfferState.OFFERED,
                offered_by_id=f"house-{owners[i]}",
                creation_time=times(est - 8),
                accept_before_time=times(est - 6),
                assignment_before_time=times(est - 4),
                start_after_time=times(est),
                start_before_time=times(est + tf),
                profile=_slices(bounds),
                total_energy_constraint=tec,
                default_schedule=Schedule(times(est), tuple(ScheduleSlice(d, hi) for d, _, hi in bounds)),
            )
        )
    return offers


def midpoint_schedule(agg: Aggregate) -> Schedule:
    """A valid schedule of an aggregate: start in the middle of its window, every interval at its midpoint."""
    offer = agg.offer
    tf = time_flexibility(offer)
    amounts = [(s.energy_constraints[0].lower + s.energy_constraints[0].upper) / 2 for s in offer.profile]
    return Schedule(offer.start_after_time + (tf // 2) * STEP, tuple(ScheduleSlice(1, a) for a in amounts))


def _timed(label: str, size: int, work: Any) -> tuple[Any, float, float]:
    """Run ``work``; its result, wall-clock seconds and CPU seconds of this process.

    CPU seconds are what "on one core" means when other processes share the machine (the wall clock then
    also counts the time the scheduler gave to them); both are reported.
    """
    gc.collect()
    started, cpu_started = time.perf_counter(), time.process_time()
    result = work()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    _log(f"{size}: {label} {seconds:.2f} s ({cpu:.2f} s CPU)")
    return result, seconds, cpu


def _params(options: FlexBenchOptions, est: int = 20, tf: int = 0, policy: TecPolicy = TecPolicy.BOX) -> Any:
    return AggregationParameters(
        ORIGIN, est_tolerance=est, tf_tolerance=tf, max_members=options.max_members, tec_policy=policy
    )


def _sum_error(result: Any, items: list[tuple[Aggregate, Schedule]]) -> float:
    """Largest |sum of member amounts - aggregate amount| over every aggregate interval [kWh]."""
    table = result.table
    row = table.interval_offer
    owner = np.repeat(np.arange(len(items)), [len(a.members) for a, _ in items])
    lengths = np.array([len(s.slices) for _, s in items])
    first = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    offsets = np.array([o for a, _ in items for o in a.offsets])
    position = first[owner][row] + offsets[row] + (np.arange(row.size) - table.first[row])
    amounts = np.array([x.energy_amount for _, s in items for x in s.slices])
    return float(np.abs(segment_sum(position, result.interval_amounts, amounts.size) - amounts).max())


def _disaggregation(offers: list[FlexOffer], aggregates: tuple[Aggregate, ...], n: int) -> dict[str, Any]:
    items, sched_s, _ = _timed("schedules drawn", n, lambda: [(a, midpoint_schedule(a)) for a in aggregates])
    result, dis_s, dis_cpu = _timed("disaggregated (columns)", n, lambda: disaggregate_many(items))
    cold_items = [(replace(a, columns=None), s) for a, s in items]
    _, cold_s, cold_cpu = _timed("disaggregated (members read again)", n, lambda: disaggregate_many(cold_items))
    schedules, mat_s, mat_cpu = _timed("member Schedule objects", n, result.schedules)
    by_id = {o.id: o for o in offers}
    sample = list(schedules.items())[:: max(1, len(schedules) // 1000)]
    invalid = sum(1 for member_id, s in sample if validate_schedule(by_id[member_id], s))
    return {
        "seconds": round(dis_s, 3),
        "cpuSeconds": round(dis_cpu, 3),
        "offersPerSecond": round(len(schedules) / dis_s),
        "offersPerCpuSecond": round(len(schedules) / dis_cpu),
        "secondsFromAggregatesWithoutColumns": round(cold_s, 3),
        "cpuSecondsFromAggregatesWithoutColumns": round(cold_cpu, 3),
        "scheduleObjectsSeconds": round(mat_s, 3),
        "scheduleObjectsCpuSeconds": round(mat_cpu, 3),
        "offersPerSecondWithScheduleObjects": round(len(schedules) / (dis_s + mat_s)),
        "lpRepairs": result.repaired,
        "maxSumErrorKwh": _sum_error(result, items),
        "sampledMemberSchedules": len(sample),
        "invalidSampledMemberSchedules": invalid,
        "scheduleDrawingSeconds": round(sched_s, 3),
    }


def _json_figures(offers: list[FlexOffer], n: int) -> dict[str, Any]:
    text, dump_s, _ = _timed("JSON written", n, lambda: dumps(offers))
    parsed, parse_s, parse_cpu = _timed("JSON parsed", n, lambda: loads(text))
    return {
        "megabytes": round(len(text) / 2**20, 1),
        "writeSeconds": round(dump_s, 3),
        "parseSeconds": round(parse_s, 3),
        "parseCpuSeconds": round(parse_cpu, 3),
        "offersPerSecondParsed": round(len(parsed) / parse_s),
    }


def _one_size(options: FlexBenchOptions, n: int) -> dict[str, Any]:
    offers, gen_s, _ = _timed("generated", n, lambda: pilot_offers(n, options.seed))
    # Long-lived offers out of the collector's way, as a service holding its portfolio would do (gc.freeze):
    # otherwise every full collection triggered by the objects built below walks the million offers again.
    gc.freeze()
    rss_offers = _current_rss_mb()
    aggregator, agg_s, agg_cpu = _timed("aggregated", n, lambda: aggregate_all(offers, _params(options)))
    rss_aggregated = _peak_rss_mb()
    aggregates = aggregator.aggregates()
    groups = len(aggregates) + len(aggregator.singles())
    row: dict[str, Any] = {
        "offers": n,
        "generationSeconds": round(gen_s, 3),
        "aggregation": {
            "seconds": round(agg_s, 3),
            "cpuSeconds": round(agg_cpu, 3),
            "offersPerSecond": round(n / agg_s),
            "offersPerCpuSecond": round(n / agg_cpu),
            "aggregates": len(aggregates),
            "singles": len(aggregator.singles()),
            "compressionRatio": round(n / groups, 2),
        },
        "disaggregation": _disaggregation(offers, aggregates, n),
        "memory": {
            "rssWithOffersMb": round(rss_offers, 1),
            "peakRssAfterAggregationMb": round(rss_aggregated, 1),
            "peakRssAfterDisaggregationMb": round(_peak_rss_mb(), 1),
        },
    }
    if options.parse_json:
        row["json"] = _json_figures(offers, n)
    gc.unfreeze()  # the offers go with this frame
    return row


def _tradeoff(options: FlexBenchOptions) -> dict[str, Any]:
    offers = pilot_offers(options.tradeoff_size, options.seed)
    total_tf = sum(time_flexibility(o) for o in offers)
    rows = []
    for tf_tol in TF_TOLERANCES:
        for est_tol in EST_TOLERANCES:
            aggregator = aggregate_all(offers, _params(options, est_tol, tf_tol))
            aggregates = aggregator.aggregates()
            kept = sum(time_flexibility(a.offer) * len(a.members) for a in aggregates)
            kept += sum(time_flexibility(o) for o in aggregator.singles())
            rows.append(
                {
                    "estTolerance": est_tol,
                    "tfTolerance": tf_tol,
                    "aggregates": len(aggregates) + len(aggregator.singles()),
                    "compressionRatio": round(len(offers) / (len(aggregates) + len(aggregator.singles())), 2),
                    # Start choices members lose: sum (tf(f) - tf(a)), as a share of their own.
                    "timeFlexibilityLostIntervals": total_tf - kept,
                    "timeFlexibilityLostShare": round((total_tf - kept) / total_tf, 4) if total_tf else 0.0,
                }
            )
            _log(f"tradeoff est {est_tol} tf {tf_tol}: ratio {rows[-1]['compressionRatio']}")
    policies = {}
    for policy in TecPolicy:
        aggregator = aggregate_all(offers, _params(options, policy=policy))
        groups = len(aggregator.aggregates()) + len(aggregator.singles())
        policies[policy.value] = {"aggregates": groups, "compressionRatio": round(len(offers) / groups, 2)}
    return {"offers": len(offers), "grid": rows, "tecPolicyAtEst20Tf0": policies}


def bench_flex(options: FlexBenchOptions) -> dict[str, Any]:
    """Run the benchmark; the JSON-ready figures (see the module docstring)."""
    sizes = [_one_size(options, n) for n in options.sizes]
    return {
        "benchmark": "flex",
        "parameters": {
            "estTolerance": 20,
            "tfTolerance": 0,
            "maxMembers": options.max_members,
            "tecPolicy": TecPolicy.BOX.value,
            "seed": options.seed,
            "gcFrozenAfterGeneration": True,
            "kindShares": dict(
                zip(("waterHeater", "heatPump", "ev", "wetDevice", "battery"), KIND_SHARES, strict=True)
            ),
        },
        "sizes": sizes,
        "tradeoff": _tradeoff(options),
        "targetSecondsPerMillion": 10,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "measuredAt": datetime.now(UTC).isoformat(),
    }
