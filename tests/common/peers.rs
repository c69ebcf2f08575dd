//! The peers of the tests: the Python ones of the FOTA tests (`scripts/peers-venv.sh`:
//! MCUboot's imgtool and detools), found where the test command installs them, and the
//! system's (libwbxml's tools), found on the `PATH`.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

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

/// A tool the test command installs from the system's packages (libwbxml's `xml2wbxml`
/// and `wbxml2xml`), found on the `PATH`, or `None` when it is missing and
/// `IOTADM_ALLOW_MISSING_PEERS` allows that.
pub fn system_peer(tool: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(tool))
            .find(|path| path.is_file())
    });
    if found.is_none() {
        if std::env::var_os("IOTADM_ALLOW_MISSING_PEERS").is_none() {
            panic!("{tool} is not installed: run ./scripts/test.sh (IOTADM_ALLOW_MISSING_PEERS=1 skips)");
        }
        eprintln!("skipped (IOTADM_ALLOW_MISSING_PEERS is set): {tool} is not installed");
    }
    found
}

/// The detools sequential patch from `from` to `to` with `compression`, made by the
/// `detools` tool itself.
pub fn detools_patch(from: &[u8], to: &[u8], compression: &str) -> Option<Vec<u8>> {
    let tool = python_peer("detools")?;
    let dir = peer_scratch("detools");
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

/// A key made by `imgtool keygen`: its PEM file, and its public key's DER
/// `SubjectPublicKeyInfo` (`imgtool getpub -e raw`).
pub struct ImgtoolKey {
    pub pem: std::path::PathBuf,
    pub spki: Vec<u8>,
}

/// A scratch directory of its own for one run of a peer tool.
pub fn peer_scratch(tool: &str) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "iotadm-{tool}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn run_peer(tool: &std::path::Path, args: &[&std::ffi::OsStr]) -> Vec<u8> {
    let out = std::process::Command::new(tool)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} {args:?}: {}",
        tool.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A new key of `kind` (`ed25519`, `ecdsa-p256`) made by MCUboot's imgtool, or `None` when
/// imgtool is missing and `IOTADM_ALLOW_MISSING_PEERS` allows that. The key file stays for
/// the rest of the test process.
pub fn imgtool_keygen(kind: &str) -> Option<ImgtoolKey> {
    let tool = python_peer("imgtool")?;
    let pem = peer_scratch("imgtool-key").join("key.pem");
    let os = |s: &str| std::ffi::OsString::from(s);
    run_peer(
        &tool,
        &[
            &os("keygen"),
            &os("-k"),
            pem.as_os_str(),
            &os("-t"),
            &os(kind),
        ],
    );
    let spki = run_peer(
        &tool,
        &[
            &os("getpub"),
            &os("-k"),
            pem.as_os_str(),
            &os("-e"),
            &os("raw"),
        ],
    );
    Some(ImgtoolKey { pem, spki })
}

/// `imgtool sign` of `payload` with the private key at `key`: a 0x200-byte header padded in
/// front (where the installer runs an image, `IMAGE_OFFSET`), then `options` (alignment,
/// version, slot size...), which come last and so override the header's.
pub fn imgtool_sign_with(key: &std::path::Path, payload: &[u8], options: &[&str]) -> Vec<u8> {
    let tool = python_peer("imgtool").expect("a key was made, so imgtool is there");
    let dir = peer_scratch("imgtool-sign");
    let (input, output) = (dir.join("app.bin"), dir.join("app.signed.bin"));
    std::fs::write(&input, payload).unwrap();
    let mut args: Vec<&std::ffi::OsStr> = ["sign", "--header-size", "0x200", "--pad-header"]
        .iter()
        .chain(options)
        .map(std::ffi::OsStr::new)
        .collect();
    args.extend([
        std::ffi::OsStr::new("--key"),
        key.as_os_str(),
        input.as_os_str(),
        output.as_os_str(),
    ]);
    run_peer(&tool, &args);
    let image = std::fs::read(&output).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    image
}
