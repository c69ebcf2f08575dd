//! `iotadm delta apply` run as a user would, on patches made by the real detools (the
//! project's peers environment, `./scripts/peers-venv.sh`): the new image when the digest
//! matches, and on a damaged patch or a wrong digest a failing exit, one line on standard
//! error and no output file.
//!
//! Without detools these tests fail, unless `IOTADM_ALLOW_MISSING_PEERS` is set, in which
//! case they print why and pass.

#[path = "../../tests/common/peers.rs"]
mod peers;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

fn detools() -> Option<PathBuf> {
    peers::python_peer("detools")
}

/// A directory with an old image, a new one, and detools' patch between them.
struct Case {
    dir: PathBuf,
    new: Vec<u8>,
}

impl Case {
    fn new(tool: &Path, name: &str, compression: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("iotadm-cli-delta-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let old: Vec<u8> = (0..40_000u32).map(|i| (i * 7 + i / 300) as u8).collect();
        let mut new = old.clone();
        new.splice(1000..1000, *b"a few bytes inserted here");
        new.drain(20_000..21_000);
        for i in (0..new.len()).step_by(777) {
            new[i] ^= 0x10;
        }
        std::fs::write(dir.join("old.bin"), &old).unwrap();
        std::fs::write(dir.join("new.ref"), &new).unwrap();
        let out = Command::new(tool)
            .args(["create_patch", "-c", compression])
            .arg(dir.join("old.bin"))
            .arg(dir.join("new.ref"))
            .arg(dir.join("update.patch"))
            .output()
            .expect("run detools");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self { dir, new }
    }

    fn sha256(&self) -> String {
        Sha256::digest(&self.new)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn apply(&self, sha256: &str) -> Output {
        Command::new(env!("CARGO_BIN_EXE_iotadm"))
            .args(["delta", "apply", "--from"])
            .arg(self.dir.join("old.bin"))
            .arg("--patch")
            .arg(self.dir.join("update.patch"))
            .args(["--sha256", sha256, "-o"])
            .arg(self.dir.join("new.bin"))
            .output()
            .expect("run iotadm")
    }

    /// The files in the directory besides the inputs.
    fn outputs(&self) -> Vec<String> {
        std::fs::read_dir(&self.dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !["old.bin", "new.ref", "update.patch"].contains(&n.as_str()))
            .collect()
    }

    fn assert_refused(&self, out: &Output, reason: &str) {
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("iotadm delta apply: "), "{err}");
        assert!(err.contains(reason), "{err}");
        assert!(
            self.outputs().is_empty(),
            "left behind: {:?}",
            self.outputs()
        );
    }
}

impl Drop for Case {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn applies_a_detools_patch() {
    let Some(tool) = detools() else { return };
    for c in ["none", "crle", "heatshrink"] {
        let case = Case::new(&tool, &format!("ok-{c}"), c);
        let out = case.apply(&case.sha256());
        assert!(
            out.status.success(),
            "{c}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            std::fs::read(case.dir.join("new.bin")).unwrap(),
            case.new,
            "{c}"
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains(&format!("{} bytes", case.new.len())),
            "{text}"
        );
        assert!(text.contains(c), "{text}");
        assert_eq!(case.outputs(), ["new.bin"]);
    }
}

#[test]
fn a_damaged_patch_leaves_no_output() {
    let Some(tool) = detools() else { return };
    let case = Case::new(&tool, "damaged", "heatshrink");
    let patch_path = case.dir.join("update.patch");
    let patch = std::fs::read(&patch_path).unwrap();

    // Cut short.
    std::fs::write(&patch_path, &patch[..patch.len() / 2]).unwrap();
    case.assert_refused(
        &case.apply(&case.sha256()),
        "patch refused: patch truncated",
    );

    // Bytes changed in the middle: refused, or another image whose digest does not match.
    let mut bad = patch.clone();
    let mid = bad.len() / 2;
    for b in &mut bad[mid..mid + 4] {
        *b ^= 0xa5;
    }
    std::fs::write(&patch_path, &bad).unwrap();
    let out = case.apply(&case.sha256());
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let reason = if err.contains("patch refused") {
        "patch refused"
    } else {
        "hashes to"
    };
    case.assert_refused(&out, reason);

    // Another patch type: lzma, detools' default compression.
    std::fs::write(&patch_path, [0x01, 0x10]).unwrap();
    case.assert_refused(
        &case.apply(&case.sha256()),
        "unsupported patch compression 1",
    );
}

#[test]
fn a_wrong_digest_leaves_no_output() {
    let Some(tool) = detools() else { return };
    let case = Case::new(&tool, "digest", "crle");
    let mut wrong = case.sha256().into_bytes();
    wrong[0] = if wrong[0] == b'0' { b'1' } else { b'0' };
    let out = case.apply(std::str::from_utf8(&wrong).unwrap());
    case.assert_refused(&out, "the new image hashes to");
    case.assert_refused(&case.apply("not-hex"), "--sha256");
}

/// `iotadm package --delta-from OLD --payload NEW --patch PATCH` builds a format 2 package
/// naming both images; a patch that does not give NEW is refused and nothing is written.
#[test]
fn package_builds_a_delta_package_only_from_a_patch_that_gives_the_image() {
    let Some(tool) = detools() else { return };
    let case = Case::new(&tool, "package", "heatshrink");
    let build = |payload: &str| {
        Command::new(env!("CARGO_BIN_EXE_iotadm"))
            .args(["package", "--model", "IOTA-1", "--to-code", "7"])
            .args(["--to-version", "7.0", "--key-hex", "00112233"])
            .arg("--delta-from")
            .arg(case.dir.join("old.bin"))
            .arg("--payload")
            .arg(case.dir.join(payload))
            .arg("--patch")
            .arg(case.dir.join("update.patch"))
            .arg("-o")
            .arg(case.dir.join("delta.pkg"))
            .output()
            .expect("run iotadm")
    };
    let out = build("new.ref");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pkg = std::fs::read(case.dir.join("delta.pkg")).unwrap();
    let header = iotadm::firmware::PackageHeader::parse(&pkg).unwrap();
    let delta = header.delta().expect("a format 2 header");
    let old = std::fs::read(case.dir.join("old.bin")).unwrap();
    let digest = iotadm::firmware::package::ImageDigest::of;
    assert_eq!(delta.base, digest(&old).unwrap());
    assert_eq!(delta.target, digest(&case.new).unwrap());
    assert_eq!(header.image(), delta.target);
    let patch = std::fs::read(case.dir.join("update.patch")).unwrap();
    assert_eq!(&pkg[header.len()..], &patch[..]);
    std::fs::remove_file(case.dir.join("delta.pkg")).unwrap();

    // The old image as "new": the patch does not give it.
    let out = build("old.bin");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does not give"), "{err}");
    assert!(!case.dir.join("delta.pkg").exists());
}
