//! Which frames and samples a report sees: pprof's `drop_frames` pruning and
//! the `focus`, `ignore`, `hide` and `show` regular expressions.
//!
//! A [`View`] is a profile seen through these filters without copying it:
//! locations whose lines were hidden get their own line lists, samples whose
//! stacks were pruned point to the shorter stack (a tail of theirs, already
//! in the profile's stack tree), and only when whole locations are hidden
//! does the view make a stack tree of its own; the rest is borrowed.
//!
//! The meanings are pprof's:
//! - `focus`: keep samples with at least one location whose function name,
//!   file name or mapping file matches (unanchored);
//! - `ignore`: drop samples with any such location (ignore wins over focus);
//! - `hide`: remove matching lines from locations (a location left with no
//!   line leaves the stack; a sample left with no location is dropped);
//! - `show`: keep only matching lines, likewise.

use std::borrow::Cow;

use regex::Regex;

use crate::error::{Error, Result};
use crate::profile::{Label, LabelValue, Line, Profile, StackId, StackTree};

/// A profile seen through pruning and name filters.
#[derive(Debug, Clone)]
pub struct View<'a> {
    /// The underlying profile.
    pub profile: &'a Profile,
    /// Lines of each location (index as in `profile.locations`).
    pub lines: Vec<Cow<'a, [Line]>>,
    /// The stacks of the view's samples: the profile's own tree, or one
    /// made for the view when it hid whole locations.
    pub tree: Cow<'a, StackTree>,
    /// The samples still in the view.
    pub samples: Vec<ViewSample>,
}

/// A sample of a [`View`].
#[derive(Debug, Clone, Copy)]
pub struct ViewSample {
    /// Index into `profile.samples`.
    pub index: usize,
    /// Its stack in [`View::tree`].
    pub stack: StackId,
}

/// Which of the name filters matched anything (pprof warns when one did not).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FilterMatches {
    /// `focus` matched (or was not given).
    pub focus: bool,
    /// `ignore` matched.
    pub ignore: bool,
    /// `hide` matched.
    pub hide: bool,
    /// `show` matched.
    pub show: bool,
    /// `show_from` matched.
    pub show_from: bool,
    /// `tagfocus` matched a sample.
    pub tag_focus: bool,
    /// `tagignore` matched a sample.
    pub tag_ignore: bool,
}

/// Compiles a user regular expression (unanchored, as pprof's options are).
pub fn compile(option: &str, re: &str) -> Result<Regex> {
    Regex::new(re)
        .map_err(|e| Error::Option(format!("invalid {option} regular expression {re:?}: {e}")))
}

impl<'a> View<'a> {
    /// The whole profile.
    pub fn new(profile: &'a Profile) -> Self {
        View {
            profile,
            lines: profile
                .locations
                .iter()
                .map(|l| Cow::Borrowed(&l.lines[..]))
                .collect(),
            tree: Cow::Borrowed(profile.samples.tree()),
            samples: profile
                .samples
                .stack_ids()
                .iter()
                .enumerate()
                .map(|(index, &stack)| ViewSample { index, stack })
                .collect(),
        }
    }

