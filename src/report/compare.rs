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
use crate::profile::{
    InputMap, Label, LabelValue, Location, Mapping, Profile, SampleRef, StackId, Str,
};

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

/// How [`subtract`] applies its base profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BaseOptions {
    /// `-base` (the default) or `-diff_base`.
    pub mode: BaseMode,
    /// `-normalize`: scale the base to the profile's total first.
    pub normalize: bool,
}

/// What grew from `before` to `after`: `after` with `before` subtracted as
/// `go tool pprof -base before after` does (see [`subtract`]).
///
/// ```
/// use heapframe::{Profile, report};
/// let dir = "tests/fixtures/bundles/mapcache/heap";
/// let before = Profile::from_path(format!("{dir}/001.pb.gz"))?;
/// let after = Profile::from_path(format!("{dir}/007.pb.gz"))?;
/// let grew = report::delta(&before, &after)?;
/// let top = report::top(&grew, &Default::default())?;
/// assert!(top.rows[0].flat > 0);
/// # Ok::<(), heapframe::Error>(())
/// ```
pub fn delta(before: &Profile, after: &Profile) -> Result<Profile> {
    subtract(after, before, &BaseOptions::default())
}

/// Subtracts `base` from `profile` as `go tool pprof -base`/`-diff_base`
/// (with `-normalize` when `opts.normalize`) does, returning the merged
/// profile.
pub fn subtract(profile: &Profile, base: &Profile, opts: &BaseOptions) -> Result<Profile> {
    let BaseOptions { mode, normalize } = *opts;
    check_compatible(profile, base)?;
    let n = profile.sample_types.len();
    let src_scale = if normalize {
        let sums = |p: &Profile| {
            let mut sum = vec![0i64; n];
            for s in &p.samples {
                for (a, v) in sum.iter_mut().zip(s.values) {
                    *a = a.wrapping_add(*v);
                }
            }
            sum
        };
        let (base_sum, src_sum) = (sums(base), sums(profile));
        Some(
            (0..n)
                .map(|i| {
                    if src_sum[i] == 0 {
                        0.0
                    } else {
                        base_sum[i] as f64 / src_sum[i] as f64
                    }
                })
                .collect(),
        )
    } else {
        None
    };
    Ok(merge_inputs(&[
        MergeInput {
            profile,
            scale: src_scale,
            mark_base: false,
        },
        MergeInput {
            profile: base,
            scale: Some(vec![-1.0; n]),
            mark_base: mode == BaseMode::DiffBase,
        },
    ]))
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

/// pprof's `ScaleN` on one sample: values of types whose ratio is not 1 are
/// multiplied and rounded; the sample is kept only if one of those values is
/// non-zero (or no ratio differs from 1).
fn scale_values(values: &mut [i64], ratios: &[f64]) -> bool {
    let mut keep = false;
    let mut scaled = false;
    for (v, &r) in values.iter_mut().zip(ratios) {
        if r != 1.0 {
            scaled = true;
            *v = (*v as f64 * r).round() as i64;
            keep |= *v != 0;
        }
    }
    keep || !scaled
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

/// One profile to merge, with what `subtract` does to it on the way.
struct MergeInput<'a> {
    profile: &'a Profile,
    /// pprof's `ScaleN` ratios per sample type.
    scale: Option<Vec<f64>>,
    /// Label every sample `pprof::base=true` (a `-diff_base` base).
    mark_base: bool,
}

/// Merges profiles as pprof's `profile.Merge` does (headers combined, equal
/// mappings/functions/locations shared, equal samples summed, zero samples
/// dropped). `mappings[0]` of the result is the first profile's main binary.
pub fn merge(profiles: &[&Profile]) -> Profile {
    let inputs: Vec<MergeInput<'_>> = profiles
        .iter()
        .map(|&profile| MergeInput {
            profile,
            scale: None,
            mark_base: false,
        })
        .collect();
    merge_inputs(&inputs)
}

fn merge_inputs(inputs: &[MergeInput<'_>]) -> Profile {
    let profiles: Vec<&Profile> = inputs.iter().map(|i| i.profile).collect();
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
    // The merged sample of each (stack, label key).
    let mut index: InputMap<(StackId, u32), usize> = InputMap::default();
    // Distinct label contents, and the label set of `out` holding each.
    let mut label_keys: HashMap<Vec<(Str, String)>, u32> = HashMap::new();
    let mut out_sets: Vec<u32> = Vec::new();
    out.samples = crate::profile::Samples::with_width(first.sample_types.len());
    let base_key = Str::from(BASE_LABEL);
    let base_label = Label {
        key: base_key.clone(),
        value: LabelValue::Str(Str::from("true")),
    };
    let mut values: Vec<i64> = Vec::new();
    let mut chain: Vec<usize> = Vec::new();

    for input in inputs {
        let p = input.profile;
        // Each label set of this profile: its label key id (labels as
        // merged, with the base mark when asked for).
        let set_keys: Vec<u32> = (0..p.samples.label_set_count() as u32)
            .map(|k| {
                let mut labels: Vec<Label> = p.samples.label_set(k).to_vec();
                if input.mark_base {
                    labels.retain(|l| l.key != base_key);
                    labels.push(base_label.clone());
                }
                let key = label_key(&labels);
                let next = out_sets.len() as u32;
                let id = *label_keys.entry(key).or_insert(next);
                if id == next {
                    out_sets.push(out.samples.new_label_set(&labels));
                }
                id
            })
            .collect();
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

        // Each stack of this profile as a stack of `out`, made when a
        // sample first needs it.
        let tree = p.samples.tree();
        let mut stack_map: Vec<Option<StackId>> = vec![None; tree.len()];
        for (si, s) in p.samples.iter().enumerate() {
            values.clear();
            values.extend_from_slice(s.values);
            if let Some(r) = &input.scale
                && !scale_values(&mut values, r)
            {
                continue;
            }
            if values.iter().all(|&v| v == 0) {
                continue;
            }
            // The stack's frames not yet in `out`, leaf first: their
            // locations are merged in that order (as pprof meets them),
            // then their nodes are made from the outermost in.
            chain.clear();
            let mut top = s.stack.id();
            while let Some(t) = top.index() {
                if stack_map[t].is_some() {
                    break;
                }
                chain.push(t);
                top = tree.parent(top);
            }
            let mut locs = Vec::with_capacity(chain.len());
            for &t in &chain {
                let li = tree.locations()[t];
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
            let mut node = top
                .index()
                .map_or(StackId::EMPTY, |t| stack_map[t].unwrap_or(StackId::EMPTY));
            for (&t, &l) in chain.iter().zip(&locs).rev() {
                node = out.samples.push_frame(node, l);
                stack_map[t] = Some(node);
            }
            let stack = match s.stack.id().index() {
                Some(t) => stack_map[t].unwrap_or(StackId::EMPTY),
                None => StackId::EMPTY,
            };
            let lk = set_keys[p.samples.label_set_id(si) as usize];
            match index.get(&(stack, lk)) {
                Some(&i) => {
                    for (a, v) in out.samples.values_mut(i).iter_mut().zip(&values) {
                        *a = a.wrapping_add(*v);
                    }
                }
                None => {
                    index.insert((stack, lk), out.samples.len());
                    out.samples
                        .push_with_set(stack, &values, out_sets[lk as usize]);
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
