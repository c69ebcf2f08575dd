//! Applying detools sequential patches on the host, with the device's own streaming
//! [`Patcher`]: what `iotadm delta apply` runs, and what `iotadm package` runs to check a
//! delta package's patch before it builds the package.

use std::io::{Read, Write};

use iotadm::firmware::delta::{
    ApplyError, Compression, DeltaSink, DeltaSource, PatchInfo, Patcher, MAX_HEADER_LEN,
    MAX_WORKSPACE_LEN,
};
use iotadm::firmware::package::ImageDigest;
use sha2::{Digest, Sha256};

/// What [`apply`] made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// The new image's length and SHA-256.
    pub image: ImageDigest,
    /// The patch's length in bytes.
    pub patch_len: u64,
    /// The patch's compression.
    pub compression: Compression,
}

/// Why [`apply`] stopped.
#[derive(Debug)]
pub enum ApplyFailure {
    /// The patch was refused (or does not fit the old image): the core's reason.
    Patch(String),
    /// Reading the patch failed.
    Read(std::io::Error),
    /// Writing the new image failed.
    Write(std::io::Error),
}

impl std::fmt::Display for ApplyFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Patch(e) => write!(f, "patch refused: {e}"),
            Self::Read(e) => write!(f, "reading the patch: {e}"),
            Self::Write(e) => write!(f, "writing the new image: {e}"),
        }
    }
}

impl std::error::Error for ApplyFailure {}

/// The old image, in memory.
struct Old<'a>(&'a [u8]);

impl DeltaSource for Old<'_> {
    type Error = String;

    fn len(&self) -> u32 {
        // `apply` refuses an old image of 4 GiB or more.
        self.0.len() as u32
    }

    fn read_at(&mut self, offset: u32, buf: &mut [u8]) -> Result<(), String> {
        let at = offset as usize;
        let src = self
            .0
            .get(at..at + buf.len())
            .ok_or_else(|| format!("read at {at} outside the old image"))?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

/// The new image, hashed on its way to `out`.
struct New<'w> {
    out: &'w mut dyn Write,
    hash: Sha256,
    len: u64,
}

impl DeltaSink for New<'_> {
    type Error = std::io::Error;

    fn write(&mut self, data: &[u8]) -> Result<(), std::io::Error> {
        self.hash.update(data);
        self.len += data.len() as u64;
        self.out.write_all(data)
    }
}

/// Applies `patch` to `old`, streaming the new image into `out`, with the workspace the
/// patch's header asks for.
pub fn apply(
    old: &[u8],
    patch: &mut dyn Read,
    out: &mut dyn Write,
) -> Result<Applied, ApplyFailure> {
    if u32::try_from(old.len()).is_err() {
        return Err(ApplyFailure::Patch("old image larger than 4 GiB".into()));
    }
    // The header first: it says which workspace the patch needs.
    let mut buf = vec![0u8; 4096];
    let mut filled = 0;
    while filled < MAX_HEADER_LEN {
        match patch.read(&mut buf[filled..]).map_err(ApplyFailure::Read)? {
            0 => break,
            n => filled += n,
        }
    }
    let info = PatchInfo::parse(&buf[..filled]).map_err(|e| ApplyFailure::Patch(e.to_string()))?;
    let mut workspace = vec![0u8; info.workspace_len().min(MAX_WORKSPACE_LEN)];
    let mut old = Old(old);
    let mut new = New {
        out,
        hash: Sha256::new(),
        len: 0,
    };
    let mut patcher = Patcher::new(&mut workspace);
    let mut patch_len = 0u64;
    loop {
        if filled == 0 {
            filled = patch.read(&mut buf).map_err(ApplyFailure::Read)?;
            if filled == 0 {
                break;
            }
        }
        patch_len += filled as u64;
        patcher
            .feed(&buf[..filled], &mut old, &mut new)
            .map_err(|e| match e {
                ApplyError::Patch(e) => ApplyFailure::Patch(e.to_string()),
                ApplyError::Source(e) => ApplyFailure::Patch(e),
                ApplyError::Sink(e) => ApplyFailure::Write(e),
            })?;
        filled = 0;
    }
    let len = patcher
        .finish()
        .map_err(|e| ApplyFailure::Patch(e.to_string()))?;
    Ok(Applied {
        image: ImageDigest {
            len,
            sha256: new.hash.finalize().into(),
        },
        patch_len,
        compression: info.compression,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// "hello world" to "hello, world!" by `detools create_patch -c heatshrink`.
    const PATCH: &[u8] = &[
        0x04, 0x0d, 0x44, 0x80, 0x41, 0x40, 0xa1, 0x21, 0x12, 0xc9, 0x05, 0xde, 0xdf, 0x72, 0xb6,
        0x59, 0x24, 0x30, 0x50,
    ];

    #[test]
    fn applies_and_reports_the_image() {
        let mut out = Vec::new();
        let applied = apply(b"hello world", &mut &PATCH[..], &mut out).unwrap();
        assert_eq!(out, b"hello, world!");
        assert_eq!(applied.image, ImageDigest::of(b"hello, world!").unwrap());
        assert_eq!(applied.patch_len, PATCH.len() as u64);
        assert_eq!(applied.compression, Compression::Heatshrink);
        let cut = &PATCH[..PATCH.len() - 3];
        assert!(matches!(
            apply(b"hello world", &mut &cut[..], &mut Vec::new()),
            Err(ApplyFailure::Patch(_))
        ));
    }
}
