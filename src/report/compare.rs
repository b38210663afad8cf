//! Comparing two profiles: `-base` and `-diff_base`, with `-normalize`.
//!
//! Follows `go tool pprof` step by step: with `diff_base` every base sample
//! is labelled `pprof::base=true` (so it never merges with a source sample
//! and report totals are taken from the base alone); with `normalize` the
//! source is scaled per sample type to the base's total (each value rounded,
//! all-zero samples dropped); the base is negated; then both are merged:
//! identical stacks with identical labels sum, and samples that cancel to
//! zero disappear.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::profile::{Label, LabelValue, Location, Mapping, Profile, SampleRef, Str};

/// The label pprof puts on samples of a `-diff_base` base profile.
pub const BASE_LABEL: &str = "pprof::base";

/// How a base profile is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BaseMode {
    /// `-base`: subtract; percentages are of the net total.
    #[default]
    Subtract,
    /// `-diff_base`: subtract; percentages are of the base's total.
    DiffBase,
}

/// True when the sample came from a `-diff_base` base profile.
pub fn is_base_sample(s: &SampleRef<'_>) -> bool {
    s.labels
        .iter()
        .any(|l| &*l.key == BASE_LABEL && matches!(&l.value, LabelValue::Str(v) if &**v == "true"))
}

/// Subtracts `base` from `profile` as `go tool pprof -base`/`-diff_base`
/// (with `-normalize` when `normalize`) does, returning the merged profile.
pub fn subtract(
    profile: &Profile,
    base: &Profile,
    mode: BaseMode,
    normalize: bool,
) -> Result<Profile> {
    check_compatible(profile, base)?;
    let mut src = profile.clone();
    let mut base = base.clone();
    if mode == BaseMode::DiffBase {
        let key = Str::from(BASE_LABEL);
        let val = Str::from("true");
        let mut marked = crate::profile::Samples::with_width(base.samples.width());
        let mut labels = Vec::new();
        for s in &base.samples {
            labels.clear();
            labels.extend(s.labels.iter().filter(|l| l.key != key).cloned());
            labels.push(Label {
                key: key.clone(),
                value: LabelValue::Str(val.clone()),
            });
            marked.push_parts(s.locations, s.values, &labels);
        }
        base.samples = marked;
    }
    if normalize {
        let n = src.sample_types.len();
        let mut base_sum = vec![0i64; n];
        let mut src_sum = vec![0i64; n];
        for s in &base.samples {
            for (a, v) in base_sum.iter_mut().zip(s.values) {
                *a = a.wrapping_add(*v);
            }
        }
        for s in &src.samples {
            for (a, v) in src_sum.iter_mut().zip(s.values) {
                *a = a.wrapping_add(*v);
            }
        }
        let ratios: Vec<f64> = (0..n)
            .map(|i| {
                if src_sum[i] == 0 {
                    0.0
                } else {
                    base_sum[i] as f64 / src_sum[i] as f64
                }
            })
            .collect();
        scale_samples(&mut src, &ratios);
    }
    let neg = vec![-1.0; base.sample_types.len()];
    scale_samples(&mut base, &neg);
    Ok(merge(&[&src, &base]))
}

