"""FMAN migration scripts."""