    /// Applies the profile's own `drop_frames`/`keep_frames` as pprof does on
    /// load: frames from the outermost matching function inwards are pruned,
    /// but never the frames above the first non-matching (user) frame.
    pub fn remove_uninteresting(&mut self) -> Result<()> {
        let p = self.profile;
        if p.drop_frames.is_empty() {
            return Ok(());
        }
        let drop = Regex::new(&format!("^({})$", p.drop_frames)).map_err(|e| {
            Error::Option(format!(
                "{}: invalid drop_frames regular expression: {e}",
                p.source
            ))
        })?;
        let keep = if p.keep_frames.is_empty() {
            None
        } else {
            Some(Regex::new(&format!("^({})$", p.keep_frames)).map_err(|e| {
                Error::Option(format!(
                    "{}: invalid keep_frames regular expression: {e}",
                    p.source
                ))
            })?)
        };
        let mut cache: std::collections::HashMap<&str, bool> = std::collections::HashMap::new();
        let mut prune_here = |name: &'a str| -> bool {
            *cache.entry(name).or_insert_with(|| {
                let f = simplify_func(name);
                drop.is_match(f) && !keep.as_ref().is_some_and(|k| k.is_match(f))
            })
        };
        let n = p.locations.len();
        let mut prune = vec![false; n];
        let mut beneath = vec![false; n];
        for li in 0..n {
            let lines = &self.lines[li];
            let hit = (0..lines.len()).rev().find(|&i| {
                let f = &p.functions[lines[i].function as usize];
                !f.name.is_empty() && prune_here(&f.name)
            });
            if let Some(i) = hit {
                beneath[li] = true;
                if i == lines.len() - 1 {
                    prune[li] = true;
                } else {
                    let kept = lines[i + 1..].to_vec();
                    self.lines[li] = Cow::Owned(kept);
                }
            }
        }
        // Each stack, pruned: from the root down, the first pruned or
        // beneath frame after a user frame cuts the stack there (a pruned
        // frame goes, a beneath frame stays with its kept lines). A cut
        // stack is one of its own tails, so it is in the tree already.
        let t = &*self.tree;
        let (locations, parents) = (t.locations(), t.parents());
        let mut pruned = vec![StackId::EMPTY; t.len()];
        let mut found_user = vec![false; t.len()];
        let mut cut = vec![false; t.len()];
        for i in 0..t.len() {
            let (l, parent) = (locations[i] as usize, parents[i]);
            let p = parent.index();
            if let Some(p) = p.filter(|&p| cut[p]) {
                pruned[i] = pruned[p];
                cut[i] = true;
                continue;
            }
            let user_above = p.is_some_and(|p| found_user[p]);
            if !prune[l] && !beneath[l] {
                found_user[i] = true;
                pruned[i] = StackId::from_index(i);
            } else if user_above {
                pruned[i] = if prune[l] {
                    parent
                } else {
                    StackId::from_index(i)
                };
                cut[i] = true;
            } else {
                pruned[i] = StackId::from_index(i);
            }
        }
        for s in &mut self.samples {
            if let Some(i) = s.stack.index() {
                s.stack = pruned[i];
            }
        }
        Ok(())
    }

    /// Applies `focus`, `ignore`, `hide` and `show` (see the module docs).
    pub fn filter_by_name(
        &mut self,
        focus: Option<&Regex>,
        ignore: Option<&Regex>,
        hide: Option<&Regex>,
        show: Option<&Regex>,
    ) -> FilterMatches {
        let mut m = FilterMatches::default();
        if focus.is_none() && ignore.is_none() && hide.is_none() && show.is_none() {
            m.focus = true;
            return m;
        }
        let p = self.profile;
        let n = p.locations.len();
        // 0 = neither, 1 = focused, 2 = ignored
        let mut focus_or_ignore = vec![0u8; n];
        let mut hidden = vec![false; n];
        let mut any_hidden = false;
        for li in 0..n {
            let mapping_file = p.locations[li]
                .mapping
                .map(|m| &*p.mappings[m as usize].filename);
            let line_matches = |re: &Regex, ln: &Line| {
                let f = &p.functions[ln.function as usize];
                re.is_match(&f.name) || re.is_match(&f.filename)
            };
            let loc_matches = |re: &Regex, lines: &[Line]| {
                lines.iter().any(|ln| line_matches(re, ln))
                    || mapping_file.is_some_and(|f| re.is_match(f))
            };
            if ignore.is_some_and(|re| loc_matches(re, &self.lines[li])) {
                m.ignore = true;
                focus_or_ignore[li] = 2;
            } else if focus.is_none_or(|re| loc_matches(re, &self.lines[li])) {
                m.focus = true;
                focus_or_ignore[li] = 1;
            }
            if let Some(re) = hide
                && loc_matches(re, &self.lines[li])
            {
                m.hide = true;
                let kept: Vec<Line> = if mapping_file.is_some_and(|f| re.is_match(f)) {
                    Vec::new()
                } else {
                    self.lines[li]
                        .iter()
                        .filter(|ln| !line_matches(re, ln))
                        .copied()
                        .collect()
                };
                if kept.is_empty() {
                    hidden[li] = true;
                    any_hidden = true;
                }
                self.lines[li] = Cow::Owned(kept);
            }
            if let Some(re) = show {
                if !mapping_file.is_some_and(|f| re.is_match(f)) {
                    let kept: Vec<Line> = self.lines[li]
                        .iter()
                        .filter(|ln| line_matches(re, ln))
                        .copied()
                        .collect();
                    self.lines[li] = Cow::Owned(kept);
                }
                if self.lines[li].is_empty() {
                    hidden[li] = true;
                    any_hidden = true;
                } else {
                    m.show = true;
                }
            }
        }
        // Per stack: whether it holds a focused and an ignored location.
        let t = &*self.tree;
        let (locations, parents) = (t.locations(), t.parents());
        let mut focused = vec![false; t.len()];
        let mut ignored = vec![false; t.len()];
        for i in 0..t.len() {
            let l = locations[i] as usize;
            let (f, ig) = parents[i]
                .index()
                .map_or((false, false), |p| (focused[p], ignored[p]));
            focused[i] = f || focus_or_ignore[l] == 1;
            ignored[i] = ig || focus_or_ignore[l] == 2;
        }
        self.samples
            .retain(|s| s.stack.index().is_some_and(|i| focused[i] && !ignored[i]));
        if any_hidden {
            // Stacks without their hidden locations, in a tree of the view's
            // own; a sample left with no location leaves the view.
            let mut tree = StackTree::default();
            let mut kept = Vec::with_capacity(t.len());
            for i in 0..t.len() {
                let l = locations[i];
                let parent = parents[i].index().map_or(StackId::EMPTY, |p| kept[p]);
                kept.push(if hidden[l as usize] {
                    parent
                } else {
                    tree.push(parent, l)
                });
            }
            self.samples.retain_mut(|s| {
                s.stack = s.stack.index().map_or(StackId::EMPTY, |i| kept[i]);
                s.stack != StackId::EMPTY
            });
            self.tree = Cow::Owned(tree);
        }
        m
    }
}

