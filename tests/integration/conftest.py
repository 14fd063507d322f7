"""Integration fixtures: the Mosquitto fixtures come from tests/fixtures_mosquitto.py (shared with tests/fault)."""
