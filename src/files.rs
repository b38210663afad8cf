//! Files: bounded reads of regular files, modification times, atomic
//! writes that never replace evidence, and the temporaries those writes
//! leave behind.
//!
//! Everything a bundle names is read through [`read_regular`]: the file
//! must be a regular file (a FIFO would block the reader forever, a device
//! such as `/dev/zero` never ends) and no larger than the limit of its kind
//! ([`MAX_MANIFEST_BYTES`], [`MAX_SCRAPE_BYTES`], ...). The check is made on
//! the opened file, so a file swapped between the check and the read is
//! still checked.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, FileError, Result};

/// The largest `manifest.json` read (1 MiB): a manifest is a few lines of
/// text written by a person or the collector.
pub const MAX_MANIFEST_BYTES: u64 = 1 << 20;

/// The largest Prometheus text scrape (`metrics/*.prom`) read (64 MiB): a
/// service's `/metrics` page is rarely more than a few MiB.
pub const MAX_SCRAPE_BYTES: u64 = 64 << 20;

/// The largest metrics table (`metrics/*.csv`) read (512 MiB): an import of
/// Prometheus history holds at most 11,000 points per series, and a
/// request counter can have hundreds of series.
pub const MAX_METRICS_TABLE_BYTES: u64 = 512 << 20;

/// Reads the regular file at `path`, at most `limit` bytes; `what` names
/// the kind of file in the error (`"a metrics scrape"`). Refuses FIFOs,
/// devices, sockets and folders without reading from them, and a file
/// larger than `limit` without reading it.
///
/// ```
/// use heapframe::files::{read_regular, MAX_MANIFEST_BYTES};
/// let text = read_regular("Cargo.toml".as_ref(), MAX_MANIFEST_BYTES, "a manifest")?;
/// assert!(text.starts_with(b"[package]"));
/// let err = read_regular("/dev/null".as_ref(), 10, "a manifest").unwrap_err();
/// assert!(err.to_string().contains("not a regular file"));
/// # Ok::<(), heapframe::Error>(())
/// ```
pub fn read_regular(path: &Path, limit: u64, what: &'static str) -> Result<Vec<u8>> {
    let fail = |error: FileError| Error::File {
        path: path.display().to_string(),
        error,
    };
    let file = open_regular(path).map_err(fail)?;
    let len = file.metadata().map_err(|e| fail(FileError::Io(e)))?.len();
    if len > limit {
        return Err(fail(FileError::TooLarge { what, limit }));
    }
    let mut data = Vec::with_capacity(len as usize);
    file.take(limit.saturating_add(1))
        .read_to_end(&mut data)
        .map_err(|e| fail(FileError::Io(e)))?;
    if data.len() as u64 > limit {
        return Err(fail(FileError::TooLarge { what, limit }));
    }
    Ok(data)
}

/// Opens the regular file at `path` for streaming (a FIFO, device, socket
/// or folder is refused without reading from it). The caller bounds what it
/// reads.
pub fn open_regular_file(path: &Path) -> Result<std::fs::File> {
    open_regular(path).map_err(|error| Error::File {
        path: path.display().to_string(),
        error,
    })
}

/// Opens `path` for reading if it is a regular file (symbolic links are
/// followed). The file is opened without blocking, so a FIFO is refused
/// rather than waited on, and checked once open.
fn open_regular(path: &Path) -> std::result::Result<std::fs::File, FileError> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // O_NONBLOCK: opening a FIFO does not wait for a writer. It has no
        // effect on reads of a regular file.
        options.custom_flags(O_NONBLOCK);
    }
    let file = options.open(path).map_err(FileError::Io)?;
    let kind = file.metadata().map_err(FileError::Io)?.file_type();
    if kind.is_file() {
        Ok(file)
    } else {
        Err(FileError::NotRegular {
            kind: describe_file_type(kind),
        })
    }
}

#[cfg(all(
    unix,
    any(target_os = "macos", target_os = "ios", target_os = "freebsd")
))]
const O_NONBLOCK: i32 = 0x0004;
#[cfg(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))
))]
const O_NONBLOCK: i32 = 0o4000;

