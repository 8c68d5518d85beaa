"""spark-submit entry point: `spark-submit ... jobs/entry.py COMMAND [options]` runs one job."""

import sys

from brandlake.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
