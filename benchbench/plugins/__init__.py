"""The plugin machinery: hooks, registries, the manager, and the built-in plugins."""