/// pprof's `simplifyFunc`: drops a leading `.` and the argument list, i.e.
/// everything from the first `(` that does not open `(anonymous namespace)`
/// or belong to `operator()`.
pub fn simplify_func(name: &str) -> &str {
    let name = name.strip_prefix('.').unwrap_or(name);
    let bytes = name.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &name[i..];
        if rest.starts_with("(anonymous namespace)") {
            i += "(anonymous namespace)".len();
        } else if rest.starts_with("operator()") {
            i += "operator()".len();
        } else if bytes[i] == b'(' {
            return &name[..i];
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    name
}

/// pprof's `-tagfocus` / `-tagignore` value, compiled: `[KEY=]VALUE`
/// where VALUE is a numeric range with units (`1kb`, `2kb:`, `:64b`,
/// `32b:1kb`, read as pprof's `parseTagFilterRange` reads it) or, when it
/// is not one, regular expressions separated by commas. Without a key,
/// every expression must match some `key:value` of the sample's string
/// labels (a range: any numeric label); with one, any expression must
/// match a value of that key.
#[derive(Debug, Clone)]
pub struct TagFilter {
    key: Option<String>,
    kind: TagKind,
}

#[derive(Debug, Clone)]
enum TagKind {
    /// Values in `unit` (canonical name), within `lo..=hi`.
    Range {
        unit: String,
        lo: Option<f64>,
        hi: Option<f64>,
    },
    Regexes(Vec<Regex>),
}

/// pprof's `parseTagFilterRange`: `Some((unit, lo, hi))` when `filter` is a
/// value or a range of values with optional units.
fn tag_range(filter: &str) -> Option<(String, Option<f64>, Option<f64>)> {
    static NUM: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
        Regex::new("([+-]?[0-9]+)([A-Za-z]+)?").expect("valid number pattern")
    });
    let found: Vec<(&str, i64, &str)> = NUM
        .captures_iter(filter)
        .take(2)
        .map(|c| {
            let digits = c.get(1).map_or("", |m| m.as_str());
            (
                c.get(0).map_or("", |m| m.as_str()),
                digits.parse::<i64>().unwrap_or(if digits.starts_with('-') {
                    i64::MIN
                } else {
                    i64::MAX
                }),
                c.get(2).map_or("", |m| m.as_str()),
            )
        })
        .collect();
    let (m0, v0, u0) = *found.first()?;
    let (sv, unit) = crate::units::scale(v0, u0, u0);
    match found.len() {
        1 if filter == m0 => Some((unit, Some(sv), Some(sv))),
        1 if filter == format!("{m0}:") => Some((unit, Some(sv), None)),
        1 if filter == format!(":{m0}") => Some((unit, None, Some(sv))),
        2 => {
            let (m1, v1, u1) = found[1];
            if filter != format!("{m0}:{m1}") {
                return None;
            }
            let (sv1, unit1) = crate::units::scale(v1, u1, &unit);
            (unit1 == unit).then_some((unit, Some(sv), Some(sv1)))
        }
        _ => None,
    }
}

