//! Delta patches made by the real detools (PyPI detools 0.53.0, in the project's peers
//! environment: `./scripts/peers-venv.sh`), applied with `firmware::delta::Patcher` fed in
//! pieces of 1, 7, 512 bytes and whole, must give the new image byte for byte; damaged
//! patches are refused or give another image, never a panic or a write past the announced
//! size; and the options detools has beyond the plain sequential patch are refused by name.
//!
//! Without detools these tests fail, unless `IOTADM_ALLOW_MISSING_PEERS` is set, in which
//! case they print why and pass.

#[path = "common/peers.rs"]
mod peers;

use std::path::{Path, PathBuf};
use std::process::Command;

use iotadm::firmware::delta::{
    ApplyError, DeltaSink, DeltaSource, PatchError, PatchInfo, Patcher, DEFAULT_WORKSPACE_LEN,
    MAX_WORKSPACE_LEN,
};

const COMPRESSIONS: [&str; 3] = ["none", "heatshrink", "crle"];
const CHUNKS: [usize; 4] = [1, 7, 512, usize::MAX];

fn detools() -> Option<PathBuf> {
    peers::python_peer("detools")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("iotadm-delta-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `detools create_patch` with these options; the patch's bytes.
fn create_patch(tool: &Path, dir: &Path, from: &[u8], to: &[u8], opts: &[&str]) -> Vec<u8> {
    let (f, t, p) = (
        dir.join("from.bin"),
        dir.join("to.bin"),
        dir.join("patch.bin"),
    );
    std::fs::write(&f, from).unwrap();
    std::fs::write(&t, to).unwrap();
    let out = Command::new(tool)
        .arg("create_patch")
        .args(opts)
        .args([&f, &t, &p])
        .output()
        .expect("run detools");
    assert!(
        out.status.success(),
        "detools create_patch {opts:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(&p).unwrap()
}

/// The old image in memory; checks every read is inside it and small.
struct Old<'a>(&'a [u8]);

impl DeltaSource for Old<'_> {
    type Error = String;
    fn len(&self) -> u32 {
        self.0.len() as u32
    }
    fn read_at(&mut self, offset: u32, buf: &mut [u8]) -> Result<(), String> {
        assert!(buf.len() <= 64, "read of {} bytes", buf.len());
        let at = offset as usize;
        let src = self
            .0
            .get(at..at + buf.len())
            .unwrap_or_else(|| panic!("read at {at}+{} outside {}", buf.len(), self.0.len()));
        buf.copy_from_slice(src);
        Ok(())
    }
}

/// The new image in memory; checks nothing is written past the announced size.
struct New {
    bytes: Vec<u8>,
    limit: Option<u32>,
}

impl DeltaSink for New {
    type Error = String;
    fn write(&mut self, data: &[u8]) -> Result<(), String> {
        self.bytes.extend_from_slice(data);
        let limit = self.limit.expect("a write before the header was read");
        assert!(
            self.bytes.len() as u64 <= u64::from(limit),
            "write past to_size"
        );
        Ok(())
    }
}

type Outcome = Result<Vec<u8>, ApplyError<String, String>>;

fn apply_with(workspace: &mut [u8], from: &[u8], patch: &[u8], chunk: usize) -> Outcome {
    let mut p = Patcher::new(workspace);
    let mut new = New {
        bytes: Vec::new(),
        limit: None,
    };
    for piece in patch.chunks(chunk.clamp(1, patch.len().max(1))) {
        // The header may end inside this piece: the sink learns the size from the patcher
        // as soon as it knows it, and the first write is always after that.
        new.limit = Some(u32::MAX);
        let r = p.feed(piece, &mut Old(from), &mut new);
        new.limit = p.to_size();
        if let Some(limit) = new.limit {
            assert!(new.bytes.len() as u64 <= u64::from(limit));
        }
        assert_eq!(p.produced() as usize, new.bytes.len());
        r?;
    }
    let n = p.finish()?;
    assert_eq!(n as usize, new.bytes.len());
    Ok(new.bytes)
}

fn apply(from: &[u8], patch: &[u8], chunk: usize) -> Outcome {
    let mut ws = [0u8; DEFAULT_WORKSPACE_LEN];
    apply_with(&mut ws, from, patch, chunk)
}

/// xorshift: the same images on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// Firmware-like bytes: mostly a few common values (zeros, opcodes, 0xFF padding),
    /// some random.
    fn image(&mut self, len: usize) -> Vec<u8> {
        const COMMON: &[u8] = &[
            0x00, 0x00, 0x00, 0x01, 0x02, 0x10, 0x20, 0x48, 0x4c, 0xf0, 0xff,
        ];
        (0..len)
            .map(|_| match self.below(4) {
                0 => self.next() as u8,
                _ => COMMON[self.below(COMMON.len())],
            })
            .collect()
    }
}

