"""GET and PUT /data: structure, last values, paths in both forms, and @set with typed values."""

from __future__ import annotations

import httpx
import pytest

from goflex.cloudio.model import AttributePath
from tests.unit.api.world import EP1, NOW, POWER, FakePublisher, auth


async def test_an_owner_sees_the_structure_with_the_last_values(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/api/v1/data/{EP1}", auth=auth("alice"))
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == EP1
    assert body["online"] is True
    assert body["messageFormatVersion"] == 2
    power = body["nodes"]["powerMeter-1"]["objects"]["wattsTotal"]["attributes"]["datapoint"]
    assert power["value"] == 1234.5
    assert power["constraint"] == "Measure"
    assert power["timestamp"] == pytest.approx(NOW.timestamp() - 60)


@pytest.mark.parametrize(
    "path", [POWER, "nodes/powerMeter-1/objects/wattsTotal/attributes/datapoint"], ids=["short", "long"]
)
async def test_an_attribute_is_found_by_short_and_long_path(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(f"/api/v1/data/{EP1}/{path}", auth=auth("carol"))
    assert response.status_code == 200
    assert response.json()["value"] == 1234.5


async def test_nodes_and_nested_objects_are_returned_as_subtrees(client: httpx.AsyncClient) -> None:
    node = (await client.get(f"/api/v1/data/{EP1}/gateway", auth=auth("carol"))).json()
    assert set(node["objects"]) == {"relay1State", "relay1Control", "boiler", "serial"}
    nested = (await client.get(f"/api/v1/data/{EP1}/gateway/boiler/setpoint", auth=auth("carol"))).json()
    assert nested["attributes"]["parameter"]["value"] == 55.0
    long_form = await client.get(
        f"/api/v1/data/{EP1}/nodes/gateway/objects/boiler/objects/setpoint", auth=auth("carol")
    )
    assert long_form.json() == nested


async def test_an_unknown_path_is_a_404_naming_it(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/api/v1/data/{EP1}/gateway/nothing", auth=auth("carol"))
    assert response.status_code == 404
    assert "gateway/nothing" in response.json()["detail"]


async def test_browse_is_not_enough_to_read_and_the_403_says_why(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/api/v1/data/{EP1}", auth=auth("dave"))
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert "READ" in response.json()["detail"]


@pytest.mark.parametrize(
    ("path", "text", "sent"),
    [
        ("gateway/relay1Control/parameter", "true", True),
        ("gateway/relay1Control/parameter", "0", False),
        ("gateway/boiler/mode", "eco", "eco"),
        ("gateway/boiler/cycles", "7", 7),
        ("gateway/boiler/setpoint/parameter", "60", 60.0),
        ("nodes/gateway/objects/boiler/objects/setpoint/attributes/parameter", "61.5", 61.5),
    ],
)
async def test_put_publishes_a_set_with_the_typed_value_and_now_as_timestamp(
    client: httpx.AsyncClient, publisher: FakePublisher, path: str, text: str, sent: object
) -> None:
    response = await client.put(f"/api/v1/data/{EP1}/{path}", params={"value": text}, auth=auth("alice"))
    assert response.status_code == 202, response.text
    assert len(publisher.calls) == 1
    attribute_path, attribute = publisher.calls[0]
    assert attribute_path == AttributePath.parse(f"{EP1}/{path}")
    assert attribute.value == sent
    assert type(attribute.value) is type(sent)
    assert attribute.timestamp == NOW.timestamp()
    assert response.json()["value"] == sent


@pytest.mark.parametrize(
    ("path", "text", "needle"),
    [
        ("gateway/relay1Control/parameter", "yes", "Boolean"),
        ("gateway/boiler/cycles", "7.5", "Integer"),
        ("gateway/boiler/setpoint/parameter", "warm", "Number"),
        ("gateway/boiler/setpoint/parameter", "nan", "finite"),
    ],
)
async def test_a_value_that_does_not_parse_is_a_422_naming_value_type_and_attribute(
    client: httpx.AsyncClient, publisher: FakePublisher, path: str, text: str, needle: str
) -> None:
    response = await client.put(f"/api/v1/data/{EP1}/{path}", params={"value": text}, auth=auth("alice"))
    assert response.status_code == 422
    body = response.json()
    assert body["field"] == "value"
    assert needle in body["detail"]
    assert path.rsplit("/", maxsplit=1)[-1] in body["detail"]
    assert publisher.calls == []


@pytest.mark.parametrize("path", [POWER, "gateway/relay1State/datapoint", "gateway/serial/datapoint"])
async def test_only_setpoints_and_parameters_can_be_written(
    client: httpx.AsyncClient, publisher: FakePublisher, path: str
) -> None:
    response = await client.put(f"/api/v1/data/{EP1}/{path}", params={"value": "1"}, auth=auth("alice"))
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "not_settable"
    assert path in body["detail"]
    assert "SetPoint" in body["detail"]
    assert publisher.calls == []


async def test_read_permission_cannot_write(client: httpx.AsyncClient, publisher: FakePublisher) -> None:
    response = await client.put(f"/api/v1/data/{EP1}/gateway/boiler/mode", params={"value": "eco"}, auth=auth("carol"))
    assert response.status_code == 403
    assert "WRITE" in response.json()["detail"]
    assert publisher.calls == []


async def test_a_put_without_value_names_the_missing_parameter(client: httpx.AsyncClient) -> None:
    response = await client.put(f"/api/v1/data/{EP1}/gateway/boiler/mode", auth=auth("alice"))
    assert response.status_code == 422
    assert response.json()["field"] == "value"
    assert "value" in response.json()["detail"]
