//! Writes a synthetic fleet for the dataset benchmark (`benches/fleet.sh`):
//! SERVICES services, each with SNAPSHOTS heap profiles five minutes apart
//! of STACKS distinct stacks, where one stack in a hundred leaks (its
//! in-use bytes grow with time) and the rest wander around a base. Each
//! service is written as a bundle folder, exported to the dataset, and its
//! folder removed, except the first service's (the benchmark compares
//! growth from its `.pb.gz` files with growth from the dataset).
//!
//! ```text
//! cargo run --release --example gen_fleet -- OUT SERVICES SNAPSHOTS STACKS
//! ```
//! writes `OUT/dataset/` and `OUT/bundle-svc000/`. Deterministic: the same
//! arguments give the same files.

use std::io::Write;
use std::path::Path;

use heapframe::dataset::{Dataset, Origin};
use heapframe::evidence::bundle::Bundle;
use heapframe::pprof::proto;
use prost::Message;

/// A small, seeded generator (xorshift64*): the same fleet every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct Strings {
    table: Vec<Vec<u8>>,
    index: std::collections::HashMap<String, i64>,
}
impl Strings {
    fn new() -> Strings {
        let mut s = Strings {
            table: Vec::new(),
            index: Default::default(),
        };
        s.id("");
        s
    }
    fn id(&mut self, text: &str) -> i64 {
        if let Some(&i) = self.index.get(text) {
            return i;
        }
        self.table.push(text.as_bytes().to_vec());
        let i = self.table.len() as i64 - 1;
        self.index.insert(text.to_string(), i);
        i
    }
}

/// One service's shape: its stacks (location ids, leaf first), each
/// stack's object size and base count, and which stacks leak.
struct Service {
    functions: Vec<(String, String, i64)>,
    stacks: Vec<Vec<u64>>,
    size: Vec<i64>,
    base: Vec<i64>,
    leaks: Vec<bool>,
}

fn service(s: usize, stacks: usize, rng: &mut Rng) -> Service {
    // Shared runtime and library functions, then the service's own.
    let mut functions: Vec<(String, String, i64)> = Vec::new();
    for (i, f) in [
        "runtime.mallocgc",
        "runtime.makeslice",
        "runtime.newobject",
        "runtime.makemap",
        "runtime.growslice",
        "bytes.(*Buffer).grow",
        "encoding/json.Unmarshal",
        "net/http.(*conn).serve",
        "net/http.HandlerFunc.ServeHTTP",
        "net/http.(*ServeMux).ServeHTTP",
        "sync.(*Pool).Get",
        "strings.Builder.grow",
    ]
    .iter()
    .enumerate()
    {
        let file = format!("/usr/lib/go/src/{}.go", f.split('.').next().unwrap_or("x"));
        functions.push((f.to_string(), file, 10 + i as i64 * 40));
    }
    let shared = functions.len();
    for j in 0..200 {
        functions.push((
            format!("example.com/svc{s:03}/pkg{}.Func{j}", j % 17),
            format!("/src/svc{s:03}/pkg{}/f{j}.go", j % 17),
            1 + (j as i64 % 50) * 7,
        ));
    }
    let own = functions.len() - shared;
    let mut out = Vec::with_capacity(stacks);
    let mut seen = std::collections::HashSet::new();
    while out.len() < stacks {
        let depth = 4 + rng.below(9) as usize;
        // Leaf: an allocator; then the service's frames; root: the server.
        let mut st: Vec<u64> = vec![rng.below(5) + 1];
        for _ in 0..depth - 3 {
            st.push((shared as u64 + rng.below(own as u64)) + 1);
        }
        st.push(9);
        st.push(8);
        if seen.insert(st.clone()) {
            out.push(st);
        }
    }
    let size = (0..stacks).map(|_| 16 << rng.below(8)).collect();
    let base = (0..stacks).map(|_| 1 + rng.below(64) as i64).collect();
    let leaks = (0..stacks).map(|_| rng.below(100) == 0).collect();
    Service {
        functions,
        stacks: out,
        size,
        base,
        leaks,
    }
}