/// The pairs: (name, from, to).
fn pairs() -> Vec<(&'static str, Vec<u8>, Vec<u8>)> {
    let mut rng = Rng(0x1ad5_e3f0_77c1_9b2d);
    let base = rng.image(160 * 1024);

    // Edits: runs inserted and deleted, scattered bytes changed.
    let mut edited = base.clone();
    for i in (0..edited.len()).step_by(1013) {
        edited[i] = edited[i].wrapping_add(1 + (i % 7) as u8);
    }
    edited.splice(20_000..20_000, std::iter::repeat_n(0xA5, 700));
    edited.drain(60_000..64_096);
    let fresh = rng.image(3000);
    edited.splice(100_000..100_000, fresh);
    edited.drain(140_000..140_050);

    // A code-like image where a block moved and addresses shifted by 4.
    let mut words: Vec<u8> = Vec::new();
    for i in 0..(48 * 1024u32) {
        let w = if i % 3 == 0 {
            0x0800_0000 + i * 4
        } else {
            rng.next() as u32 & 0xffff
        };
        words.extend_from_slice(&w.to_le_bytes());
    }
    let mut shifted = Vec::new();
    for (i, c) in words.chunks(4).enumerate() {
        let w = u32::from_le_bytes(c.try_into().unwrap());
        let w = if i % 3 == 0 { w + 4 } else { w };
        shifted.extend_from_slice(&w.to_le_bytes());
    }
    shifted.rotate_left(8 * 1024);

    let small = rng.image(12 * 1024);
    let mut grown = Vec::new();
    for k in 0.. {
        if grown.len() >= 200 * 1024 {
            break;
        }
        grown.extend_from_slice(&small[(k % 20) * 512..]);
        grown.extend(rng.image(200));
    }
    grown.truncate(200 * 1024);

    let huge = rng.image(200 * 1024);
    let mut cut = huge[150_000..170_000].to_vec();
    cut.extend_from_slice(&huge[10_000..12_000]);

    vec![
        ("edits", base.clone(), edited),
        ("code-shift", words, shifted),
        ("empty-from", Vec::new(), rng.image(20 * 1024)),
        (
            "identical",
            base[..64 * 1024].to_vec(),
            base[..64 * 1024].to_vec(),
        ),
        ("from-much-bigger", huge, cut),
        ("to-much-bigger", small, grown),
        ("empty-to", base[..1000].to_vec(), Vec::new()),
        ("tiny", b"hello world".to_vec(), b"hello, world!".to_vec()),
    ]
}

