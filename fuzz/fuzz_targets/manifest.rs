//! Any bytes as a bundle's `manifest.json`: the bundle opens, or the error
//! names the manifest; the checklist runs; and an `after_fix` is accepted
//! only when it leads to another bundle with evidence in this bundle's
//! folder or the folder that holds it (never this bundle, a folder that
//! holds it, or anything elsewhere, symbolic links followed).
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use heapframe::evidence::bundle::Bundle;
use heapframe::evidence::checklist::checklist;
use libfuzzer_sys::fuzz_target;

/// `<tmp>/top/holder/b` is the bundle; beside it `after` (a bundle),
/// `empty` (a folder), `up` (a link to `top`) and `root` (a link to `/`);
/// inside it `inner` (a bundle) and `self` (a link to itself).
fn layout() -> &'static (PathBuf, PathBuf) {
    static DIRS: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    DIRS.get_or_init(|| {
        let base = if Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let top = base.join(format!("heapframe-fuzz-manifest-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&top);
        let holder = top.join("holder");
        let b = holder.join("b");
        let scrape = "go_goroutines 3\n";
        for d in [
            &b.join("metrics"),
            &holder.join("after/metrics"),
            &b.join("inner/metrics"),
        ] {
            std::fs::create_dir_all(d).unwrap();
            std::fs::write(d.join("1700000000000.prom"), scrape).unwrap();
        }
        std::fs::create_dir_all(holder.join("empty")).unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&top, holder.join("up")).unwrap();
            std::os::unix::fs::symlink("/", holder.join("root")).unwrap();
            std::os::unix::fs::symlink(&b, b.join("self")).unwrap();
        }
        (holder.canonicalize().unwrap(), b.canonicalize().unwrap())
    })
}

fuzz_target!(|data: &[u8]| {
    let (holder, b) = layout();
    let manifest = b.join("manifest.json");
    std::fs::write(&manifest, data).unwrap();
    let bundle = match Bundle::open(b) {
        Ok(bundle) => bundle,
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.starts_with(&format!("{}: ", manifest.display())),
                "the error does not name the manifest: {msg}"
            );
            assert!(!msg.contains('\n'), "{msg:?}");
            return;
        }
    };
    let _ = checklist(&bundle, None);
    match bundle.after_fix() {
        Ok(None) => assert!(bundle.manifest.after_fix.is_none()),
        Ok(Some(after)) => {
            let root = after.root.as_ref().unwrap().canonicalize().unwrap();
            assert!(
                root.starts_with(holder),
                "after_fix left the holder: {}",
                root.display()
            );
            assert!(
                !b.starts_with(&root),
                "after_fix is this bundle or holds it: {}",
                root.display()
            );
            assert!(!after.metrics.samples.is_empty() || !after.heap.is_empty());
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.starts_with(&holder.display().to_string()), "{msg}");
            assert!(!msg.contains('\n'), "{msg:?}");
        }
    }
});
