#!/usr/bin/env python3
"""heapframe's growth ranking over an exported dataset, in Apache Spark.

    python3 growth_spark.py DATASET SERVICE [--kind heap] [--value inuse_space]
        [--instance I] [--since MS] [--until MS]  > growth.csv

Prints key,first,last,delta,slope_per_min as `heapframe growth --by function
--keep-profiler --format csv` computes them. Runs Spark in local mode
(`pip install pyspark`, Java 17 or later); on a cluster, submit it with
spark-submit and give the dataset's URL (s3a://..., hdfs://...) through
--master and your storage settings instead.
"""

import os

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

import common


def main():
    a = common.arguments("Spark")
    snapshot_files, sample_files, stack_files = common.inputs(a)
    spark = (
        SparkSession.builder.master(os.environ.get("SPARK_MASTER", "local[2]"))
        .appName("heapframe-growth")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    try:
        snaps = spark.read.parquet(*snapshot_files).where(F.col("kind") == a.kind)
        if a.instance is not None:
            snaps = snaps.where(F.col("instance") == a.instance)
        if a.since is not None:
            snaps = snaps.where(F.col("time_ms") >= a.since)
        if a.until is not None:
            snaps = snaps.where(F.col("time_ms") <= a.until)
        snaps.select("snapshot_id", "time_ms").createOrReplaceTempView("snapshots")
        spark.read.parquet(*sample_files).select(
            "snapshot_id", "stack_id", F.col(a.value).alias("value")
        ).createOrReplaceTempView("samples")
        spark.read.parquet(*stack_files).select(
            "stack_id", "depth", "function"
        ).createOrReplaceTempView("stacks")
        rows = spark.sql(common.SQL.read_text()).collect()
        common.print_csv([tuple(r) for r in rows])
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
