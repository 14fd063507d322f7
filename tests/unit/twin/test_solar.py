"""PV power: zero at night, bounded by the peak power, more in summer, orientation matters."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from goflex.twin.solar import PvFleet
from goflex.twin.weather import Weather

KWP = np.array([5.0, 0.0, 10.0, 8.0])
AZIMUTH = np.array([180.0, 180.0, 90.0, 270.0])
TILT = np.array([30.0, 30.0, 20.0, 45.0])


def _fleet(month: int) -> tuple[PvFleet, float]:
    start = datetime(2024, month, 1, tzinfo=UTC).timestamp()
    weather = Weather(start, start + 31 * 86400.0, seed=5)
    return PvFleet(weather, kwp=KWP, azimuth_deg=AZIMUTH, tilt_deg=TILT), start


def test_zero_at_night_bounded_by_kwp_and_zero_without_pv() -> None:
    pv, start = _fleet(6)
    times = start + np.arange(0, 30 * 86400.0, 600.0)
    power = np.array([pv.power_w(t) for t in times])
    utc_hour = (times / 3600.0) % 24
    assert np.all(power[(utc_hour < 2) | (utc_hour > 21)] == 0.0)  # Sion: sun below the horizon
    assert np.all(power <= KWP * 1000.0 + 1e-9)
    assert np.all(power >= 0.0)
    assert np.all(power[:, 1] == 0.0)
    # A 5 kWp array in June in Sion yields roughly 4-6 kWh/kWp per day.
    daily_kwh_per_kwp = power[:, 0].sum() * 600.0 / 3.6e6 / 30 / 5.0
    assert 3.0 < daily_kwh_per_kwp < 6.5


def test_summer_beats_winter_and_east_roofs_peak_in_the_morning() -> None:
    june, june_start = _fleet(6)
    december, dec_start = _fleet(12)
    june_e = sum(june.power_w(june_start + k * 900.0)[0] for k in range(96 * 28))
    dec_e = sum(december.power_w(dec_start + k * 900.0)[0] for k in range(96 * 28))
    assert june_e > 1.5 * dec_e
    times = june_start + np.arange(0, 28 * 86400.0, 900.0)
    power = np.array([june.power_w(t) for t in times])
    utc_hour = (times / 3600.0) % 24
    morning, evening = utc_hour < 10, utc_hour > 13
    assert power[morning, 2].sum() / power[:, 2].sum() > power[morning, 3].sum() / power[:, 3].sum()
    assert power[evening, 3].sum() > power[evening, 2].sum() * 8.0 / 10.0


def test_rejects_times_outside_the_window() -> None:
    pv, start = _fleet(3)
    with pytest.raises(ValueError, match="outside"):
        pv.power_w(start - 3600.0)
