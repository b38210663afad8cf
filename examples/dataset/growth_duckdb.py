#!/usr/bin/env python3
"""heapframe's growth ranking over an exported dataset, in DuckDB.

    python3 growth_duckdb.py DATASET SERVICE [--kind heap] [--value inuse_space]
        [--instance I] [--since MS] [--until MS]  > growth.csv

Prints key,first,last,delta,slope_per_min as `heapframe growth --by function
--keep-profiler --format csv` computes them. Needs `pip install duckdb`.
"""

import duckdb
from duckdb import ColumnExpression as col
from duckdb import ConstantExpression as const

import common


def main():
    a = common.arguments("DuckDB")
    snapshot_files, sample_files, stack_files = common.inputs(a)
    con = duckdb.connect()
    snaps = con.read_parquet(snapshot_files, hive_partitioning=False)
    snaps = snaps.filter(col("kind") == const(a.kind))
    if a.instance is not None:
        snaps = snaps.filter(col("instance") == const(a.instance))
    if a.since is not None:
        snaps = snaps.filter(col("time_ms") >= const(a.since))
    if a.until is not None:
        snaps = snaps.filter(col("time_ms") <= const(a.until))
    snaps.select(col("snapshot_id"), col("time_ms")).create_view("snapshots")
    con.read_parquet(sample_files, hive_partitioning=False).select(
        col("snapshot_id"), col("stack_id"), col(a.value).alias("value")
    ).create_view("samples")
    con.read_parquet(stack_files, hive_partitioning=False).select(
        col("stack_id"), col("depth"), col("function")
    ).create_view("stacks")
    common.print_csv(con.sql(common.SQL.read_text()).fetchall())


if __name__ == "__main__":
    main()