/// Snapshot `t` of service `sv` as a gzipped profile.
fn profile(sv: &Service, t: usize, time_ms: i64, rng: &mut Rng) -> Vec<u8> {
    let mut st = Strings::new();
    let vt = |st: &mut Strings, n: &str, u: &str| proto::ValueType {
        r#type: st.id(n),
        unit: st.id(u),
    };
    let mut m = proto::Profile {
        sample_type: vec![
            vt(&mut st, "alloc_objects", "count"),
            vt(&mut st, "alloc_space", "bytes"),
            vt(&mut st, "inuse_objects", "count"),
            vt(&mut st, "inuse_space", "bytes"),
        ],
        period_type: Some(vt(&mut st, "space", "bytes")),
        period: 524_288,
        time_nanos: time_ms * 1_000_000,
        ..Default::default()
    };
    let bin = st.id("/app/server");
    m.mapping.push(proto::Mapping {
        id: 1,
        memory_start: 0x400000,
        memory_limit: 0x2000000,
        filename: bin,
        has_functions: true,
        has_filenames: true,
        has_line_numbers: true,
        ..Default::default()
    });
    for (i, (name, file, start)) in sv.functions.iter().enumerate() {
        let (name, file) = (st.id(name), st.id(file));
        m.function.push(proto::Function {
            id: i as u64 + 1,
            name,
            system_name: name,
            filename: file,
            start_line: *start,
        });
        m.location.push(proto::Location {
            id: i as u64 + 1,
            mapping_id: 1,
            address: 0x401000 + i as u64 * 16,
            line: vec![proto::Line {
                function_id: i as u64 + 1,
                line: start + 3,
                column: 0,
            }],
            is_folded: false,
        });
    }
    let bytes = st.id("bytes");
    for (k, stack) in sv.stacks.iter().enumerate() {
        let inuse = if sv.leaks[k] {
            sv.base[k] * (1 + t as i64)
        } else {
            (sv.base[k] + rng.below(9) as i64 - 4).max(0)
        };
        let alloc = sv.base[k] * (4 + 4 * t as i64);
        let size = sv.size[k];
        m.sample.push(proto::Sample {
            location_id: stack.clone(),
            value: vec![alloc, alloc * size, inuse, inuse * size],
            label: vec![proto::Label {
                key: bytes,
                num: size,
                ..Default::default()
            }],
        });
    }
    m.string_table = st.table;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&m.encode_to_vec()).expect("in memory");
    gz.finish().expect("in memory")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [out, services, snapshots, stacks] = &args[..] else {
        return Err("usage: gen_fleet OUT SERVICES SNAPSHOTS STACKS".into());
    };
    let (services, snapshots, stacks): (usize, usize, usize) =
        (services.parse()?, snapshots.parse()?, stacks.parse()?);
    let out = Path::new(out);
    let mut dataset = Dataset::open(out.join("dataset"))?;
    let t0 = 1_764_547_200_000i64; // 2025-12-01T00:00:00Z
    let started = std::time::Instant::now();
    for s in 0..services {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (s as u64 + 1));
        let sv = service(s, stacks, &mut rng);
        let dir = out.join(format!("bundle-svc{s:03}"));
        std::fs::create_dir_all(dir.join("heap"))?;
        for t in 0..snapshots {
            let time_ms = t0 + t as i64 * 300_000;
            let bytes = profile(&sv, t, time_ms, &mut rng);
            std::fs::write(dir.join("heap").join(format!("{t:04}.pb.gz")), bytes)?;
        }
        let bundle = Bundle::open(&dir)?;
        let sum = dataset.export(
            &bundle,
            &Origin {
                service: format!("svc{s:03}"),
                instance: format!("10.0.{}.{}:6060", s / 250, s % 250 + 1),
            },
        )?;
        drop(bundle);
        if s > 0 {
            std::fs::remove_dir_all(&dir)?;
        }
        eprintln!(
            "svc{s:03}: {sum} ({:.1} s so far)",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
