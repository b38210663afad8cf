-- heapframe's growth ranking (`heapframe growth --by function
-- --keep-profiler`), in SQL that DuckDB and Spark both run.
--
-- Over three views the driver defines (growth_duckdb.py, growth_spark.py):
--   snapshots(snapshot_id, time_ms)   the snapshots to rank, already chosen
--                                     (one service, one kind, optionally one
--                                     instance and a time range);
--   samples(snapshot_id, stack_id, value)   their samples, `value` being the
--                                     sample type ranked (e.g. inuse_space);
--   stacks(stack_id, depth, function) the dataset's stacks.
--
-- A key is the function of a stack's innermost frame (depth 0), as pprof's
-- flat column counts it. Its value in a snapshot is the sum over the
-- snapshot's samples (0 when it has none there), and keys that are 0 in
-- every snapshot are left out; first and last are the
-- values in the earliest and latest snapshot, delta is last - first and
-- slope_per_min the least-squares slope over minutes since the earliest.
WITH snaps AS (
    SELECT snapshot_id, time_ms FROM snapshots
),
start AS (
    SELECT min(time_ms) AS t0 FROM snaps
),
leaf AS (
    SELECT stack_id, function AS key FROM stacks WHERE depth = 0
),
per_snapshot AS (
    SELECT s.snapshot_id, l.key, sum(s.value) AS v
    FROM samples s
    JOIN leaf l ON s.stack_id = l.stack_id
    WHERE s.snapshot_id IN (SELECT snapshot_id FROM snaps)
    GROUP BY s.snapshot_id, l.key
),
keys AS (
    SELECT DISTINCT key FROM per_snapshot WHERE v <> 0
),
grid AS (
    SELECT k.key,
           CAST(n.time_ms - st.t0 AS DOUBLE) / 60000 AS minutes,
           coalesce(p.v, 0) AS v
    FROM keys k
    CROSS JOIN snaps n
    CROSS JOIN start st
    LEFT JOIN per_snapshot p ON p.key = k.key AND p.snapshot_id = n.snapshot_id
)
SELECT key,
       min_by(v, minutes) AS first,
       max_by(v, minutes) AS last,
       max_by(v, minutes) - min_by(v, minutes) AS delta,
       coalesce(regr_slope(v, minutes), 0) AS slope_per_min
FROM grid
GROUP BY key
ORDER BY delta DESC, key
