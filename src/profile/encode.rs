//! The model back into a wire message.

use std::collections::HashMap;

use super::{LabelValue, Profile, Str};
use crate::pprof::proto;

impl Profile {
    /// Encodes the profile back into a wire message (a fresh string table).
    pub fn to_proto(&self) -> proto::Profile {
        let mut t = StringTable::default();
        let sample_type = self
            .sample_types
            .iter()
            .map(|v| proto::ValueType {
                r#type: t.index(&v.name),
                unit: t.index(&v.unit),
            })
            .collect();
        let period_type = Some(proto::ValueType {
            r#type: t.index(&self.period_type.name),
            unit: t.index(&self.period_type.unit),
        });
        let sample = self
            .samples
            .iter()
            .map(|sm| proto::Sample {
                location_id: sm
                    .stack
                    .iter()
                    .map(|l| self.locations[l as usize].id)
                    .collect(),
                value: sm.values.to_vec(),
                label: sm
                    .labels
                    .iter()
                    .map(|l| match &l.value {
                        LabelValue::Str(v) => proto::Label {
                            key: t.index(&l.key),
                            str: t.index_set(v),
                            ..Default::default()
                        },
                        LabelValue::Num { value, unit } => proto::Label {
                            key: t.index(&l.key),
                            num: *value,
                            num_unit: unit.as_ref().map_or(0, |u| t.index_set(u)),
                            ..Default::default()
                        },
                    })
                    .collect(),
            })
            .collect();
        let mapping = self
            .mappings
            .iter()
            .map(|m| proto::Mapping {
                id: m.id,
                memory_start: m.memory_start,
                memory_limit: m.memory_limit,
                file_offset: m.file_offset,
                filename: t.index(&m.filename),
                build_id: t.index(&m.build_id),
                has_functions: m.has_functions,
                has_filenames: m.has_filenames,
                has_line_numbers: m.has_line_numbers,
                has_inline_frames: m.has_inline_frames,
            })
            .collect();
        let location = self
            .locations
            .iter()
            .map(|l| proto::Location {
                id: l.id,
                mapping_id: l.mapping.map_or(0, |m| self.mappings[m as usize].id),
                address: l.address,
                line: l
                    .lines
                    .iter()
                    .map(|ln| proto::Line {
                        function_id: self.functions[ln.function as usize].id,
                        line: ln.line,
                        column: ln.column,
                    })
                    .collect(),
                is_folded: l.is_folded,
            })
            .collect();
        let function = self
            .functions
            .iter()
            .map(|f| proto::Function {
                id: f.id,
                name: t.index(&f.name),
                system_name: t.index(&f.system_name),
                filename: t.index(&f.filename),
                start_line: f.start_line,
            })
            .collect();
        let comment = self.comments.iter().map(|c| t.index_set(c)).collect();
        proto::Profile {
            sample_type,
            sample,
            mapping,
            location,
            function,
            drop_frames: t.index(&self.drop_frames),
            keep_frames: t.index(&self.keep_frames),
            time_nanos: self.time_nanos,
            duration_nanos: self.duration_nanos,
            period_type,
            period: self.period,
            comment,
            default_sample_type: t.index(&self.default_sample_type),
            doc_url: t.index(&self.doc_url),
            string_table: t.strings,
        }
    }
}

/// Builds a string table for encoding.
struct StringTable {
    strings: Vec<Vec<u8>>,
    index: HashMap<Str, i64>,
    /// A second "" entry, for fields where index 0 would mean "unset".
    empty_set: Option<i64>,
}

impl Default for StringTable {
    fn default() -> Self {
        StringTable {
            strings: vec![Vec::new()],
            index: HashMap::new(),
            empty_set: None,
        }
    }
}

impl StringTable {
    fn index(&mut self, v: &Str) -> i64 {
        if v.is_empty() {
            return 0;
        }
        if let Some(&i) = self.index.get(v) {
            return i;
        }
        self.strings.push(v.as_bytes().to_vec());
        let i = self.strings.len() as i64 - 1;
        self.index.insert(v.clone(), i);
        i
    }

    /// Like `index`, but never 0: the field is set even when the text is empty.
    fn index_set(&mut self, v: &Str) -> i64 {
        if !v.is_empty() {
            return self.index(v);
        }
        if let Some(i) = self.empty_set {
            return i;
        }
        self.strings.push(Vec::new());
        let i = self.strings.len() as i64 - 1;
        self.empty_set = Some(i);
        i
    }
}
