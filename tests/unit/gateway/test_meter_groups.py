"""Smart-meter values to the pilot's attributes and units (seed Table 3, Appendix 4.1.4-4.1.6)."""

from __future__ import annotations

from goflex.gateway.datamodel import direct_control_model
from goflex.gateway.meter_groups import METER_SERIES, meter_values, push_key


def test_every_appendix_4_meter_object_has_a_push_key() -> None:
    model = direct_control_model("goflex-dc-004")
    published = {(s.node, s.obj) for s in METER_SERIES.values()}
    declared = {
        (node, obj)
        for node in ("SmartMeterTechnical", "SmartMeterEnergy", "SmartMeterBilling")
        for obj in model.nodes[node].objects
    }
    assert published == declared
    assert push_key("1.1.1.8.0.255") == "1-1:1.8.0"


def test_energy_in_kwh_and_kvarh_power_in_w_text_skipped() -> None:
    out = {
        (s.node, s.obj): v
        for s, v in meter_values(
            {
                "1-1:1.8.0": 482939,
                "1-1:5.8.0": 1500,
                "1-0:1.7.0": 28,
                "1-1:2.8.2": 7,
                "0-0:96.1.0": "x",
                "1-0:32.7.0": 230,
            }
        )
    }
    assert out == {
        ("SmartMeterEnergy", "obis_1_1_1_8_0_255_2"): 482.939,
        ("SmartMeterEnergy", "obis_1_1_5_8_0_255_2"): 1.5,
        ("SmartMeterTechnical", "obis_1_0_1_7_0_255_2"): 28.0,
        ("SmartMeterBilling", "obis_1_1_2_8_2_255_2"): 0.007,
    }
