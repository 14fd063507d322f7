"""The application's HTTP API client, against a mock transport (no sockets)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import httpx
import pytest

from goflex.cloudio.api_client import ApiClient, ApiError, ApiNotFound, HistoryPoint
from goflex.cloudio.model import Attribute, AttributePath, attr, endpoint, node, obj
from goflex.cloudio.model import AttributeType as T
from goflex.cloudio.model import Constraint as C  # noqa: N817 - the model's documented short alias

EP = "goflex-dc-004"
POWER = AttributePath(EP, "powerMeter-1", ("wattsTotal",), "datapoint")
DATA = {
    "name": EP,
    "online": True,
    "banned": False,
    "version": "v0.2",
    "messageFormatVersion": 2,
    "supportedFormats": ["JSON", "CBOR"],
    "nodes": {
        "powerMeter-1": {
            "implements": [],
            "objects": {
                "wattsTotal": {
                    "conforms": None,
                    "objects": {},
                    "attributes": {
                        "datapoint": {"constraint": "Measure", "type": "Number", "timestamp": 1.7e9, "value": 5.68}
                    },
                }
            },
        }
    },
}


def client(handler: httpx.MockTransport | None = None, **routes: object) -> tuple[ApiClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        for path, body in routes.items():
            if request.url.path == path.replace("__", "/"):
                if isinstance(body, int):
                    return httpx.Response(body, json={"detail": "no"})
                return httpx.Response(200, json=body)
        return httpx.Response(404, json={"detail": "not found"})

    transport = handler or httpx.MockTransport(answer)
    return ApiClient("https://goflex.test/", auth=("ems-1", "s3cret"), transport=transport), seen


async def test_endpoint_data_gives_the_model_with_last_values() -> None:
    api, seen = client(**{f"__api__v1__data__{EP}": DATA})
    data = await api.endpoint_data(EP)
    expected = endpoint(
        EP, {"powerMeter-1": node({"wattsTotal": obj(datapoint=attr(C.MEASURE, T.NUMBER, 5.68, timestamp=1.7e9))})}
    )
    assert data.model == expected
    assert (data.online, data.banned) == (True, False)
    # HTTP Basic credentials go in the header, never in the URL.
    user_pass = base64.b64decode(seen[0].headers["authorization"].split()[1]).decode()
    assert user_pass == "ems-1:s3cret"
    assert "s3cret" not in str(seen[0].url)
    await api.aclose()


async def test_attribute_and_a_value_not_known_yet() -> None:
    body = {"constraint": "Measure", "type": "Number", "timestamp": None, "value": None}
    api, _ = client(**{f"__api__v1__data__{EP}__powerMeter-1__wattsTotal__datapoint": body})
    assert await api.attribute(str(POWER)) == Attribute(C.MEASURE, T.NUMBER, None, None)
    await api.aclose()


async def test_history_sends_the_cloudio_query_and_reads_points() -> None:
    rows = [{"time": "2026-01-15T06:00:00Z", "value": 5.68}, {"time": "2026-01-15T06:15:00Z", "value": None}]
    api, seen = client(**{f"__api__v1__history__{EP}__powerMeter-1__wattsTotal__datapoint": rows})
    start = datetime(2026, 1, 15, 6, tzinfo=UTC)
    points = await api.history(
        POWER,
        start=start,
        end=datetime(2026, 1, 15, 7, tzinfo=UTC),
        resample_interval="15m",
        resample_function="MEAN",
        max_rows=10,
    )
    assert points == [HistoryPoint(start, 5.68), HistoryPoint(datetime(2026, 1, 15, 6, 15, tzinfo=UTC), None)]
    params = dict(seen[0].url.params)
    assert params == {
        "from": "2026-01-15T06:00:00Z",
        "to": "2026-01-15T07:00:00Z",
        "resampleInterval": "15m",
        "resampleFunction": "MEAN",
        "max": "10",
        "format": "json",
    }
    with pytest.raises(ValueError, match="naive"):
        await api.history(POWER, start=datetime(2026, 1, 15))  # noqa: DTZ001 - the point of the test
    await api.aclose()


async def test_put_value_asks_the_api_to_publish_set() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.method == "PUT"
        assert request.url.path == f"/api/v1/data/{EP}/gateway/relay1Control/parameter"
        assert request.url.params["value"] == "true"
        return httpx.Response(200, json={"path": "x", "value": True, "timestamp": 1.0})

    api, _ = client(httpx.MockTransport(answer))
    await api.put_value(f"{EP}/gateway/relay1Control/parameter", True)
    await api.aclose()


async def test_errors_are_translated_at_the_edge() -> None:
    api, _ = client(**{f"__api__v1__data__{EP}": 500, "__api__v1__data__hidden": 403})
    with pytest.raises(ApiNotFound):
        await api.endpoint_data("nobody")
    with pytest.raises(ApiNotFound):
        await api.endpoint_data("hidden")  # 403 and 404 look alike
    with pytest.raises(ApiError) as failed:
        await api.endpoint_data(EP)
    assert failed.value.status == 500
    await api.aclose()

    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    api, _ = client(httpx.MockTransport(unreachable))
    with pytest.raises(ApiError) as down:
        await api.endpoint_data(EP)
    assert down.value.status == 0
    await api.aclose()


async def test_a_malformed_answer_is_an_api_error() -> None:
    api, _ = client(**{f"__api__v1__data__{EP}": {"nodes": {"n": {"objects": {"o": {"attributes": {"a": 1}}}}}}})
    with pytest.raises(ApiError, match="malformed model"):
        await api.endpoint_data(EP)

    def not_json(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"<html>")

    api2, _ = client(httpx.MockTransport(not_json))
    with pytest.raises(ApiError, match="not JSON"):
        await api2.attribute(POWER)
    await api.aclose()
    await api2.aclose()
