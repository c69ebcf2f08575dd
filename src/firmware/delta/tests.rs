//! The patcher as a whole: headers, the three compressions on small patches made by
//! detools 0.53 (`detools create_patch -c C old new patch`), and refusals.
//! tests/delta_detools.rs runs the real tool on large images.

use super::*;
use std::vec::Vec;

struct Old<'a>(&'a [u8]);

impl DeltaSource for Old<'_> {
    type Error = &'static str;
    fn len(&self) -> u32 {
        self.0.len() as u32
    }
    fn read_at(&mut self, offset: u32, buf: &mut [u8]) -> Result<(), Self::Error> {
        let at = offset as usize;
        buf.copy_from_slice(self.0.get(at..at + buf.len()).ok_or("read out of range")?);
        Ok(())
    }
}

#[derive(Default)]
struct New(Vec<u8>);

impl DeltaSink for New {
    type Error = &'static str;
    fn write(&mut self, data: &[u8]) -> Result<(), Self::Error> {
        self.0.extend_from_slice(data);
        Ok(())
    }
}

const HELLO: &[u8] = b"hello world";
const HELLO2: &[u8] = b"hello, world!";
/// "hello world" to "hello, world!", `-c none`, `-c crle`, `-c heatshrink`.
const PATCH_NONE: &[u8] = &[
    0x00, 0x0d, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x2c, 0x20, 0x77, 0x6f, 0x72, 0x6c,
    0x64, 0x21, 0x05,
];
const PATCH_CRLE: &[u8] = &[
    0x02, 0x0d, 0x00, 0x11, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x2c, 0x20, 0x77, 0x6f,
    0x72, 0x6c, 0x64, 0x21, 0x05,
];
const PATCH_HEATSHRINK: &[u8] = &[
    0x04, 0x0d, 0x44, 0x80, 0x41, 0x40, 0xa1, 0x21, 0x12, 0xc9, 0x05, 0xde, 0xdf, 0x72, 0xb6, 0x59,
    0x24, 0x30, 0x50,
];

type Result2 = Result<(Vec<u8>, u32), ApplyError<&'static str, &'static str>>;

fn apply(workspace: &mut [u8], from: &[u8], patch: &[u8], chunk: usize) -> Result2 {
    let mut p = Patcher::new(workspace);
    let mut out = New::default();
    for c in patch.chunks(chunk.max(1)) {
        p.feed(c, &mut Old(from), &mut out)?;
        assert!(out.0.len() as u32 == p.produced());
        assert!(p.produced() <= p.to_size().unwrap_or(0));
    }
    let n = p.finish()?;
    Ok((out.0, n))
}

#[test]
fn real_patches_in_every_chunk_size() {
    for patch in [PATCH_NONE, PATCH_CRLE, PATCH_HEATSHRINK] {
        for chunk in 1..=patch.len() {
            let mut ws = [0u8; DEFAULT_WORKSPACE_LEN];
            let (out, n) = apply(&mut ws, HELLO, patch, chunk).unwrap();
            assert_eq!((out.as_slice(), n), (HELLO2, 13));
        }
    }
}

#[test]
fn header_info() {
    let info = PatchInfo::parse(PATCH_HEATSHRINK).unwrap();
    assert_eq!(info.to_size, 13);
    assert_eq!(info.compression, Compression::Heatshrink);
    assert_eq!(
        info.heatshrink,
        Some(HeatshrinkParams {
            window_sz2: 8,
            lookahead_sz2: 7
        })
    );
    assert_eq!(info.workspace_len(), DEFAULT_WORKSPACE_LEN);
    let workspace_len = |start: &[u8]| PatchInfo::parse(start).map(|i| i.workspace_len());
    assert_eq!(workspace_len(PATCH_NONE), Ok(0));
    assert_eq!(workspace_len(PATCH_CRLE), Ok(0));
    assert_eq!(
        workspace_len(&PATCH_HEATSHRINK[..2]),
        Err(PatchError::Truncated)
    );
    assert_eq!(workspace_len(&[]), Err(PatchError::Truncated));
    // Window 2^15, lookahead 2^4.
    assert_eq!(workspace_len(&[0x04, 0x01, 0xb1]), Ok(MAX_WORKSPACE_LEN));
    // The longest header (a size field of nine bytes, the most accepted).
    let long = [
        0x04, 0xbf, 0xff, 0xff, 0xff, 0x8f, 0x80, 0x80, 0x80, 0x00, 0x44,
    ];
    assert_eq!(long.len(), MAX_HEADER_LEN);
    assert_eq!(
        PatchInfo::parse(&long).map(|i| i.to_size),
        Ok(u32::MAX >> 1)
    );
    let big = [0x04, 0xbf, 0xff, 0xff, 0xff, 0xff, 0x80, 0x80, 0x80, 0x00];
    assert_eq!(PatchInfo::parse(&big), Err(PatchError::ImageTooLarge));
    let longer = [
        0x04, 0xbf, 0xff, 0xff, 0xff, 0x8f, 0x80, 0x80, 0x80, 0x80, 0x00,
    ];
    assert_eq!(PatchInfo::parse(&longer), Err(PatchError::Corrupt));
}