#[test]
fn detools_patches_apply_byte_exact_in_any_pieces() {
    let Some(tool) = detools() else { return };
    let dir = scratch("exact");
    let mut sizes = String::new();
    for (name, from, to) in pairs() {
        for c in COMPRESSIONS {
            let patch = create_patch(
                &tool,
                &dir,
                &from,
                &to,
                &["--patch-type", "sequential", "-c", c],
            );
            let info = PatchInfo::parse(&patch).unwrap();
            assert_eq!(info.to_size as usize, to.len(), "{name} {c}");
            assert!(info.workspace_len() <= DEFAULT_WORKSPACE_LEN);
            sizes.push_str(&format!(
                "{name:>16} {c:>10}: from {:>6} to {:>6} patch {:>6}\n",
                from.len(),
                to.len(),
                patch.len()
            ));
            for chunk in CHUNKS {
                let out = apply(&from, &patch, chunk)
                    .unwrap_or_else(|e| panic!("{name} {c} in pieces of {chunk}: {e:?}"));
                assert!(out == to, "{name} {c} in pieces of {chunk}: wrong image");
            }
        }
    }
    eprint!("{sizes}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn other_detools_options() {
    let Some(tool) = detools() else { return };
    let dir = scratch("options");
    let pairs = pairs();
    let (_, from, to) = &pairs[0];

    // The match-blocks algorithm writes the same sequential commands.
    for c in COMPRESSIONS {
        let opts = ["--patch-type", "sequential", "-a", "match-blocks", "-c", c];
        let patch = create_patch(&tool, &dir, from, to, &opts);
        assert!(apply(from, &patch, 512).unwrap() == *to, "match-blocks {c}");
    }

    // Other heatshrink windows: the workspace the header asks for is enough, less is not.
    // (detools' encoder is slow with long lookaheads over runs of zeros, which diffs are
    // full of: the largest window runs on the small pair.)
    let (_, small_from, small_to) = &pairs[7];
    for (w, l, from, to) in [
        ("4", "3", from, to),
        ("10", "5", from, to),
        ("12", "4", from, to),
        ("15", "14", small_from, small_to),
    ] {
        let opts = [
            "-c",
            "heatshrink",
            "--heatshrink-window-sz2",
            w,
            "--heatshrink-lookahead-sz2",
            l,
        ];
        let patch = create_patch(&tool, &dir, from, to, &opts);
        let needed = PatchInfo::parse(&patch).unwrap().workspace_len();
        assert_eq!(needed, 1 << w.parse::<u32>().unwrap());
        let mut ws = vec![0u8; MAX_WORKSPACE_LEN];
        for chunk in [1, 512] {
            let out = apply_with(&mut ws[..needed], from, &patch, chunk).unwrap();
            assert!(out == *to, "heatshrink {w}/{l}");
        }
        assert_eq!(
            apply_with(&mut ws[..needed - 1], from, &patch, 512).unwrap_err(),
            ApplyError::Patch(PatchError::WindowTooLarge { needed })
        );
    }

    // Refused by name: lzma (detools' default), zstd, the hdiffpatch type, a data format.
    let refused = [
        (&["-c", "lzma"][..], PatchError::UnsupportedCompression(1)),
        (&["-c", "zstd"], PatchError::UnsupportedCompression(5)),
        (&["-c", "bz2"], PatchError::UnsupportedCompression(3)),
        (&["-c", "lz4"], PatchError::UnsupportedCompression(6)),
        (
            &["-t", "hdiffpatch", "-a", "hdiffpatch", "-c", "none"],
            PatchError::UnsupportedType(2),
        ),
        (
            &["-c", "none", "--data-format", "arm-cortex-m4"],
            PatchError::UnsupportedDataFormat,
        ),
    ];
    for (opts, want) in refused {
        let patch = create_patch(&tool, &dir, from, to, opts);
        assert_eq!(
            apply(from, &patch, 512).unwrap_err(),
            ApplyError::Patch(want),
            "{opts:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn damaged_patches_are_refused_or_give_another_image() {
    let Some(tool) = detools() else { return };
    let dir = scratch("damaged");
    let pairs = pairs();
    for (name, from, to) in pairs
        .iter()
        .filter(|p| matches!(p.0, "edits" | "code-shift"))
    {
        for c in COMPRESSIONS {
            let patch = create_patch(&tool, &dir, from, to, &["-c", c]);
            let (mut refused, mut differ, mut same) = (0, 0, 0);
            // Flip a byte at 40 places, the header included; the last few bytes hold the
            // final adjustment, which nothing reads, so they are left alone.
            let span = patch.len() - 8;
            for k in 0..40 {
                let at = k * span / 40;
                let mut bad = patch.clone();
                bad[at] ^= 0x5a;
                for chunk in [7, usize::MAX] {
                    match apply(from, &bad, chunk) {
                        Err(_) => refused += 1,
                        Ok(out) if out != *to => differ += 1,
                        Ok(_) => {
                            // Stored patches have no field that does not matter before
                            // the final adjustment; compressed ones do (a back-reference
                            // moved within a run of zeros copies the same zeros).
                            assert_ne!(c, "none", "{name}: byte {at} flipped, same image");
                            same += 1;
                        }
                    }
                }
            }
            eprintln!(
                "{name} {c}: 80 flipped applies: {refused} refused, {differ} another image, \
                 {same} the same image"
            );
            assert!(
                same <= 12,
                "{name} {c}: {same} of 80 damaged patches gave the same image"
            );
            // Cut short anywhere: never complete.
            for k in 0..30 {
                let at = k * patch.len() / 30;
                let r = apply(from, &patch[..at], 512);
                assert!(r.is_err(), "{name} {c}: cut at {at} accepted");
            }
            let r = apply(from, &patch[..patch.len() - 1], 1);
            assert!(
                matches!(
                    r,
                    Err(ApplyError::Patch(
                        PatchError::Truncated | PatchError::Corrupt
                    ))
                ),
                "{name} {c}: last byte cut: {r:?}"
            );
            // Trailing garbage.
            for tail in [&[0u8][..], &[0xff], &[0, 0, 0], b"garbage"] {
                let mut long = patch.clone();
                long.extend_from_slice(tail);
                for chunk in [1, usize::MAX] {
                    let r = apply(from, &long, chunk);
                    assert!(
                        matches!(
                            r,
                            Err(ApplyError::Patch(
                                PatchError::TrailingData | PatchError::Corrupt
                            ))
                        ),
                        "{name} {c} + {tail:?}: {r:?}"
                    );
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_wrong_old_image_gives_another_image() {
    let Some(tool) = detools() else { return };
    let dir = scratch("wrong-from");
    let pairs = pairs();
    let (_, from, to) = &pairs[0];
    let mut other = from.clone();
    for i in (500..other.len()).step_by(4099) {
        other[i] ^= 0x21;
    }
    for c in COMPRESSIONS {
        let patch = create_patch(&tool, &dir, from, to, &["-c", c]);
        let out = apply(&other, &patch, 512).expect("applies: nothing in the patch can tell");
        assert_eq!(out.len(), to.len());
        assert!(out != *to, "{c}: same image from another old image");
        // An old image too short for the patch's reads is refused before any write past it.
        let r = apply(&from[..from.len() / 2], &patch, 512);
        assert_eq!(
            r.unwrap_err(),
            ApplyError::Patch(PatchError::FromOutOfRange),
            "{c}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
