//! Delta updates: a streaming applier of [detools] *sequential* patches.
//!
//! A [`Patcher`] takes the patch as a stream of bytes, in pieces of any size, reads the old
//! ("from") image at offsets through a [`DeltaSource`] and writes the new ("to") image, in
//! order and exactly once, through a [`DeltaSink`]. It never allocates, never panics on any
//! patch, and its RAM is fixed: the struct plus a workspace the caller lends for the
//! heatshrink window. It knows nothing of flash, packages or DM: the caller decides where
//! the images live and checks the new image's digest when [`Patcher::finish`] says the
//! patch is complete (a patch applied to the wrong old image yields another image, and
//! nothing in the patch can tell).
//!
//! # Patch format
//!
//! What `detools create_patch --patch-type sequential` writes (detools 0.53), for the diff
//! algorithms `bsdiff` (its default) and `match-blocks`, which write the same commands:
//!
//! | part | encoding |
//! |---|---|
//! | header byte | bit 7 zero, bits 6..4 patch type (0 sequential; 1 in-place and 2 hdiffpatch are refused), bits 3..0 compression (0 none, 2 crle, 4 heatshrink; lzma 1, bz2 3, zstd 5 and lz4 6 are refused) |
//! | new image size | a size field (below); nothing follows when it is zero |
//! | the rest | compressed: for heatshrink, first one byte `(window_sz2 - 4) << 4 \| (lookahead_sz2 - 3)`, then the LZSS bit stream ([`heatshrink`](self#heatshrink)); for crle, segments ([`crle`](self#crle)) |
//!
//! Decompressed, the rest is a data-format patch size (zero: with `--data-format`, detools
//! adds a data-format section, which is refused as [`PatchError::UnsupportedDataFormat`]),
//! then commands until the new image is complete:
//!
//! | field | meaning |
//! |---|---|
//! | diff size *n* | the next *n* new bytes are the old image's bytes at the read position plus the next *n* patch bytes (each byte, modulo 256); the read position advances by *n* |
//! | diff bytes | |
//! | extra size *m* | the next *m* new bytes are the next *m* patch bytes |
//! | extra bytes | |
//! | adjustment | added to the read position (may be negative) |
//!
//! A size field is one byte of continuation bit (7), sign bit (6) and six value bits, then
//! while the continuation bit is set a byte of continuation bit and seven value bits, least
//! significant first. The patch ends right after the adjustment that completes the new
//! image.
//!
//! ## heatshrink
//!
//! detools' defaults are `--heatshrink-window-sz2 8 --heatshrink-lookahead-sz2 7` (header
//! byte `0x44`): a 256-byte window ([`DEFAULT_WORKSPACE_LEN`]). heatshrink allows windows of
//! 2^4 to 2^15 bytes and a lookahead below the window; others are refused
//! ([`PatchError::UnsupportedHeatshrink`]), and a window larger than the workspace is
//! [`PatchError::WindowTooLarge`].
//!
//! ## crle
//!
//! Segments of a kind byte and an unsigned LEB128 size: kind 0 is that many bytes as they
//! are, kind 1 that many repetitions of the one byte that follows.
//!
//! # What is refused
//!
//! Every check is made before the byte it guards is written: a command that would write
//! past the announced size ([`PatchError::TooLong`]), a diff reading outside the old image
//! ([`PatchError::FromOutOfRange`]), malformed fields ([`PatchError::Corrupt`]), bytes after
//! the end ([`PatchError::TrailingData`]), heatshrink padding that is not zero. A patch
//! that stops early is [`PatchError::Truncated`] at [`Patcher::finish`]. Sizes in the patch
//! are never trusted to size anything. After any error the patcher is spent:
//! each later call returns the same error ([`PatchError::Aborted`] after a source or sink
//! error).
//!
//! # RAM and flash
//!
//! `size_of::<Patcher>()` is 144 bytes on thumbv7em (the command state with a 64-byte
//! buffer for the old image's bytes, the decoder's state, the workspace reference, the
//! error kept), plus the workspace: none for `none` and `crle`, `1 << window_sz2` bytes for
//! heatshrink, so 256 bytes with detools' defaults: 400 bytes in all.
//! [`DeltaSource::read_at`] is asked for at most 64 bytes at a time.
//!
//! The code is about 2.8 KiB of thumbv7em flash at `opt-level = "z"` with LTO (a minimal
//! firmware applying a heatshrink patch, less the same firmware doing the same reads and
//! writes without it), plus 1.5 KiB of `memcpy`/`memset` from compiler-builtins if the
//! firmware has none yet. The three decoders are all in: the compression is read from the
//! patch.
//!
//! ```
//! use iotadm::firmware::delta::{DeltaSink, DeltaSource, Patcher, DEFAULT_WORKSPACE_LEN};
//!
//! struct Old<'a>(&'a [u8]);
//! impl DeltaSource for Old<'_> {
//!     type Error = ();
//!     fn len(&self) -> u32 { self.0.len() as u32 }
//!     fn read_at(&mut self, offset: u32, buf: &mut [u8]) -> Result<(), ()> {
//!         let at = offset as usize;
//!         buf.copy_from_slice(self.0.get(at..at + buf.len()).ok_or(())?);
//!         Ok(())
//!     }
//! }
//! struct New(Vec<u8>);
//! impl DeltaSink for New {
//!     type Error = ();
//!     fn write(&mut self, data: &[u8]) -> Result<(), ()> {
//!         self.0.extend_from_slice(data);
//!         Ok(())
//!     }
//! }
//!
//! // `detools create_patch -c none` from "hello world" to "hello, world!": diff 5 bytes
//! // (all zero: "hello" unchanged), extra ", world!", adjustment 5.
//! let patch = [
//!     0x00, 0x0d, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x2c, 0x20,
//!     0x77, 0x6f, 0x72, 0x6c, 0x64, 0x21, 0x05,
//! ];
//! let mut workspace = [0u8; DEFAULT_WORKSPACE_LEN];
//! let mut patcher = Patcher::new(&mut workspace);
//! let mut new = New(Vec::new());
//! for piece in patch.chunks(3) {
//!     patcher.feed(piece, &mut Old(b"hello world"), &mut new).unwrap();
//! }
//! assert_eq!(patcher.finish(), Ok(13));
//! assert_eq!(new.0, b"hello, world!");
//! ```
//!
//! [detools]: https://github.com/eerimoq/detools

