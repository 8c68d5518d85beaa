# The two commands of the README: `make pipeline` and `make test`. Each sets up what it needs.
VENV ?= .venv
ENV ?= local
SCALE ?=
# test processes (pytest-xdist), each with one Spark session; a test file stays in one process
TEST_WORKERS ?= 2

.PHONY: setup pipeline test lint bench clean

setup:
	@bash scripts/bootstrap.sh

pipeline: setup
	@$(VENV)/bin/brandlake pipeline --env $(ENV) $(if $(SCALE),--scale $(SCALE),)

test: setup
	@bash scripts/setup_browser.sh
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/python -m pytest -n $(TEST_WORKERS) --dist loadfile

bench: setup
	@$(VENV)/bin/python benchmarks/run.py

clean:
	rm -rf lake spark-warehouse metastore_db derby.log .pytest_cache
