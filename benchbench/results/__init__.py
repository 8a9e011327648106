"""The results layer: the store of runs, its schema, and queries over it."""