#[test]
fn refused_headers() {
    let mut ws = [0u8; 16];
    let refuse = |ws: &mut [u8], patch: &[u8]| apply(ws, HELLO, patch, 1).unwrap_err();
    // In-place (1), hdiffpatch (2), and the padding bit set.
    assert_eq!(
        refuse(&mut ws, &[0x10, 0]),
        PatchError::UnsupportedType(1).into()
    );
    assert_eq!(
        refuse(&mut ws, &[0x24, 0]),
        PatchError::UnsupportedType(2).into()
    );
    assert_eq!(
        refuse(&mut ws, &[0x80, 0]),
        PatchError::UnsupportedType(8).into()
    );
    // lzma, bz2, zstd, lz4.
    for c in [1u8, 3, 5, 6, 15] {
        assert_eq!(
            refuse(&mut ws, &[c, 0]),
            PatchError::UnsupportedCompression(c).into()
        );
    }
    // A negative size, a size over 4 GiB.
    assert_eq!(refuse(&mut ws, &[0x00, 0x41]), PatchError::Corrupt.into());
    assert_eq!(
        refuse(&mut ws, &[0x00, 0x80, 0x80, 0x80, 0x80, 0x40]),
        PatchError::ImageTooLarge.into()
    );
    // heatshrink: lookahead not below the window; the default window in 16 bytes.
    assert_eq!(
        refuse(&mut ws, &[0x04, 0x0d, 0x45]),
        PatchError::UnsupportedHeatshrink {
            window_sz2: 8,
            lookahead_sz2: 8
        }
        .into()
    );
    assert_eq!(
        refuse(&mut ws, PATCH_HEATSHRINK),
        PatchError::WindowTooLarge { needed: 256 }.into()
    );
    assert_eq!(
        apply(&mut ws, HELLO, &[0x00, 0x0d, 0x06], 1).unwrap_err(),
        PatchError::UnsupportedDataFormat.into()
    );
}

#[test]
fn empty_new_image() {
    for patch in [&[0x00, 0x00][..], &[0x02, 0x00], &[0x04, 0x00]] {
        let (out, n) = apply(&mut [], HELLO, patch, 1).unwrap();
        assert_eq!((out.len(), n), (0, 0));
        let mut long = patch.to_vec();
        long.push(0);
        assert_eq!(
            apply(&mut [], HELLO, &long, 1).unwrap_err(),
            PatchError::TrailingData.into()
        );
    }
}

#[test]
fn truncated_and_trailing() {
    for patch in [PATCH_NONE, PATCH_CRLE, PATCH_HEATSHRINK] {
        for cut in 0..patch.len() {
            let mut ws = [0u8; DEFAULT_WORKSPACE_LEN];
            let r = apply(&mut ws, HELLO, &patch[..cut], 4);
            assert_eq!(r.unwrap_err(), PatchError::Truncated.into(), "cut at {cut}");
        }
        let mut long = patch.to_vec();
        long.push(0);
        let mut ws = [0u8; DEFAULT_WORKSPACE_LEN];
        let r = apply(&mut ws, HELLO, &long, 1);
        assert!(
            matches!(
                r,
                Err(ApplyError::Patch(
                    PatchError::TrailingData | PatchError::Corrupt
                ))
            ),
            "{r:?}"
        );
    }
}

/// A flipped bit is refused or changes the image, except in the few fields whose value
/// does not matter: the last adjustment (nothing reads after it), and in the heatshrink
/// patch a back-reference into the window's initial zeros (any distance there reads zeros).
#[test]
fn flipped_bits_are_refused_or_differ() {
    // (first bit, last bit + 1) of each harmless field.
    for (patch, harmless) in [
        (PATCH_NONE, &[(144, 151)][..]),
        (PATCH_CRLE, &[(160, 167)]),
        (
            PATCH_HEATSHRINK,
            &[(40, 45), (54, 55), (136, 139), (148, 152)],
        ),
    ] {
        for i in 0..patch.len() * 8 {
            let mut bad = patch.to_vec();
            bad[i / 8] ^= 1 << (i % 8);
            let mut ws = [0u8; DEFAULT_WORKSPACE_LEN];
            if let Ok((out, _)) = apply(&mut ws, HELLO, &bad, 3) {
                if out == HELLO2 {
                    assert!(
                        harmless.iter().any(|&(lo, hi)| (lo..hi).contains(&i)),
                        "bit {i} of {patch:x?}"
                    );
                }
            }
        }
    }
}

