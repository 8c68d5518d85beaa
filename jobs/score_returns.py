"""`brandlake score-returns`: score open order lines with the champion return-risk models into gold
`return_risk` (jobs/returns.py)."""

from brandlake.jobs.returns import add_arguments
from brandlake.jobs.returns import score as run

__all__ = ["add_arguments", "run"]
