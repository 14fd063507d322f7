"""The Direct Control gateway (seed 3.2.5.6): what runs on the Raspberry Pi in each house.

For now this part holds the pilot's exact cloud.iO data model (seed Appendix 4, Table 6); the gateway program
with its drivers arrives with its own issue.
"""

from goflex.gateway.datamodel import (
    BILLING_OBIS,
    ENERGY_OBIS,
    TECHNICAL_OBIS,
    HouseDevices,
    direct_control_model,
    endpoint_name,
    obis_object_name,
)

__all__ = [
    "BILLING_OBIS",
    "ENERGY_OBIS",
    "TECHNICAL_OBIS",
    "HouseDevices",
    "direct_control_model",
    "endpoint_name",
    "obis_object_name",
]
