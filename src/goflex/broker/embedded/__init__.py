"""The embedded MQTT broker (work in progress: the packet codec)."""
