//! The exported dataset, read as is by existing engines: the growth ranking
//! of examples/dataset/growth.sql in DuckDB and in Apache Spark (local mode)
//! agrees with `heapframe growth` on the same snapshots.
//!
//! Python with `duckdb` and `pyspark` (and Java for Spark): the interpreter
//! named by `HEAPFRAME_ENGINES_PYTHON`, else `python3`. Without them the
//! tests say so and pass, except under `CI=true`, where they fail
//! (`.ci/run` installs them).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use polars::prelude::*;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn python() -> String {
    std::env::var("HEAPFRAME_ENGINES_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Whether `module` imports; when not, fails under CI and skips elsewhere.
fn have(module: &str) -> bool {
    let ok = Command::new(python())
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        let msg = format!(
            "{} cannot import {module}: install it (pip install {module}) or set HEAPFRAME_ENGINES_PYTHON",
            python()
        );
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{msg}");
        eprintln!("skipped: {msg}");
    }
    ok
}

/// A dataset holding the mapcache incident as service `leakysvc` and the
/// lru incident as another service (which the queries must leave out).
fn dataset(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("heapframe-engines-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (bundle, service) in [("mapcache", "leakysvc"), ("lru", "other svc")] {
        let o = Command::new(env!("CARGO_BIN_EXE_heapframe"))
            .arg("export")
            .arg(root().join("tests/fixtures/bundles").join(bundle))
            .args(["--service", service, "--out"])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    dir
}

/// key -> (first, last, delta, slope_per_min) of a growth CSV.
fn ranking(csv: &[u8]) -> BTreeMap<String, (i64, i64, i64, f64)> {
    let df = CsvReader::new(std::io::Cursor::new(csv.to_vec()))
        .finish()
        .unwrap();
    let col = |n: &str| df.column(n).unwrap().cast(&DataType::Int64).unwrap();
    let key = df.column("key").unwrap().str().unwrap().clone();
    let (first, last, delta) = (col("first"), col("last"), col("delta"));
    let slope = df
        .column("slope_per_min")
        .unwrap()
        .cast(&DataType::Float64)
        .unwrap();
    (0..df.height())
        .map(|i| {
            (
                key.get(i).unwrap().to_string(),
                (
                    first.i64().unwrap().get(i).unwrap(),
                    last.i64().unwrap().get(i).unwrap(),
                    delta.i64().unwrap().get(i).unwrap(),
                    slope.f64().unwrap().get(i).unwrap(),
                ),
            )
        })
        .collect()
}

fn heapframe_growth() -> BTreeMap<String, (i64, i64, i64, f64)> {
    let o = Command::new(env!("CARGO_BIN_EXE_heapframe"))
        .arg("growth")
        .arg(root().join("tests/fixtures/bundles/mapcache"))
        .args(["--by", "function", "--keep-profiler", "--format", "csv"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    ranking(&o.stdout)
}

fn engine_growth(
    script: &str,
    ds: &Path,
    extra: &[&str],
) -> BTreeMap<String, (i64, i64, i64, f64)> {
    let o = Command::new(python())
        .arg(root().join("examples/dataset").join(script))
        .arg(ds)
        .arg("leakysvc")
        .args(extra)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    ranking(&o.stdout)
}

fn assert_agree(engine: &str, got: &BTreeMap<String, (i64, i64, i64, f64)>) {
    let want = heapframe_growth();
    assert!(want.len() > 5, "{want:?}");
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "{engine}: other keys than heapframe's"
    );
    for (k, w) in &want {
        let g = &got[k];
        assert_eq!((g.0, g.1, g.2), (w.0, w.1, w.2), "{engine}: {k}");
        let tol = 1e-9 * w.3.abs().max(1.0);
        assert!(
            (g.3 - w.3).abs() <= tol,
            "{engine}: {k}: slope {} vs {}",
            g.3,
            w.3
        );
    }
}

#[test]
fn duckdb_ranks_growth_as_heapframe_does() {
    if !have("duckdb") {
        return;
    }
    let ds = dataset("duckdb");
    let got = engine_growth("growth_duckdb.py", &ds, &[]);
    assert_agree("DuckDB", &got);
    // The instance filter keeps the same snapshots (one instance).
    let inst = "127.0.0.1:40903";
    assert_agree(
        "DuckDB --instance",
        &engine_growth("growth_duckdb.py", &ds, &["--instance", inst]),
    );
    // Another instance has no snapshots: no keys.
    assert!(engine_growth("growth_duckdb.py", &ds, &["--instance", "10.0.0.9:6060"]).is_empty());
    let _ = std::fs::remove_dir_all(&ds);
}

#[test]
fn spark_ranks_growth_as_heapframe_does() {
    if !have("pyspark") {
        return;
    }
    let ds = dataset("spark");
    let got = engine_growth("growth_spark.py", &ds, &[]);
    assert_agree("Spark", &got);
    let _ = std::fs::remove_dir_all(&ds);
}
