"""GET /history on SQLite: raw and resampled values, JSON and CSV, truncation and parameter errors.

The seeded series is one value every 5 min from NOW-2h to NOW-5min, the value being the minute offset (0..115).
"""

from __future__ import annotations

import csv
import io

import httpx
import pytest

from tests.unit.api.world import EP1, POWER, auth

URL = f"/api/v1/history/{EP1}/{POWER}"
WINDOW = {"from": "2026-03-01T10:00:00Z", "to": "2026-03-01T12:00:00Z"}


async def test_raw_history_is_a_json_list_of_time_and_value(client: httpx.AsyncClient) -> None:
    response = await client.get(URL, params=WINDOW, auth=auth("carol"))
    assert response.status_code == 200
    points = response.json()
    assert len(points) == 24
    assert points[0] == {"time": "2026-03-01T10:00:00Z", "value": 0.0}
    assert points[-1] == {"time": "2026-03-01T11:55:00Z", "value": 115.0}
    assert response.headers["x-goflex-truncated"] == "false"


async def test_the_long_path_form_reads_the_same_series(client: httpx.AsyncClient) -> None:
    long_url = f"/api/v1/history/{EP1}/nodes/powerMeter-1/objects/wattsTotal/attributes/datapoint"
    short = (await client.get(URL, params=WINDOW, auth=auth("carol"))).json()
    assert (await client.get(long_url, params=WINDOW, auth=auth("carol"))).json() == short


async def test_resampling_to_30_minutes_with_mean_and_max(client: httpx.AsyncClient) -> None:
    mean = await client.get(URL, params={**WINDOW, "resampleInterval": "30m"}, auth=auth("carol"))
    assert [p["value"] for p in mean.json()] == [12.5, 42.5, 72.5, 102.5]
    assert mean.json()[1]["time"] == "2026-03-01T10:30:00Z"
    top = await client.get(
        URL, params={**WINDOW, "resampleInterval": "1h", "resampleFunction": "max"}, auth=auth("carol")
    )
    assert [p["value"] for p in top.json()] == [55.0, 115.0]


async def test_fill_value_closes_empty_buckets(client: httpx.AsyncClient) -> None:
    params = {"from": "2026-03-01T09:00:00Z", "to": "2026-03-01T12:00:00Z", "resampleInterval": "1h"}
    response = await client.get(URL, params={**params, "fillValue": "-1"}, auth=auth("carol"))
    assert [p["value"] for p in response.json()] == [-1.0, 27.5, 87.5]


async def test_csv_by_accept_header_or_format_parameter(client: httpx.AsyncClient) -> None:
    by_header = await client.get(URL, params=WINDOW, headers={"Accept": "text/csv"}, auth=auth("carol"))
    by_param = await client.get(URL, params={**WINDOW, "format": "csv"}, auth=auth("carol"))
    assert by_header.headers["content-type"].startswith("text/csv")
    assert by_header.text == by_param.text
    rows = list(csv.reader(io.StringIO(by_header.text)))
    assert rows[0] == ["time", "value"]
    assert rows[1] == ["2026-03-01T10:00:00Z", "0.0"]
    assert len(rows) == 25


async def test_max_truncates_and_says_so(client: httpx.AsyncClient) -> None:
    response = await client.get(URL, params={**WINDOW, "max": "5"}, auth=auth("carol"))
    assert len(response.json()) == 5
    assert response.headers["x-goflex-truncated"] == "true"
    assert response.headers["x-goflex-max"] == "5"


async def test_max_is_capped_by_the_server_limit(client: httpx.AsyncClient) -> None:
    # The app fixture is built with history_max=50.
    response = await client.get(URL, params={**WINDOW, "max": "100000"}, auth=auth("carol"))
    assert response.headers["x-goflex-max"] == "50"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-03-01T10:00:00"}, "from"),
        ({"from": "soon"}, "from"),
        ({"from": "2026-03-01T12:00:00Z", "to": "2026-03-01T10:00:00Z"}, "from"),
        ({"resampleInterval": "fortnight"}, "resampleInterval"),
        ({"resampleInterval": "15m", "resampleFunction": "MEDIAN"}, "resampleFunction"),
        ({"fillValue": "0"}, "fillValue"),
        ({"max": "0"}, "max"),
    ],
)
async def test_bad_parameters_are_a_422_naming_the_parameter(
    client: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    response = await client.get(URL, params=params, auth=auth("carol"))
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert field in response.json()["detail"]


async def test_an_attribute_without_history_gives_an_empty_list(client: httpx.AsyncClient) -> None:
    response = await client.get(
        f"/api/v1/history/{EP1}/gateway/relay1State/datapoint", params=WINDOW, auth=auth("carol")
    )
    assert response.status_code == 200
    assert response.json() == []


async def test_browse_is_not_enough_for_history(client: httpx.AsyncClient) -> None:
    assert (await client.get(URL, params=WINDOW, auth=auth("dave"))).status_code == 403