impl TagFilter {
    /// Compiles `value` for the option `option` (`tagfocus`, `tagignore`).
    pub fn compile(option: &str, value: &str) -> Result<TagFilter> {
        let (key, value) = match value.split_once('=') {
            Some((k, v)) => (Some(k.to_string()), v),
            None => (None, value),
        };
        let kind = match tag_range(value) {
            Some((unit, lo, hi)) => TagKind::Range { unit, lo, hi },
            None => TagKind::Regexes(
                value
                    .split(',')
                    .map(|r| compile(option, r))
                    .collect::<Result<Vec<_>>>()?,
            ),
        };
        Ok(TagFilter { key, kind })
    }

    /// Whether a sample with `labels` passes; `units` gives each numeric
    /// label key's unit ([`num_label_units`]).
    fn matches(&self, labels: &[Label], units: &std::collections::HashMap<&str, String>) -> bool {
        let key_ok = |k: &str| self.key.as_deref().is_none_or(|want| want == k);
        match &self.kind {
            TagKind::Range { unit, lo, hi } => labels.iter().any(|l| {
                let LabelValue::Num { value, .. } = &l.value else {
                    return false;
                };
                if !key_ok(&l.key) {
                    return false;
                }
                let from = units.get(&*l.key).map_or("", |u| u.as_str());
                let (v, u) = crate::units::scale(*value, from, unit);
                u == *unit && lo.is_none_or(|lo| v >= lo) && hi.is_none_or(|hi| v <= hi)
            }),
            TagKind::Regexes(res) => match &self.key {
                None => res.iter().all(|re| {
                    labels.iter().any(|l| match &l.value {
                        LabelValue::Str(v) => re.is_match(&format!("{}:{v}", l.key)),
                        _ => false,
                    })
                }),
                Some(k) => labels.iter().any(|l| match &l.value {
                    LabelValue::Str(v) if &*l.key == k => res.iter().any(|re| re.is_match(v)),
                    _ => false,
                }),
            },
        }
    }
}

/// pprof's `NumLabelUnits`: each numeric label key's unit, the first one
/// a sample states, else `bytes` for `alignment` and `request`, else the
/// key itself.
pub fn num_label_units(p: &Profile) -> std::collections::HashMap<&str, String> {
    let mut units: std::collections::HashMap<&str, String> = std::collections::HashMap::new();
    for k in 0..p.samples.label_set_count() {
        for l in p.samples.label_set(k as u32) {
            if let LabelValue::Num { unit, .. } = &l.value {
                let entry = units.entry(&l.key).or_default();
                if entry.is_empty()
                    && let Some(u) = unit.as_deref().filter(|u| !u.is_empty())
                {
                    *entry = u.to_string();
                }
            }
        }
    }
    for (k, u) in units.iter_mut() {
        if u.is_empty() {
            *u = match *k {
                "alignment" | "request" => "bytes".to_string(),
                other => other.to_string(),
            };
        }
    }
    units
}

