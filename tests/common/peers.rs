//! The Python peers of the FOTA tests (`scripts/peers-venv.sh`: MCUboot's imgtool and
//! detools), found where the test command installs them.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A tool of the Python peer environment (`scripts/peers-venv.sh`: imgtool, detools), or
/// `None` when it is missing and `IOTADM_ALLOW_MISSING_PEERS` allows that.
pub fn python_peer(tool: &str) -> Option<PathBuf> {
    // The workspace root, from this crate's or a member's manifest directory.
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = here
        .ancestors()
        .find(|d| d.join("scripts/peers-venv.sh").exists())
        .unwrap_or(here);
    let venv = std::env::var_os("IOTADM_PEERS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/peers-venv"));
    let path = venv.join("bin").join(tool);
    if path.exists() {
        return Some(path);
    }
    if std::env::var_os("IOTADM_ALLOW_MISSING_PEERS").is_none() {
        panic!(
            "{} is missing: run ./scripts/peers-venv.sh (IOTADM_ALLOW_MISSING_PEERS=1 skips)",
            path.display()
        );
    }
    eprintln!("skipped (IOTADM_ALLOW_MISSING_PEERS is set): {tool} is not installed");
    None
}

/// The detools sequential patch from `from` to `to` with `compression`, made by the
/// `detools` tool itself.
pub fn detools_patch(from: &[u8], to: &[u8], compression: &str) -> Option<Vec<u8>> {
    static N: AtomicUsize = AtomicUsize::new(0);
    let tool = python_peer("detools")?;
    let dir = std::env::temp_dir().join(format!(
        "iotadm-detools-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let (f, t, p) = (dir.join("from"), dir.join("to"), dir.join("patch"));
    std::fs::write(&f, from).unwrap();
    std::fs::write(&t, to).unwrap();
    let out = Command::new(tool)
        .args(["create_patch", "-t", "sequential", "-c", compression])
        .args([&f, &t, &p])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "detools: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let patch = std::fs::read(&p).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    Some(patch)
}
