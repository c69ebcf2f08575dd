//! What applying a patch can fail with.

/// Why a patch could not be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum PatchError {
    /// A malformed field: a size too long or negative, an unknown CRLE segment kind,
    /// padding that is not zero.
    Corrupt,
    /// A patch type other than sequential (0): in-place is 1, hdiffpatch 2.
    UnsupportedType(u8),
    /// A compression other than none (0), crle (2) and heatshrink (4).
    UnsupportedCompression(u8),
    /// The patch has a data-format section (`detools create_patch --data-format`).
    UnsupportedDataFormat,
    /// heatshrink parameters heatshrink itself does not allow.
    UnsupportedHeatshrink {
        /// The window size, log2.
        window_sz2: u8,
        /// The lookahead size, log2.
        lookahead_sz2: u8,
    },
    /// The heatshrink window does not fit in the workspace.
    WindowTooLarge {
        /// The workspace the patch needs, in bytes.
        needed: usize,
    },
    /// The new image would be 4 GiB or more.
    ImageTooLarge,
    /// A diff would read outside the old image.
    FromOutOfRange,
    /// A command would write past the new image's announced size.
    TooLong,
    /// The patch ended before the new image was complete.
    Truncated,
    /// Bytes follow the end of the patch.
    TrailingData,
    /// An earlier call failed on the old image's source or the new image's sink; the patch
    /// cannot go on.
    Aborted,
}

impl core::fmt::Display for PatchError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Corrupt => f.write_str("corrupt patch"),
            Self::UnsupportedType(t) => {
                write!(f, "unsupported patch type {t} (only sequential, 0)")
            }
            Self::UnsupportedCompression(c) => write!(
                f,
                "unsupported patch compression {c} (only none 0, crle 2, heatshrink 4)"
            ),
            Self::UnsupportedDataFormat => f.write_str("patch has an unsupported data-format section"),
            Self::UnsupportedHeatshrink {
                window_sz2,
                lookahead_sz2,
            } => write!(
                f,
                "unsupported heatshrink parameters (window 2^{window_sz2}, lookahead 2^{lookahead_sz2})"
            ),
            Self::WindowTooLarge { needed } => {
                write!(f, "patch needs a {needed}-byte workspace")
            }
            Self::ImageTooLarge => f.write_str("new image of 4 GiB or more"),
            Self::FromOutOfRange => f.write_str("patch reads outside the old image"),
            Self::TooLong => f.write_str("patch writes past the new image's size"),
            Self::Truncated => f.write_str("patch truncated"),
            Self::TrailingData => f.write_str("bytes after the end of the patch"),
            Self::Aborted => f.write_str("patch aborted by an earlier I/O error"),
        }
    }
}

impl core::error::Error for PatchError {}

/// An apply error: the patch, or the source/sink I/O.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ApplyError<R, W> {
    /// The patch is refused.
    Patch(PatchError),
    /// Reading the old image failed.
    Source(R),
    /// Writing the new image failed.
    Sink(W),
}

impl<R, W> From<PatchError> for ApplyError<R, W> {
    fn from(e: PatchError) -> Self {
        Self::Patch(e)
    }
}

impl<R: core::fmt::Display, W: core::fmt::Display> core::fmt::Display for ApplyError<R, W> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Patch(e) => e.fmt(f),
            Self::Source(e) => write!(f, "reading the old image: {e}"),
            Self::Sink(e) => write!(f, "writing the new image: {e}"),
        }
    }
}
