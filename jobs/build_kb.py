"""`brandlake build-kb`: cluster new agent answers into the knowledge base, gold `cs_kb` (jobs/kb.py)."""

from brandlake.jobs.kb import build as run
from brandlake.jobs.kb import build_add_arguments as add_arguments

__all__ = ["add_arguments", "run"]