mod crle;
mod error;
mod heatshrink;
mod io;
mod sequential;

pub use error::{ApplyError, PatchError};
pub use io::{DeltaSink, DeltaSource};

use crle::Crle;
use heatshrink::Heatshrink;
use sequential::{Apply, Input, Output, Sequential, SizeField};

/// The workspace detools' default heatshrink parameters need (window 2^8); `none` and
/// `crle` patches need none.
pub const DEFAULT_WORKSPACE_LEN: usize = 256;

/// The largest workspace any heatshrink patch needs (window 2^15).
pub const MAX_WORKSPACE_LEN: usize = 1 << heatshrink::MAX_WINDOW_SZ2;

/// The longest header [`PatchInfo::parse`] may need: the type byte, a size field of up
/// to nine bytes, and heatshrink's parameter byte.
pub const MAX_HEADER_LEN: usize = 11;

/// How the patch body is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Compression {
    /// Stored as is.
    None,
    /// detools' conditional run-length encoding.
    Crle,
    /// heatshrink (LZSS).
    Heatshrink,
}

/// heatshrink's parameters, as a patch gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct HeatshrinkParams {
    /// The window is `1 << window_sz2` bytes.
    pub window_sz2: u8,
    /// Back-references copy up to `1 << lookahead_sz2` bytes.
    pub lookahead_sz2: u8,
}

/// What a patch's first bytes say: enough to check it before applying it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PatchInfo {
    /// The new image's size.
    pub to_size: u32,
    /// The body's compression.
    pub compression: Compression,
    /// heatshrink's parameters; `None` unless the body is heatshrink-compressed (an empty
    /// new image's patch has no body, so none either).
    pub heatshrink: Option<HeatshrinkParams>,
}

