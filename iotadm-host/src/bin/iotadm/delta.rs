//! `iotadm delta apply`: applies a detools sequential patch (`detools create_patch -c
//! none|crle|heatshrink`) to an old image with the core's streaming `Patcher`, as a device
//! would, and keeps the result only when it hashes to the expected SHA-256.

use std::fs::{self, File};
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

use iotadm::firmware::delta::Compression;
use iotadm_host::delta::{apply as apply_patch, ApplyFailure};
#[cfg(test)]
use sha2::{Digest, Sha256};

/// Arguments of `iotadm delta apply`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct ApplyArgs {
    /// The old image the patch was made from.
    #[arg(long, value_name = "OLD")]
    pub(crate) from: PathBuf,
    /// The patch (detools sequential; compression none, crle or heatshrink).
    #[arg(long, value_name = "PATCH")]
    pub(crate) patch: PathBuf,
    /// The SHA-256 the new image must have, in hex (64 digits).
    #[arg(long, value_name = "HEX")]
    pub(crate) sha256: String,
    /// Where to write the new image; written only when its digest matches.
    #[arg(short = 'o', long = "out", value_name = "NEW")]
    pub(crate) out: PathBuf,
}

fn decode_sha256(s: &str) -> Result<[u8; 32], String> {
    let s = s.trim();
    let mut out = [0u8; 32];
    if s.len() != 64 {
        return Err(format!("--sha256: expected 64 hex digits, got {}", s.len()));
    }
    for (o, pair) in out.iter_mut().zip(s.as_bytes().chunks(2)) {
        *o = std::str::from_utf8(pair)
            .ok()
            .and_then(|p| u8::from_str_radix(p, 16).ok())
            .ok_or_else(|| format!("--sha256: not hex: {:?}", String::from_utf8_lossy(pair)))?;
    }
    Ok(out)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A temporary file beside `out`, removed on drop unless kept.
struct Temp {
    path: PathBuf,
    keep: bool,
}

impl Drop for Temp {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_file(&self.path);
        }
    }
}

fn temp_beside(out: &Path) -> Temp {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "image".into());
    let path = out.with_file_name(format!(".{name}.iotadm-{}.tmp", std::process::id()));
    Temp { path, keep: false }
}

/// Applies the patch; on success the new image is at `args.out` and the summary is
/// returned. On any failure nothing is left at `args.out` that was not there before.
pub(crate) fn apply(args: &ApplyArgs) -> Result<String, String> {
    let want = decode_sha256(&args.sha256)?;
    let old = fs::read(&args.from).map_err(|e| format!("{}: {e}", args.from.display()))?;
    let patch = File::open(&args.patch).map_err(|e| format!("{}: {e}", args.patch.display()))?;
    let temp = temp_beside(&args.out);
    let file = File::create(&temp.path).map_err(|e| format!("{}: {e}", temp.path.display()))?;
    let mut out = BufWriter::new(file);
    let applied = apply_patch(&old, &mut BufReader::new(patch), &mut out).map_err(|e| match e {
        ApplyFailure::Read(e) => format!("{}: {e}", args.patch.display()),
        ApplyFailure::Write(e) => format!("{}: {e}", temp.path.display()),
        e => e.to_string(),
    })?;
    let got = applied.image.sha256;
    if got != want {
        return Err(format!(
            "the new image hashes to {}, not {}",
            hex(&got),
            hex(&want)
        ));
    }
    let file = out
        .into_inner()
        .map_err(|e| format!("{}: {}", temp.path.display(), e.error()))?;
    file.sync_all()
        .map_err(|e| format!("{}: {e}", temp.path.display()))?;
    drop(file);
    let mut temp = temp;
    fs::rename(&temp.path, &args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    temp.keep = true;
    let compression = match applied.compression {
        Compression::None => "none",
        Compression::Crle => "crle",
        Compression::Heatshrink => "heatshrink",
        _ => "other",
    };
    Ok(format!(
        "{}: {} bytes, sha256 {} (patch {} bytes, {compression})",
        args.out.display(),
        applied.image.len,
        hex(&got),
        applied.patch_len
    ))
}

/// `iotadm delta apply`.
pub(crate) fn run(args: ApplyArgs) -> Result<(), String> {
    println!("{}", apply(&args)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// "hello world" to "hello, world!" by `detools create_patch -c heatshrink`.
    const PATCH: &[u8] = &[
        0x04, 0x0d, 0x44, 0x80, 0x41, 0x40, 0xa1, 0x21, 0x12, 0xc9, 0x05, 0xde, 0xdf, 0x72, 0xb6,
        0x59, 0x24, 0x30, 0x50,
    ];

    fn setup(name: &str) -> (PathBuf, ApplyArgs) {
        let dir = std::env::temp_dir().join(format!("iotadm-delta-{name}-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("temp dir");
        fs::write(dir.join("old.bin"), b"hello world").expect("old");
        fs::write(dir.join("p.bin"), PATCH).expect("patch");
        let args = ApplyArgs {
            from: dir.join("old.bin"),
            patch: dir.join("p.bin"),
            sha256: hex(&Sha256::digest(b"hello, world!")),
            out: dir.join("new.bin"),
        };
        (dir, args)
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != "old.bin" && n != "p.bin")
            .collect()
    }

    #[test]
    fn applies_and_checks_the_digest() {
        let (dir, args) = setup("ok");
        let summary = apply(&args).unwrap();
        assert!(summary.contains("13 bytes"), "{summary}");
        assert!(summary.contains("heatshrink"), "{summary}");
        assert_eq!(fs::read(&args.out).unwrap(), b"hello, world!");
        assert_eq!(leftovers(&dir), ["new.bin"]);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn failures_leave_no_file() {
        let (dir, args) = setup("bad");
        let mut a = args.clone();
        a.sha256 = "00".repeat(32);
        assert!(apply(&a).unwrap_err().contains("hashes to"));
        let mut a = args.clone();
        a.sha256 = "abc".into();
        assert!(apply(&a).unwrap_err().contains("64 hex digits"));
        let mut a = args.clone();
        a.sha256 = "zz".repeat(32);
        assert!(apply(&a).unwrap_err().contains("not hex"));
        fs::write(&args.patch, &PATCH[..10]).unwrap();
        assert!(apply(&args).unwrap_err().contains("truncated"));
        fs::write(&args.patch, [0x01, 0x00]).unwrap();
        assert!(apply(&args).unwrap_err().contains("compression"));
        let mut a = args.clone();
        a.from = dir.join("missing.bin");
        assert!(apply(&a).is_err());
        assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
        let _ = fs::remove_dir_all(&dir);
    }
}
