"""A Direct Control house model after the seed's Appendix 4 (names exact), shared by the cloudio tests."""

from __future__ import annotations

import pytest

from goflex.cloudio import AttributeType, Constraint, EndpointModel, attr, endpoint, node, obj

C, T = Constraint, AttributeType


def dc_house(name: str = "goflex-dc-004") -> EndpointModel:
    """A gateway with a Z-Wave power meter, the smart meter's energy group and the two relays."""
    measure = attr(C.MEASURE, T.NUMBER)
    return endpoint(
        name,
        {
            "powerMeter-1": node({o: obj(datapoint=measure) for o in ("kWhTotal", "wattsTotal", "wattsClamp1")}),
            "SmartMeterEnergy": node({"obis_1_1_1_8_0_255_2": obj(datapoint=measure)}),
            "gateway": node(
                {
                    "relay1State": obj(datapoint=attr(C.STATUS, T.BOOLEAN)),
                    "relay1Control": obj(parameter=attr(C.PARAMETER, T.BOOLEAN, True)),
                    "relay2Control": obj(parameter=attr(C.PARAMETER, T.BOOLEAN, True)),
                    "firmware": obj(version=attr(C.STATIC, T.STRING, "1.4.2"), build=attr(C.STATIC, T.INTEGER, 77)),
                }
            ),
        },
    )


@pytest.fixture
def house() -> EndpointModel:
    return dc_house()
