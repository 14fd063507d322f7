"""goflex: harvest prosumer flexibility for a DSO (the GOFLEX Swiss pilot)."""

__version__ = "0.1.0"