#[test]
fn errors_stick() {
    let mut ws = [0u8; DEFAULT_WORKSPACE_LEN];
    let mut p = Patcher::new(&mut ws);
    let mut out = New::default();
    assert_eq!(
        p.feed(&[0x30], &mut Old(HELLO), &mut out),
        Err(PatchError::UnsupportedType(3).into())
    );
    assert_eq!(
        p.feed(PATCH_NONE, &mut Old(HELLO), &mut out),
        Err(PatchError::UnsupportedType(3).into())
    );
    assert_eq!(
        p.feed(&[], &mut Old(HELLO), &mut out),
        Err(PatchError::UnsupportedType(3).into())
    );
    assert_eq!(p.finish(), Err(PatchError::UnsupportedType(3)));

    // A sink failure: the patcher is spent, and says so.
    struct Full;
    impl DeltaSink for Full {
        type Error = u32;
        fn write(&mut self, _: &[u8]) -> Result<(), u32> {
            Err(28)
        }
    }
    let mut p = Patcher::new(&mut ws);
    assert_eq!(
        p.feed(PATCH_NONE, &mut Old(HELLO), &mut Full),
        Err(ApplyError::Sink(28))
    );
    assert_eq!(
        p.feed(&[0], &mut Old(HELLO), &mut Full),
        Err(PatchError::Aborted.into())
    );
    assert_eq!(p.finish(), Err(PatchError::Aborted));
    assert_eq!(p.to_size(), Some(13));
    assert_eq!(p.produced(), 0);
}

#[test]
fn wrong_old_image_gives_another_image() {
    let mut ws = [0u8; DEFAULT_WORKSPACE_LEN];
    let (out, _) = apply(&mut ws, b"jello world", PATCH_HEATSHRINK, 5).unwrap();
    assert_eq!(out, b"jello, world!");
    // Shorter than the patch reads: refused before any byte is written.
    let mut p = Patcher::new(&mut ws);
    let mut out = New::default();
    assert_eq!(
        p.feed(PATCH_NONE, &mut Old(b"hell"), &mut out),
        Err(PatchError::FromOutOfRange.into())
    );
    assert!(out.0.is_empty());
}

#[test]
fn progress_is_reported() {
    let mut ws = [0u8; DEFAULT_WORKSPACE_LEN];
    let mut p = Patcher::new(&mut ws);
    let mut out = New::default();
    assert_eq!((p.to_size(), p.produced()), (None, 0));
    p.feed(&PATCH_NONE[..1], &mut Old(HELLO), &mut out).unwrap();
    assert_eq!(p.to_size(), None);
    p.feed(&PATCH_NONE[1..9], &mut Old(HELLO), &mut out)
        .unwrap();
    assert_eq!((p.to_size(), p.produced()), (Some(13), 5));
    assert_eq!(p.finish(), Err(PatchError::Truncated));
    p.feed(&PATCH_NONE[9..], &mut Old(HELLO), &mut out).unwrap();
    assert_eq!((p.finish(), p.produced()), (Ok(13), 13));
}

#[test]
fn arbitrary_patches_never_panic_nor_overrun() {
    let mut x = 0x9e37_79b9u32;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    let from: Vec<u8> = (0..300).map(|_| next() as u8).collect();
    for round in 0..3000 {
        let len = (next() % 80) as usize;
        let mut patch: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        // Mostly well-formed headers, so the bodies get exercised.
        if let Some(h) = patch.first_mut() {
            *h = [0x00, 0x02, 0x04, *h][round % 4];
        }
        if patch.len() > 2 && round % 3 == 0 {
            patch[2] = 0x44;
        }
        let mut ws = [0u8; 1024];
        let mut p = Patcher::new(&mut ws);
        let mut out = New::default();
        for c in patch.chunks(1 + (next() % 9) as usize) {
            if p.feed(c, &mut Old(&from), &mut out).is_err() {
                break;
            }
        }
        let _ = p.finish();
        assert!(out.0.len() as u64 <= u64::from(p.to_size().unwrap_or(0)));
    }
}

#[test]
fn ram() {
    // The module docs give the thumbv7em figure (144 bytes); on a 64-bit host the
    // references and indices are wider.
    let size = core::mem::size_of::<Patcher<'_>>();
    assert!(size <= 160, "{size}");
}
