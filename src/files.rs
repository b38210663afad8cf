//! Files: modification times, atomic writes that never replace evidence,
//! and the temporaries those writes leave behind.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A file's modification time in Unix milliseconds.
pub fn mtime_ms(path: &Path) -> Option<i64> {
    let m = std::fs::metadata(path).ok()?.modified().ok()?;
    let d = m.duration_since(std::time::UNIX_EPOCH).ok()?;
    Some(d.as_millis() as i64)
}

/// Writes `bytes` as a new file in `dir`, atomically and without ever
/// replacing a file: the bytes go to a hidden temporary file in the same
/// folder (ignored by [`Bundle::open`]), are synced to disk, and the file
/// is then linked under its final name, which fails rather than overwrite.
/// The name is `<time_ms>.<ext>`; when that exists, the next millisecond is
/// tried, so names stay Unix milliseconds (what metric scrapes are read by)
/// and sort in time order. Returns the path written.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("hf-doc-write-new-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let a = heapframe::files::write_new(&dir, 1_700_000_000_000, "prom", b"up 1\n")?;
/// let b = heapframe::files::write_new(&dir, 1_700_000_000_000, "prom", b"up 0\n")?;
/// assert_ne!(a, b);
/// assert_eq!(std::fs::read(&a).unwrap(), b"up 1\n");
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), heapframe::Error>(())
/// ```
pub fn write_new(dir: &Path, time_ms: i64, ext: &str, bytes: &[u8]) -> Result<PathBuf> {
    use std::io::Write;
    let err = |what: &str, p: &Path, e: std::io::Error| {
        Error::Output(format!("{}: cannot {what}: {e}", p.display()))
    };
    let tmp = dir.join(format!(".{time_ms}.{ext}.tmp-{}", std::process::id()));
    let mut f = std::fs::File::create(&tmp).map_err(|e| err("write", &tmp, e))?;
    if let Err(e) = f.write_all(bytes).and_then(|_| f.sync_all()) {
        let _ = std::fs::remove_file(&tmp);
        return Err(err("write", &tmp, e));
    }
    drop(f);
    let mut t = time_ms;
    let result = loop {
        let path = dir.join(format!("{t}.{ext}"));
        match std::fs::hard_link(&tmp, &path) {
            Ok(()) => break Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => t += 1,
            Err(e) => break Err(err("write", &path, e)),
        }
    };
    let _ = std::fs::remove_file(&tmp);
    if result.is_ok()
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    result
}

/// Replaces `path` with `bytes` atomically (temporary file, sync, rename),
/// for files that are rewritten as a whole, such as `manifest.json`.
pub fn replace_file(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let err = |e: std::io::Error| Error::Output(format!("{}: cannot write: {e}", path.display()));
    let mut f = std::fs::File::create(&tmp).map_err(err)?;
    if let Err(e) = f.write_all(bytes).and_then(|_| f.sync_all()) {
        let _ = std::fs::remove_file(&tmp);
        return Err(err(e));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(e)
    })
}

/// Removes temporary files (`.NAME.tmp-PID`) that a writer killed mid-write
/// left in `dir`; returns how many. Complete files are never touched, nor
/// the temporaries of a process that is still running (on Linux, where
/// `/proc` tells).
pub fn remove_stale_temp_files(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut n = 0;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some((_, pid)) = name.rsplit_once(".tmp-") else {
            continue;
        };
        let alive = pid
            .parse::<u32>()
            .is_ok_and(|p| p != std::process::id() && Path::new(&format!("/proc/{p}")).exists());
        if name.starts_with('.') && !alive && std::fs::remove_file(e.path()).is_ok() {
            n += 1;
        }
    }
    n
}
