"""brandlake runtime: configuration, Spark sessions, Delta I/O, run summaries and the CLI."""

__version__ = "0.1.0"