impl PatchInfo {
    /// Reads the header at the start of a patch (the first [`MAX_HEADER_LEN`] bytes are
    /// always enough). [`PatchError::Truncated`] when `start` ends first.
    pub fn parse(start: &[u8]) -> Result<Self, PatchError> {
        let mut header = Header::new();
        for &b in start {
            if let Some(info) = header.push(b)? {
                return Ok(info);
            }
        }
        Err(PatchError::Truncated)
    }

    /// The workspace [`Patcher::new`] needs for this patch, in bytes.
    pub fn workspace_len(&self) -> usize {
        self.heatshrink.map_or(0, |h| 1 << h.window_sz2)
    }
}

/// Reads the header byte by byte.
#[derive(Debug, Clone, Copy)]
enum Header {
    Type,
    ToSize {
        compression: Compression,
        size: SizeField,
    },
    HeatshrinkParams {
        to_size: u32,
    },
}

impl Header {
    const fn new() -> Self {
        Self::Type
    }

    fn push(&mut self, byte: u8) -> Result<Option<PatchInfo>, PatchError> {
        match self {
            Self::Type => {
                let kind = byte >> 4;
                if kind != 0 {
                    return Err(PatchError::UnsupportedType(kind));
                }
                let compression = match byte & 0x0f {
                    0 => Compression::None,
                    2 => Compression::Crle,
                    4 => Compression::Heatshrink,
                    c => return Err(PatchError::UnsupportedCompression(c)),
                };
                *self = Self::ToSize {
                    compression,
                    size: SizeField::default(),
                };
                Ok(None)
            }
            Self::ToSize { compression, size } => {
                let Some(v) = size.push(byte)? else {
                    return Ok(None);
                };
                let to_size = u32::try_from(u64::try_from(v).map_err(|_| PatchError::Corrupt)?)
                    .map_err(|_| PatchError::ImageTooLarge)?;
                if *compression == Compression::Heatshrink && to_size > 0 {
                    *self = Self::HeatshrinkParams { to_size };
                    return Ok(None);
                }
                Ok(Some(PatchInfo {
                    to_size,
                    compression: *compression,
                    heatshrink: None,
                }))
            }
            Self::HeatshrinkParams { to_size } => {
                let window_sz2 = (byte >> 4) + 4;
                let lookahead_sz2 = (byte & 0x0f) + 3;
                if Heatshrink::new(window_sz2, lookahead_sz2).is_none() {
                    return Err(PatchError::UnsupportedHeatshrink {
                        window_sz2,
                        lookahead_sz2,
                    });
                }
                Ok(Some(PatchInfo {
                    to_size: *to_size,
                    compression: Compression::Heatshrink,
                    heatshrink: Some(HeatshrinkParams {
                        window_sz2,
                        lookahead_sz2,
                    }),
                }))
            }
        }
    }
}

#[derive(Debug, Clone)]
enum Decoder {
    None,
    Crle(Crle),
    Heatshrink(Heatshrink),
}

#[derive(Debug, Clone)]
enum Stage {
    Header(Header),
    Body { decoder: Decoder, seq: Sequential },
}

/// Applies one detools sequential patch, fed in pieces; see the [module](self) docs.
#[derive(Debug)]
pub struct Patcher<'w> {
    workspace: &'w mut [u8],
    stage: Stage,
    failed: Option<PatchError>,
}

impl<'w> Patcher<'w> {
    /// `workspace` is lent by the caller: the heatshrink window and any buffers; fixed RAM.
    /// [`DEFAULT_WORKSPACE_LEN`] bytes suit detools' defaults; [`PatchInfo::workspace_len`]
    /// tells what a given patch needs. Patches without heatshrink need none.
    pub fn new(workspace: &'w mut [u8]) -> Self {
        Self {
            workspace,
            stage: Stage::Header(Header::new()),
            failed: None,
        }
    }

