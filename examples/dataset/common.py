"""What the DuckDB and Spark drivers of growth.sql share: arguments, the
dataset's partition folders and the CSV they print."""

import argparse
import csv
import pathlib
import re
import sys

SQL = pathlib.Path(__file__).with_name("growth.sql")


def arguments(engine):
    ap = argparse.ArgumentParser(
        description=f"Rank a service's growth by function in a heapframe dataset, with {engine}."
    )
    ap.add_argument("dataset", type=pathlib.Path, help="the folder heapframe export wrote")
    ap.add_argument("service", help="the service, as given to heapframe export")
    ap.add_argument("--kind", default="heap", help="snapshot kind (heap, allocs, goroutine)")
    ap.add_argument("--value", default="inuse_space", help="sample type to rank")
    ap.add_argument("--instance", help="only this instance's snapshots")
    ap.add_argument("--since", type=int, help="only snapshots at or after (Unix ms)")
    ap.add_argument("--until", type=int, help="only snapshots at or before (Unix ms)")
    a = ap.parse_args()
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", a.value):
        ap.error(f"--value: not a sample type name: {a.value!r}")
    return a


def partition_value(value):
    """The folder-name form heapframe gives a partition value: bytes outside
    A-Z a-z 0-9 . _ - (and a leading .) percent-encoded."""
    out = []
    for i, b in enumerate(value.encode("utf-8")):
        c = chr(b)
        plain = (c.isascii() and c.isalnum()) or c in "_-" or (c == "." and i > 0)
        out.append(c if plain else "%%%02X" % b)
    return "".join(out)


def parquet_files(folder):
    """The .parquet files under folder (hidden names, the writer's
    temporaries, left out), sorted."""
    if not folder.is_dir():
        return []
    return sorted(
        str(p)
        for p in folder.rglob("*.parquet")
        if not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def inputs(a):
    """The files of the three views: snapshots and samples of the service
    and kind, and all stacks."""
    service = "service=" + partition_value(a.service)
    snapshots = parquet_files(a.dataset / "snapshots" / service)
    samples = parquet_files(a.dataset / "samples" / service / ("kind=" + partition_value(a.kind)))
    stacks = parquet_files(a.dataset / "stacks")
    if not snapshots or not samples:
        sys.exit(f"{a.dataset}: no {a.kind} snapshots of service {a.service!r}")
    return snapshots, samples, stacks


def print_csv(rows):
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(["key", "first", "last", "delta", "slope_per_min"])
    for key, first, last, delta, slope in rows:
        w.writerow([key, int(first), int(last), int(delta), repr(float(slope))])
