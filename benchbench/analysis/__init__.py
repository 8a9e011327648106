"""The analysis layer: tables, statistics and analyses computed from stored runs."""
