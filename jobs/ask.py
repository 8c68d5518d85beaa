"""`brandlake ask "QUESTION" [--order ID] [--language L]`: intent, answer and confidence, or a hand-off
(jobs/kb.py)."""

from brandlake.jobs.kb import ask as run
from brandlake.jobs.kb import ask_add_arguments as add_arguments

__all__ = ["add_arguments", "run"]