/// pprof's `compatible`: same period type, same sample types in order.
fn check_compatible(a: &Profile, b: &Profile) -> Result<()> {
    let show = |p: &Profile| {
        p.sample_types
            .iter()
            .map(|t| format!("{}/{}", t.name, t.unit))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if a.period_type != b.period_type {
        return Err(Error::Incompatible(format!(
            "{} and {} have different period types ({}/{} vs {}/{}); a base must be the same kind of profile",
            a.source,
            b.source,
            a.period_type.name,
            a.period_type.unit,
            b.period_type.name,
            b.period_type.unit
        )));
    }
    if a.sample_types != b.sample_types {
        return Err(Error::Incompatible(format!(
            "{} and {} have different sample types ([{}] vs [{}]); a base must be the same kind of profile",
            a.source,
            b.source,
            show(a),
            show(b)
        )));
    }
    Ok(())
}

/// pprof's `ScaleN`: values of types whose ratio is not 1 are multiplied and
/// rounded; a sample is kept only if one of those values is non-zero.
fn scale_samples(p: &mut Profile, ratios: &[f64]) {
    if ratios.iter().all(|&r| r == 1.0) {
        return;
    }
    p.samples.retain_values(|values| {
        let mut keep = false;
        for (v, &r) in values.iter_mut().zip(ratios) {
            if r != 1.0 {
                *v = (*v as f64 * r).round() as i64;
                keep |= *v != 0;
            }
        }
        keep
    });
}

#[derive(Hash, PartialEq, Eq)]
struct MappingKey {
    size: u64,
    offset: u64,
    build_id_or_file: Str,
}

#[derive(Hash, PartialEq, Eq)]
struct FunctionKey {
    start_line: i64,
    name: Str,
    system_name: Str,
    filename: Str,
}

#[derive(Hash, PartialEq, Eq)]
struct LocationKey {
    mapping: Option<u32>,
    addr: u64,
    lines: Vec<(u32, i64, i64)>,
    is_folded: bool,
}

#[derive(Hash, PartialEq, Eq)]
struct SampleKey {
    locations: Vec<u32>,
    labels: Vec<(Str, String)>,
}

/// Merges profiles as pprof's `profile.Merge` does (headers combined, equal
/// mappings/functions/locations shared, equal samples summed, zero samples
/// dropped). `mappings[0]` of the result is the first profile's main binary.
pub fn merge(profiles: &[&Profile]) -> Profile {
    let first = profiles[0];
    let mut out = Profile {
        source: first.source.clone(),
        sample_types: first.sample_types.clone(),
        period_type: first.period_type.clone(),
        drop_frames: first.drop_frames.clone(),
        keep_frames: first.keep_frames.clone(),
        ..Default::default()
    };
    let mut seen_comments = std::collections::HashSet::new();
    for p in profiles {
        if out.time_nanos == 0 || p.time_nanos < out.time_nanos {
            out.time_nanos = p.time_nanos;
        }
        out.duration_nanos += p.duration_nanos;
        if out.period == 0 || out.period < p.period {
            out.period = p.period;
        }
        for c in &p.comments {
            if seen_comments.insert(c.clone()) {
                out.comments.push(c.clone());
            }
        }
        if out.default_sample_type.is_empty() {
            out.default_sample_type = p.default_sample_type.clone();
        }
        if out.doc_url.is_empty() {
            out.doc_url = p.doc_url.clone();
        }
    }

    let mut mappings: HashMap<MappingKey, u32> = HashMap::new();
    let mut functions: HashMap<FunctionKey, u32> = HashMap::new();
    let mut locations: HashMap<LocationKey, u32> = HashMap::new();
    let mut samples: HashMap<SampleKey, usize> = HashMap::new();

    for p in profiles {
        let mut map_mapping: Vec<Option<(u32, i64)>> = vec![None; p.mappings.len()];
        let mut map_function: Vec<Option<u32>> = vec![None; p.functions.len()];
        let mut map_location: Vec<Option<u32>> = vec![None; p.locations.len()];

        let mut mapping_of = |out: &mut Profile, i: u32| -> (u32, i64) {
            if let Some(m) = map_mapping[i as usize] {
                return m;
            }
            let src = &p.mappings[i as usize];
            let key = mapping_key(src);
            let r = match mappings.get(&key) {
                Some(&m) => (
                    m,
                    out.mappings[m as usize].memory_start as i64 - src.memory_start as i64,
                ),
                None => {
                    let m = out.mappings.len() as u32;
                    out.mappings.push(Mapping {
                        id: m as u64 + 1,
                        ..src.clone()
                    });
                    mappings.insert(key, m);
                    (m, 0)
                }
            };
            map_mapping[i as usize] = Some(r);
            r
        };
        if out.mappings.is_empty() && !p.mappings.is_empty() {
            mapping_of(&mut out, 0);
        }

        for s in &p.samples {
            if s.values.iter().all(|&v| v == 0) {
                continue;
            }
            let mut locs = Vec::with_capacity(s.locations.len());
            for &li in s.locations {
                if let Some(l) = map_location[li as usize] {
                    locs.push(l);
                    continue;
                }
                let src = &p.locations[li as usize];
                let (mapping, offset) = match src.mapping {
                    Some(m) => {
                        let (mm, off) = mapping_of(&mut out, m);
                        (Some(mm), off)
                    }
                    None => (None, 0),
                };
                let address = (src.address as i64).wrapping_add(offset) as u64;
                let mut lines = Vec::with_capacity(src.lines.len());
                for ln in &src.lines {
                    let f = match map_function[ln.function as usize] {
                        Some(f) => f,
                        None => {
                            let sf = &p.functions[ln.function as usize];
                            let key = FunctionKey {
                                start_line: sf.start_line,
                                name: sf.name.clone(),
                                system_name: sf.system_name.clone(),
                                filename: sf.filename.clone(),
                            };
                            let f = *functions.entry(key).or_insert_with(|| {
                                out.functions.push(crate::profile::Function {
                                    id: out.functions.len() as u64 + 1,
                                    ..sf.clone()
                                });
                                out.functions.len() as u32 - 1
                            });
                            map_function[ln.function as usize] = Some(f);
                            f
                        }
                    };
                    lines.push(crate::profile::Line {
                        function: f,
                        line: ln.line,
                        column: ln.column,
                    });
                }
                let key = LocationKey {
                    mapping,
                    addr: match mapping {
                        Some(m) => address.wrapping_sub(out.mappings[m as usize].memory_start),
                        None => address,
                    },
                    lines: lines
                        .iter()
                        .map(|l| (l.function, l.line, l.column))
                        .collect(),
                    is_folded: src.is_folded,
                };
                let l = *locations.entry(key).or_insert_with(|| {
                    out.locations.push(Location {
                        id: out.locations.len() as u64 + 1,
                        mapping,
                        address,
                        lines,
                        is_folded: src.is_folded,
                    });
                    out.locations.len() as u32 - 1
                });
                map_location[li as usize] = Some(l);
                locs.push(l);
            }
            let key = SampleKey {
                locations: locs,
                labels: label_key(s.labels),
            };
            match samples.get(&key) {
                Some(&i) => {
                    for (a, v) in out.samples.values_mut(i).iter_mut().zip(s.values) {
                        *a = a.wrapping_add(*v);
                    }
                }
                None => {
                    samples.insert(
                        SampleKey {
                            locations: key.locations.clone(),
                            labels: key.labels,
                        },
                        out.samples.len(),
                    );
                    out.samples.push_parts(&key.locations, s.values, s.labels);
                }
            }
        }
    }
    out.samples.retain_values(|v| v.iter().any(|&v| v != 0));
    out
}

fn mapping_key(m: &Mapping) -> MappingKey {
    const ROUND: u64 = 0x1000;
    let size = m
        .memory_limit
        .wrapping_sub(m.memory_start)
        .wrapping_add(ROUND - 1);
    let size = size - size % ROUND;
    MappingKey {
        size,
        offset: m.file_offset,
        build_id_or_file: if !m.build_id.is_empty() {
            m.build_id.clone()
        } else {
            m.filename.clone()
        },
    }
}

fn label_key(labels: &[Label]) -> Vec<(Str, String)> {
    let mut k: Vec<(Str, String)> = labels
        .iter()
        .map(|l| {
            let v = match &l.value {
                LabelValue::Str(s) => format!("s:{s}"),
                LabelValue::Num { value, unit } => {
                    format!("n:{value}:{}", unit.as_deref().unwrap_or(""))
                }
            };
            (l.key.clone(), v)
        })
        .collect();
    k.sort();
    k
}