fn describe_file_type(kind: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO";
        } else if kind.is_char_device() {
            return "a character device";
        } else if kind.is_block_device() {
            return "a block device";
        } else if kind.is_socket() {
            return "a socket";
        }
    }
    if kind.is_dir() {
        "a folder"
    } else {
        "not a file"
    }
}

/// A file's modification time in Unix milliseconds.
pub fn mtime_ms(path: &Path) -> Option<i64> {
    let m = std::fs::metadata(path).ok()?.modified().ok()?;
    let d = m.duration_since(std::time::UNIX_EPOCH).ok()?;
    Some(d.as_millis() as i64)
}

/// Writes `bytes` as a new file in `dir`, atomically and without ever
/// replacing a file: the bytes go to a hidden temporary file in the same
/// folder (ignored by `Bundle::open`), are synced to disk, and the file
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
    let tmp = dir.join(temp_name(&format!("{time_ms}.{ext}")));
    let mut f = create_temp(&tmp).map_err(|e| err("write", &tmp, e))?;
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
    let tmp = dir.join(temp_name(&name));
    let err = |e: std::io::Error| Error::Output(format!("{}: cannot write: {e}", path.display()));
    let mut f = create_temp(&tmp).map_err(err)?;
    if let Err(e) = f.write_all(bytes).and_then(|_| f.sync_all()) {
        let _ = std::fs::remove_file(&tmp);
        return Err(err(e));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(e)
    })
}

/// What every temporary file heapframe writes has in its name, and no
/// other program's file has: `.NAME.heapframe-tmp-PID-RANDOM`.
pub const TEMP_MARKER: &str = ".heapframe-tmp-";

/// A hidden temporary name for a file that will be called `name`:
/// `.NAME.heapframe-tmp-PID-RANDOM` (RANDOM: 64 random bits, so a name
/// cannot be guessed and planted in advance).
///
/// ```
/// let t = heapframe::files::temp_name("1.pb.gz");
/// assert!(t.starts_with(".1.pb.gz.heapframe-tmp-"));
/// assert_ne!(t, heapframe::files::temp_name("1.pb.gz"));
/// ```
pub fn temp_name(name: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    // Each RandomState is seeded afresh from the system's randomness.
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    format!(".{name}{TEMP_MARKER}{}-{random:016x}", std::process::id())
}

/// Creates a temporary file that must not exist yet (never follows a link
/// planted at its name).
fn create_temp(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

/// Removes the temporary files heapframe itself wrote in `dir` (named by
/// [`temp_name`]) that a writer killed mid-write left behind; returns how
/// many. Nothing else is ever touched: not complete files, not other
/// programs' temporaries however they are named, not the temporaries of a
/// process that is still running (on Linux, where `/proc` tells). Call it
/// only on a folder known to be heapframe's.
pub fn remove_stale_temp_files(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut n = 0;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some((_, owner)) = name.rsplit_once(TEMP_MARKER) else {
            continue;
        };
        let Some((pid, random)) = owner.split_once('-') else {
            continue;
        };
        let ours = name.starts_with('.')
            && !random.is_empty()
            && random.bytes().all(|b| b.is_ascii_hexdigit())
            && e.file_type().is_ok_and(|t| t.is_file());
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        let alive = pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists();
        if ours && !alive && std::fs::remove_file(e.path()).is_ok() {
            n += 1;
        }
    }
    n
}

/// An exclusive hold on a file that several heapframe processes rewrite
/// (read, change, replace), such as a bundle's `manifest.json`: while it
/// is held, a second writer waits instead of overwriting the first one's
/// change with its own stale copy. It is a file beside the one it guards
/// (`.NAME.heapframe-lock`, holding the owner's process id), created
/// exclusively and removed when the hold is dropped.
#[derive(Debug)]
pub struct FileLock {
    path: PathBuf,
}

/// A lock whose owner is gone (on Linux, where `/proc` tells) or that is
/// older than this is left over from a killed writer, and is taken over.
pub const STALE_LOCK: std::time::Duration = std::time::Duration::from_secs(120);

