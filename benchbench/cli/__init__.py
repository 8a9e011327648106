"""The ``bench`` command line: one module per command group, wired in :mod:`.app`."""
