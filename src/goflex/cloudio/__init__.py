"""cloudio."""