impl FileLock {
    /// Holds `path` for rewriting, waiting up to `wait` for another
    /// holder to finish. A lock left by a writer that died is taken over;
    /// a lock that is not a regular file is refused.
    ///
    /// ```
    /// use heapframe::files::FileLock;
    /// let dir = std::env::temp_dir().join(format!("hf-doc-lock-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let f = dir.join("manifest.json");
    /// let held = FileLock::hold(&f, std::time::Duration::from_secs(5))?;
    /// // a second hold waits, then gives up with an error naming the lock
    /// let e = FileLock::hold(&f, std::time::Duration::from_millis(50)).unwrap_err();
    /// assert!(e.to_string().contains(".manifest.json.heapframe-lock"));
    /// drop(held);
    /// FileLock::hold(&f, std::time::Duration::from_secs(5))?;
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn hold(path: &Path, wait: std::time::Duration) -> Result<FileLock> {
        use std::io::Write;
        let dir = path.parent().unwrap_or(Path::new("."));
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let lock = dir.join(format!(".{name}.heapframe-lock"));
        let start = std::time::Instant::now();
        loop {
            match create_temp(&lock) {
                Ok(mut f) => {
                    let _ = write!(f, "{}", std::process::id());
                    return Ok(FileLock { path: lock });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if lock_is_stale(&lock)? {
                        // Another waiter may take it over first: then the
                        // next round waits for that one.
                        let _ = std::fs::remove_file(&lock);
                        continue;
                    }
                    if start.elapsed() >= wait {
                        return Err(Error::Output(format!(
                            "{}: another heapframe process is changing it (it holds {}); try again, or remove that file if no heapframe is running",
                            path.display(),
                            lock.display()
                        )));
                    }
                    std::thread::sleep(std::time::Duration::from_millis(15));
                }
                Err(e) => {
                    return Err(Error::Output(format!(
                        "{}: cannot lock it for writing ({}): {e}",
                        path.display(),
                        lock.display()
                    )));
                }
            }
        }
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Whether the lock file at `lock` was left by a writer that is gone: its
/// process no longer runs (Linux) or it is older than [`STALE_LOCK`]. A
/// lock that is not a regular file is an error; one that vanished is
/// stale (the next try creates it).
fn lock_is_stale(lock: &Path) -> Result<bool> {
    let meta = match lock.symlink_metadata() {
        Ok(m) => m,
        Err(_) => return Ok(true),
    };
    if !meta.file_type().is_file() {
        return Err(Error::Output(format!(
            "{}: the lock is {}, not a file heapframe wrote; remove it",
            lock.display(),
            describe_file_type(meta.file_type())
        )));
    }
    let old = meta
        .modified()
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age > STALE_LOCK);
    // A lock just created may not hold its id yet: not stale by its id.
    let mut text = String::new();
    let owner_gone = std::fs::File::open(lock)
        .and_then(|f| f.take(16).read_to_string(&mut text))
        .ok()
        .and_then(|_| text.trim().parse::<u32>().ok())
        .is_some_and(|pid| {
            pid != std::process::id()
                && Path::new("/proc/self").exists()
                && !Path::new(&format!("/proc/{pid}")).exists()
        });
    Ok(old || owner_gone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_marked_temporaries_of_dead_processes_are_removed() {
        let dir = std::env::temp_dir().join(format!("hf-files-stale-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join(".x.heapframe-tmp-999999999-ab")).unwrap();
        let dead = ".1.pb.gz.heapframe-tmp-999999999-00ff";
        let keep = [
            ".1.pb.gz.tmp-999999999",
            ".draft.heapframe-tmp-999999999-zz",
            ".draft.heapframe-tmp-999999999",
            "1.pb.gz.heapframe-tmp-999999999-ab",
            "1.pb.gz",
        ];
        let mine = temp_name("2.pb.gz");
        for f in keep.iter().chain([&dead, &mine.as_str()]) {
            std::fs::write(dir.join(f), b"x").unwrap();
        }
        assert_eq!(remove_stale_temp_files(&dir), 1);
        assert!(!dir.join(dead).exists());
        for f in keep.iter().chain([&mine.as_str()]) {
            assert!(dir.join(f).exists(), "{f}");
        }
        assert!(dir.join(".x.heapframe-tmp-999999999-ab").is_dir());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
