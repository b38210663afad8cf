//! Goroutine leaks: counts, growth by creator and by blocking stack, and
//! Go 1.27's `goroutineleak` profile.

use crate::error::Result;
use crate::growth::classify::Classifier;
use crate::growth::{GrowthKey, GrowthOptions, GrowthTable, growth};
use crate::growth::{KeyInterner, values_by_key};

/// The goroutine leak check of a bundle.
#[derive(Debug, Clone)]
pub struct GoroutineCheck {
    /// Goroutines at each goroutine snapshot: `(time_ms, count)`.
    pub counts: Vec<(i64, i64)>,
    /// Growth by the function each goroutine was started with.
    pub by_creator: Option<GrowthTable>,
    /// Growth by blocking stack (the four innermost frames).
    pub by_blocking_stack: Option<GrowthTable>,
    /// From the last `goroutineleak` profile (Go 1.27), when present:
    /// leaked goroutines per creating function, most first.
    pub leaked: Vec<(String, i64)>,
}

/// Goroutine counts and growth by creator and by blocking stack, plus Go
/// 1.27's `goroutineleak` profile when the bundle has one.
pub fn goroutine_check(bundle: &crate::evidence::bundle::Bundle) -> Result<GoroutineCheck> {
    let g = &bundle.goroutine;
    let counts = g
        .iter()
        .map(|s| {
            (
                s.time_ms,
                s.profile.samples.iter().map(|x| x.values[0]).sum(),
            )
        })
        .collect();
    let table = |key: GrowthKey| -> Result<Option<GrowthTable>> {
        if g.is_empty() {
            return Ok(None);
        }
        growth(
            g,
            &GrowthOptions {
                key,
                ..Default::default()
            },
        )
        .map(Some)
    };
    let mut leaked = Vec::new();
    if let Some(last) = bundle.goroutineleak.last() {
        let mut keys = KeyInterner::default();
        let values = values_by_key(
            &last.profile,
            0,
            &GrowthKey::Root,
            &Classifier { rules: vec![] },
            &mut keys,
        );
        let names = keys.into_names();
        let mut by = values
            .into_iter()
            .filter(|(_, v)| *v != 0)
            .map(|(id, v)| (names[id as usize].clone(), v))
            .collect::<Vec<_>>();
        by.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        leaked = by;
    }
    Ok(GoroutineCheck {
        counts,
        by_creator: table(GrowthKey::Root)?,
        by_blocking_stack: table(GrowthKey::Path(Some(4)))?,
        leaked,
    })
}
