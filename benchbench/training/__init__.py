"""The training layer: devices, the loop, optimization, resume points."""
