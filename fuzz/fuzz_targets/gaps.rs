//! Any bytes as a bundle's `gaps.jsonl`: reading it never fails on its
//! content (each line is a gap or reported as unreadable, naming the file
//! and line), and appending a gap keeps every byte that was there and every
//! gap that was read, with the new gap read back last and unchanged.
#![no_main]

use heapframe::live::collect::{Gap, append_gap, read_gaps};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("hf-fuzz-gaps-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("gaps.jsonl");
    std::fs::write(&path, data).unwrap();
    let name = path.display().to_string();

    let before = read_gaps(&path).expect("a gap log's content is never an error");
    let lines = data
        .split(|&b| b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .count();
    assert_eq!(before.gaps.len() + before.unreadable.len(), lines);
    for u in &before.unreadable {
        assert!(u.starts_with(&format!("{name}:")), "{u}");
    }

    // The new gap quotes the log's own bytes, as an error message might,
    // with a time from its first eight bytes.
    let mut time = [0u8; 8];
    let n = data.len().min(8);
    time[..n].copy_from_slice(&data[..n]);
    let gap = Gap {
        time_ms: i64::from_le_bytes(time),
        what: "heap".into(),
        stage: "fetch".into(),
        error: String::from_utf8_lossy(data).into_owned(),
    };
    append_gap(&path, &gap).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.starts_with(data), "the log's earlier bytes were changed");
    let after = read_gaps(&path).unwrap();
    assert_eq!(after.gaps.len(), before.gaps.len() + 1);
    assert_eq!(after.gaps[..before.gaps.len()], before.gaps[..]);
    assert_eq!(after.gaps.last(), Some(&gap));
    assert_eq!(after.unreadable.len(), before.unreadable.len());
});
