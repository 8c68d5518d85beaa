"""How long one silver table's conform, dedupe and a count take on its whole bronze table, apart from the job's
other steps (streaming start, gate, MERGE): ``python -m benchmarks.conform_probe --lake-root ./lake --table orders``.

Builds the plans twice in one session — on the micro-batch of an availableNow stream (as ``brandlake silver``
does) and on a plain read — and prints seconds per step; the first round includes the JVM's warm-up. Writes
nothing to the lake (the stream's checkpoint is a temporary folder).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from brandlake.jobs.silver import platform_timezones
from brandlake.transforms.dedupe import with_dedupe_flags
from brandlake.transforms.silver.registry import SILVER_TABLES, ConformContext, published_schema

from brandlake.config import load_config
from brandlake.session import get_spark


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--lake-root", required=True)
    p.add_argument("--table", default="orders", choices=sorted(SILVER_TABLES))
    p.add_argument("--env", default="local")
    a = p.parse_args(argv)
    cfg = load_config(a.env, overrides={"lake": {"root": a.lake_root}})
    spark = get_spark(cfg.spark)
    spec = SILVER_TABLES[a.table]
    ctx = ConformContext(pii_key="probe", reporting_currency=cfg.silver.reporting_currency,
                         platform_timezones=platform_timezones(spark, cfg))
    bronze = f"{cfg.lake.bronze}/{spec.bronze}"

    def probe(label: str, batch) -> None:
        t0 = time.perf_counter()
        df = spec.conform(batch, ctx=ctx)
        t1 = time.perf_counter()
        if getattr(spec, "resolve", None) is not None:
            df = spec.resolve(df, existing=None, ctx=ctx)
        columns = [c for c in published_schema(spec).fieldNames() if c in df.columns]
        flagged = df.transform(with_dedupe_flags, keys=spec.keys, version_col=spec.version_col, columns=columns)
        t2 = time.perf_counter()
        n = flagged.count()
        t3 = time.perf_counter()
        print(f"{label:<12} conform plan {t1 - t0:5.2f} s  resolve+dedupe plan {t2 - t1:5.2f} s  "
              f"count {t3 - t2:5.2f} s  rows {n:,}", flush=True)

    with tempfile.TemporaryDirectory() as checkpoint:
        query = (spark.readStream.format("delta").load(bronze).writeStream
                 .foreachBatch(lambda batch, _: [probe(f"micro-batch{i}", batch) for i in (1, 2)])
                 .option("checkpointLocation", str(Path(checkpoint) / "probe")).trigger(availableNow=True).start())
        query.awaitTermination()
    for i in (1, 2):
        probe(f"plain read{i}", spark.read.format("delta").load(bronze))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
