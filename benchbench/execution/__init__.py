"""The execution layer: one run against the store, suites, sweeps and executors."""
