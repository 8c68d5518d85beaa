"""GX validation results from the gate's counts, and Great Expectations Data Docs built from them.

The gate counts in one Spark pass; here each count becomes an ExpectationValidationResult of the
suite's own expectation, so GX renders the HTML site exactly as for its own validations.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from pathlib import Path

import great_expectations as gx
from brandlake.expectations.gate import RuleResult
from great_expectations.core import (
    ExpectationSuite,
    ExpectationSuiteValidationResult,
    ExpectationValidationResult,
)
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.resource_identifiers import (
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)

log = logging.getLogger(__name__)


def validation_result(
    suite: ExpectationSuite, results: Sequence[RuleResult], *, run_name: str, evaluated_at: dt.datetime
) -> ExpectationSuiteValidationResult:
    by_rule = {r.rule: r for r in results}
    evrs = []
    for e in suite.expectations:
        r = by_rule[e.meta["rule"]]
        pct = 100.0 * r.unexpected_count / r.checked_count if r.checked_count else 0.0
        evrs.append(ExpectationValidationResult(
            success=r.passed,
            expectation_config=e.configuration,
            result={
                "element_count": r.checked_count,
                "unexpected_count": r.unexpected_count,
                "unexpected_percent": pct,
                "missing_count": 0,
            },
            meta={"severity": r.severity},
        ))
    ok = sum(1 for v in evrs if v.success)
    asset = suite.name
    return ExpectationSuiteValidationResult(
        success=ok == len(evrs),
        results=evrs,
        suite_name=suite.name,
        statistics={
            "evaluated_expectations": len(evrs),
            "successful_expectations": ok,
            "unsuccessful_expectations": len(evrs) - ok,
            "success_percent": 100.0 * ok / len(evrs) if evrs else 100.0,
        },
        meta={
            "run_id": RunIdentifier(run_name=run_name, run_time=evaluated_at),
            "batch_spec": {"data_asset_name": asset},
            "active_batch_definition": {"data_asset_name": asset},
            "validation_time": evaluated_at.isoformat(),
        },
    )


def build_data_docs(
    validations: Sequence[tuple[ExpectationSuite, ExpectationSuiteValidationResult]], target_dir: str
) -> str:
    """Render suites and their validation results into a static GX Data Docs site; returns index.html.

    ``target_dir`` may be relative (the default lake is ``./lake``): GX needs an absolute base directory."""
    target_dir = str(Path(target_dir).resolve())
    Path(target_dir).mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="ephemeral")
    context.add_data_docs_site(
        site_name="brandlake",
        site_config={
            "class_name": "SiteBuilder",
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": target_dir},
        },
    )
    for suite, result in validations:
        context.suites.add_or_update(suite)
        key = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite.name),
            run_id=result.meta["run_id"],
            batch_identifier=suite.name,
        )
        context.validation_results_store.set(key, result)
    sites = context.build_data_docs(site_names=["brandlake"])
    log.info("data docs: %s", sites["brandlake"])
    return sites["brandlake"]