impl View<'_> {
    /// pprof's `-show_from`: each sample loses the frames above (callers
    /// of) its outermost frame that matches (function name or file, or
    /// the location's mapping file); a matching location keeps its lines
    /// up to the outermost matching one; samples with no match leave the
    /// view. Returns whether anything matched.
    pub fn show_from(&mut self, re: &Regex) -> bool {
        let p = self.profile;
        let n = p.locations.len();
        let mut hit = vec![false; n];
        let mut matched = false;
        for (li, loc) in p.locations.iter().enumerate() {
            let mapped = loc
                .mapping
                .is_some_and(|m| re.is_match(&p.mappings[m as usize].filename));
            let last = self.lines[li].iter().rposition(|ln| {
                let f = &p.functions[ln.function as usize];
                re.is_match(&f.name) || re.is_match(&f.filename)
            });
            if mapped {
                hit[li] = true;
            } else if let Some(i) = last {
                hit[li] = true;
                let kept = self.lines[li][..=i].to_vec();
                self.lines[li] = Cow::Owned(kept);
            }
            matched |= hit[li];
        }
        // Each stack re-rooted at its outermost matching frame, in a tree
        // of the view's own (parents come before their children).
        let t = &*self.tree;
        let (locations, parents) = (t.locations(), t.parents());
        let mut tree = StackTree::default();
        let mut kept = vec![StackId::EMPTY; t.len()];
        for i in 0..t.len() {
            let l = locations[i];
            let parent = parents[i].index().map_or(StackId::EMPTY, |p| kept[p]);
            kept[i] = if parent != StackId::EMPTY {
                tree.push(parent, l)
            } else if hit[l as usize] {
                tree.push(StackId::EMPTY, l)
            } else {
                StackId::EMPTY
            };
        }
        self.samples.retain_mut(|s| {
            s.stack = s.stack.index().map_or(StackId::EMPTY, |i| kept[i]);
            s.stack != StackId::EMPTY
        });
        self.tree = Cow::Owned(tree);
        matched
    }

    /// pprof's `-tagfocus` and `-tagignore`: keeps the samples that `focus`
    /// (when given) matches and `ignore` (when given) does not. Returns
    /// whether each matched any sample.
    pub fn filter_by_tag(
        &mut self,
        focus: Option<&TagFilter>,
        ignore: Option<&TagFilter>,
    ) -> (bool, bool) {
        if focus.is_none() && ignore.is_none() {
            return (false, false);
        }
        let p = self.profile;
        let units = num_label_units(p);
        let (mut fm, mut im) = (false, false);
        self.samples.retain(|s| {
            let labels = p.samples.label_set(p.samples.label_set_id(s.index));
            let focused = focus.is_none_or(|f| f.matches(labels, &units));
            let ignored = ignore.is_some_and(|f| f.matches(labels, &units));
            fm |= focused;
            im |= ignored;
            focused && !ignored
        });
        (fm, im)
    }

    /// pprof's `-prune_from`: in each location the innermost line whose
    /// function (its name without arguments) matches keeps it and the lines
    /// outside it; each sample's stack starts at its innermost such
    /// location (what it called is dropped).
    pub fn prune_from(&mut self, re: &Regex) {
        let p = self.profile;
        let mut beneath = vec![false; p.locations.len()];
        for (li, b) in beneath.iter_mut().enumerate() {
            let hit = self.lines[li].iter().position(|ln| {
                let f = &p.functions[ln.function as usize];
                !f.name.is_empty() && re.is_match(simplify_func(&f.name))
            });
            if let Some(i) = hit {
                *b = true;
                if i > 0 {
                    let kept = self.lines[li][i..].to_vec();
                    self.lines[li] = Cow::Owned(kept);
                }
            }
        }
        // A stack cut at a frame is that frame's own stack: in the tree.
        // Per stack, its innermost matching frame (the one nearest the
        // leaf): its own location, else its caller's answer.
        let t = &*self.tree;
        let (locations, parents) = (t.locations(), t.parents());
        let mut found: Vec<Option<StackId>> = vec![None; t.len()];
        for i in 0..t.len() {
            found[i] = if beneath[locations[i] as usize] {
                Some(StackId::from_index(i))
            } else {
                parents[i].index().and_then(|p| found[p])
            };
        }
        for s in &mut self.samples {
            if let Some(cut) = s.stack.index().and_then(|i| found[i]) {
                s.stack = cut;
            }
        }
    }
}
