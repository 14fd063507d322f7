"""Base load: the year's energy equals the target, houses differ, holidays and determinism."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np

from goflex.twin.base_load import BaseLoad, h25_local_profile_kw, valais_holidays

START_S = datetime(2023, 1, 1, tzinfo=UTC).timestamp()
END_S = datetime(2024, 1, 1, tzinfo=UTC).timestamp()
TARGET_KWH = np.array([2500.0, 4000.0, 6000.0] * 40)


def _year_energy_kwh(load: BaseLoad) -> np.ndarray:
    energy = np.zeros(TARGET_KWH.size)
    for t in np.arange(START_S, END_S, 900.0):
        energy += load.power_w(t) * 0.25 / 1000.0
    return energy


def test_annual_energy_equals_the_scaled_target_and_houses_differ() -> None:
    load = BaseLoad(START_S, END_S + 86400.0, annual_kwh=TARGET_KWH, seed=3)
    energy = _year_energy_kwh(load)
    assert np.all(np.abs(energy / TARGET_KWH - 1.0) < 0.05)
    assert abs(energy.sum() / TARGET_KWH.sum() - 1.0) < 0.02
    evening = np.array([load.power_w(START_S + 40 * 86400.0 + 17 * 3600.0 + k * 900.0) for k in range(8)])
    assert len(np.unique(np.round(evening[:, 0::3].mean(axis=0)))) > 30  # same target, different habits


def test_valais_holidays_are_sundays_in_the_profile() -> None:
    assert date(2023, 3, 19) in valais_holidays(range(2023, 2024))  # Saint Joseph, a VS holiday
    assert date(2023, 11, 1) in valais_holidays(range(2023, 2024))  # All Saints
    assert date(2023, 11, 2) not in valais_holidays(range(2023, 2024))
    profile = h25_local_profile_kw(date(2023, 11, 1), 5).reshape(5, 96)
    wednesday_holiday, thursday, sunday = profile[0], profile[1], profile[4]
    assert np.allclose(wednesday_holiday, sunday, rtol=0.03)  # Sunday shape; dynamisation moves ~2 %
    assert not np.allclose(thursday, sunday, rtol=0.05)


def test_deterministic_for_a_seed_whatever_was_asked_before() -> None:
    a = BaseLoad(START_S, START_S + 10 * 86400.0, annual_kwh=TARGET_KWH, seed=9)
    b = BaseLoad(START_S, START_S + 10 * 86400.0, annual_kwh=TARGET_KWH, seed=9)
    t = START_S + 5 * 86400.0 + 3600.0
    a.power_w(START_S + 86400.0)
    assert np.array_equal(a.power_w(t), b.power_w(t))
    c = BaseLoad(START_S, START_S + 10 * 86400.0, annual_kwh=TARGET_KWH, seed=10)
    assert not np.array_equal(a.power_w(t), c.power_w(t))