    /// Takes the next piece of the patch, all of it, writing what it completes of the new
    /// image to `to`. The error is returned again by every later call.
    pub fn feed<S: DeltaSource, K: DeltaSink>(
        &mut self,
        patch: &[u8],
        from: &mut S,
        to: &mut K,
    ) -> Result<(), ApplyError<S::Error, K::Error>> {
        if let Some(e) = self.failed {
            return Err(e.into());
        }
        let r = self.feed_inner(patch, from, to);
        if let Err(e) = &r {
            let kept = match e {
                ApplyError::Patch(p) => *p,
                ApplyError::Source(_) | ApplyError::Sink(_) => PatchError::Aborted,
            };
            debug!("delta: patch refused after {} bytes out", self.produced());
            self.failed = Some(kept);
        }
        r
    }

    fn feed_inner<S: DeltaSource, K: DeltaSink>(
        &mut self,
        mut patch: &[u8],
        from: &mut S,
        to: &mut K,
    ) -> Result<(), ApplyError<S::Error, K::Error>> {
        while !patch.is_empty() {
            match &mut self.stage {
                Stage::Header(h) => {
                    let Some((&b, rest)) = patch.split_first() else {
                        break;
                    };
                    patch = rest;
                    if let Some(info) = h.push(b)? {
                        self.start_body(info)?;
                    }
                }
                Stage::Body { decoder, seq } => {
                    let mut out = Apply { seq, from, to };
                    if out.complete() {
                        return Err(PatchError::TrailingData.into());
                    }
                    match decoder {
                        Decoder::None => out.push(Input::Bytes(patch))?,
                        Decoder::Crle(d) => d.decode(patch, &mut out)?,
                        Decoder::Heatshrink(d) => d.decode(self.workspace, patch, &mut out)?,
                    }
                    break;
                }
            }
        }
        Ok(())
    }

    fn start_body(&mut self, info: PatchInfo) -> Result<(), PatchError> {
        let decoder = match (info.compression, info.heatshrink) {
            (Compression::Heatshrink, Some(p)) => {
                let d = Heatshrink::new(p.window_sz2, p.lookahead_sz2).ok_or(
                    PatchError::UnsupportedHeatshrink {
                        window_sz2: p.window_sz2,
                        lookahead_sz2: p.lookahead_sz2,
                    },
                )?;
                let needed = d.window_len();
                self.workspace
                    .get_mut(..needed)
                    .ok_or(PatchError::WindowTooLarge { needed })?
                    .fill(0);
                Decoder::Heatshrink(d)
            }
            (Compression::Crle, _) => Decoder::Crle(Crle::new()),
            // An empty new image: no body to decode.
            (Compression::None, _) | (Compression::Heatshrink, None) => Decoder::None,
        };
        debug!("delta: new image of {} bytes", info.to_size);
        self.stage = Stage::Body {
            decoder,
            seq: Sequential::new(info.to_size),
        };
        Ok(())
    }

    /// After the last patch byte: the new image's size when the patch ended exactly and
    /// every byte was produced.
    pub fn finish(&self) -> Result<u32, PatchError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        match &self.stage {
            Stage::Header(_) => Err(PatchError::Truncated),
            Stage::Body { decoder, seq } => {
                if !seq.is_done() {
                    return Err(PatchError::Truncated);
                }
                match decoder {
                    Decoder::None => {}
                    // The commands are complete, but a segment is not.
                    Decoder::Crle(d) if !d.at_boundary() => return Err(PatchError::Corrupt),
                    Decoder::Crle(_) => {}
                    Decoder::Heatshrink(d) => d.check_end()?,
                }
                Ok(seq.produced())
            }
        }
    }

    /// The new image's size, once the patch header is read.
    pub fn to_size(&self) -> Option<u32> {
        match &self.stage {
            Stage::Header(Header::HeatshrinkParams { to_size }) => Some(*to_size),
            Stage::Header(_) => None,
            Stage::Body { seq, .. } => Some(seq.to_size()),
        }
    }

    /// Bytes of the new image produced so far.
    pub fn produced(&self) -> u32 {
        match &self.stage {
            Stage::Body { seq, .. } => seq.produced(),
            Stage::Header(_) => 0,
        }
    }
}

#[cfg(test)]
mod tests;
