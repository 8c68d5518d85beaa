"""`brandlake train-returns`: train, measure, register and validate the return-risk models (jobs/returns.py)."""

from brandlake.jobs.returns import add_arguments
from brandlake.jobs.returns import train as run

__all__ = ["add_arguments", "run"]
