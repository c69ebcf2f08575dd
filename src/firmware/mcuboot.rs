//! MCUboot images, as imgtool signs them: the 32-byte header, the TLV areas, and the
//! verification MCUboot's bootloader does before it boots an image, run on an image read in
//! chunks from flash.
//!
//! An image in a slot is laid out as follows (all integers little-endian):
//!
//! | slot offset | contents |
//! |---|---|
//! | 0 | the header ([`ImageHeader`]): magic `0x96f3b83d`, load address, header size, protected TLV size, image size, flags, version |
//! | header size | the image (`image size` bytes) |
//! | header size + image size | the protected TLV area, when its size is not 0: info (magic `0x6908`, total length), then TLVs |
//! | after it | the unprotected TLV area: info (magic `0x6907`, total length), then TLVs |
//!
//! A TLV is a 16-bit type, a 16-bit length and the value. The SHA-256 digest covers the
//! header, the image and the protected TLVs; the signature (in the unprotected area) covers
//! that digest. The security counter is read from the protected area only, where the
//! signature covers it.
//!
//! A refusal is a [`McubootError`]; [`McubootError::failure`] gives the
//! [`Failure`] the installer records, as [`PackageError::failure`](super::PackageError::failure)
//! does for a package.

use sha2::{Digest, Sha256};

use super::Failure;

/// First four bytes of an image header (little-endian).
pub const IMAGE_MAGIC: u32 = 0x96f3_b83d;
/// Length of the fixed image header; the header size field may add padding after it.
pub const HEADER_LEN: usize = 32;
/// Magic of the unprotected TLV area's info header.
pub const TLV_INFO_MAGIC: u16 = 0x6907;
/// Magic of the protected TLV area's info header.
pub const TLV_PROT_INFO_MAGIC: u16 = 0x6908;
/// Length of a TLV area's info header (magic, total length) and of a TLV's type and length.
pub const TLV_HEADER_LEN: usize = 4;
/// Longest public key an image key hands out for a PUBKEY TLV: a P-256 key's DER
/// `SubjectPublicKeyInfo`.
pub const MAX_KEY_INFO_LEN: usize = 91;
/// Longest signature TLV value read: a DER P-256 signature padded by imgtool.
pub const MAX_SIGNATURE_LEN: usize = 72;

/// Keys the installer checks an image's signature with: the first this many a
/// [`PackageVerifier`](super::PackageVerifier) offers.
pub const MAX_IMAGE_KEYS: usize = 4;
/// Longest [`ImageVersion::text`]: `255.255.65535+4294967295`.
pub const VERSION_TEXT_LEN: usize = 24;

/// Bytes read at a time while hashing.
const CHUNK: usize = 256;

/// TLV types this module reads; any other is skipped.
pub mod tlv {
    /// SHA-256 of the image's public key, as imgtool encodes the key (DER
    /// `SubjectPublicKeyInfo`).
    pub const KEYHASH: u16 = 0x01;
    /// The image's public key itself (imgtool's `--public-key-format full`).
    pub const PUBKEY: u16 = 0x02;
    /// SHA-256 of the header, the image and the protected TLVs.
    pub const SHA256: u16 = 0x10;
    /// SHA-384 of the same (not supported here).
    pub const SHA384: u16 = 0x11;
    /// SHA-512 of the same (not supported here).
    pub const SHA512: u16 = 0x12;
    /// An ECDSA signature of the digest, ASN.1 DER (P-256 with a SHA-256 digest).
    pub const ECDSA_SIG: u16 = 0x22;
    /// An Ed25519 signature with the digest as the message.
    pub const ED25519: u16 = 0x24;
    /// Marks a "pure" signature over the whole image instead of the digest (not supported).
    pub const SIG_PURE: u16 = 0x25;
    /// The security counter (4 bytes), protected.
    pub const SEC_CNT: u16 = 0x50;
}

/// Header flags.
pub mod flags {
    /// The image is encrypted with AES-128.
    pub const ENCRYPTED_AES128: u32 = 0x0000_0004;
    /// The image is encrypted with AES-256.
    pub const ENCRYPTED_AES256: u32 = 0x0000_0008;
    /// The image is not bootable on its own.
    pub const NON_BOOTABLE: u32 = 0x0000_0010;
    /// The image is copied to RAM at the load address and run there.
    pub const RAM_LOAD: u32 = 0x0000_0020;
    /// The image runs only at its load address (in a fixed slot).
    pub const ROM_FIXED: u32 = 0x0000_0100;
    /// The image is LZMA1-compressed.
    pub const COMPRESSED_LZMA1: u32 = 0x0000_0200;
    /// The image is LZMA2-compressed.
    pub const COMPRESSED_LZMA2: u32 = 0x0000_0400;
}

/// Why an image was refused. [`failure`](Self::failure) gives what the installer records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum McubootError {
    /// Fewer bytes than the header, or the image and its TLVs run past the slot.
    Truncated,
    /// The image does not start with [`IMAGE_MAGIC`].
    BadMagic,
    /// The header's sizes are impossible (header under 32 bytes, a protected area too
    /// small for its info header, lengths past 4 GiB).
    BadHeader,
    /// A TLV area's magic or length is wrong, a TLV runs past its area, or a TLV this
    /// module reads has the wrong length or appears twice.
    BadTlvArea,
    /// The image carries no SHA-256 TLV.
    MissingHash,
    /// The header, image and protected TLVs do not hash to the SHA-256 TLV.
    HashMismatch,
    /// The image is of a kind this module does not verify: encrypted, signed "pure", or
    /// hashed with SHA-384 or SHA-512 only. The installer also refuses a compressed image
    /// with it, which could not run where it lies.
    Unsupported,
    /// No key TLV (KEYHASH or PUBKEY) names a key the device holds.
    UnknownKey,
    /// The image names a key the device holds, but no signature of that key verifies.
    BadSignature,
    /// The image's version is not above the running one.
    Downgrade,
    /// The image's security counter is below the device's.
    SecurityCounter,
    /// The header size is not the one the installer runs images at
    /// ([`IMAGE_OFFSET`](super::IMAGE_OFFSET), imgtool's `--header-size 0x200`): the image
    /// would not start where the device jumps to.
    HeaderSize(u16),
    /// The image and its TLVs do not fit in the update slot.
    TooLarge,
    /// More bytes arrived than the header and TLV areas declare.
    TooLong,
}

impl McubootError {
    /// The failure the installer records for this refusal: malformed images are
    /// [`Failure::Corrupted`] (FUMO 402), signature refusals [`Failure::Unauthentic`] (404),
    /// unsupported kinds, other header sizes, downgrades and rolled-back security counters
    /// [`Failure::NotAcceptable`] (405), an image larger than the slot
    /// [`Failure::TooLarge`] (501).
    pub fn failure(self) -> Failure {
        match self {
            Self::Truncated
            | Self::BadMagic
            | Self::BadHeader
            | Self::BadTlvArea
            | Self::MissingHash
            | Self::HashMismatch
            | Self::TooLong => Failure::Corrupted,
            Self::UnknownKey | Self::BadSignature => Failure::Unauthentic,
            Self::Unsupported | Self::Downgrade | Self::SecurityCounter | Self::HeaderSize(_) => {
                Failure::NotAcceptable
            }
            Self::TooLarge => Failure::TooLarge,
        }
    }
}

impl core::fmt::Display for McubootError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if let Self::HeaderSize(size) = self {
            // In decimal: hexadecimal would bring its formatting code into the firmware.
            return write!(
                f,
                "image header size {size}, not {} (imgtool --header-size 0x200 --pad-header)",
                super::IMAGE_OFFSET
            );
        }
        f.write_str(match self {
            Self::Truncated => "image truncated or larger than its slot",
            Self::BadMagic => "not an MCUboot image (bad magic)",
            Self::BadHeader => "inconsistent image header",
            Self::BadTlvArea => "malformed TLV area",
            Self::MissingHash => "image has no SHA-256 TLV",
            Self::HashMismatch => "image hash mismatch",
            Self::Unsupported => {
                "unsupported image (encrypted, compressed, pure signature or hash)"
            }
            Self::UnknownKey => "image is not signed with a known key",
            Self::BadSignature => "image signature does not verify",
            Self::Downgrade => "image is not newer than the running version",
            Self::SecurityCounter => "image security counter below the device's",
            Self::TooLarge => "image larger than the update slot",
            Self::TooLong => "more bytes than the image and its TLVs",
            Self::HeaderSize(_) => "image header size",
        })
    }
}

impl core::error::Error for McubootError {}

/// A refusal, or a failure of the caller's reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyError<E> {
    /// The reader failed at some offset.
    Read(E),
    /// The image was refused.
    Image(McubootError),
}

impl<E> From<McubootError> for VerifyError<E> {
    fn from(e: McubootError) -> Self {
        Self::Image(e)
    }
}

impl<E: core::fmt::Display> core::fmt::Display for VerifyError<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Read(e) => write!(f, "read failed: {e}"),
            Self::Image(e) => e.fmt(f),
        }
    }
}

impl<E: core::fmt::Debug + core::fmt::Display> core::error::Error for VerifyError<E> {}

/// An image version, `major.minor.revision+build`.
///
/// Versions order by major, then minor, then revision, then build, which is the order of
/// [`code`](Self::code). [`code32`](Self::code32) drops the build number to fit the
/// installer's 32-bit version codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ImageVersion {
    /// Major version.
    pub major: u8,
    /// Minor version.
    pub minor: u8,
    /// Revision.
    pub revision: u16,
    /// Build number.
    pub build: u32,
}

impl ImageVersion {
    /// The version `major.minor.revision+build`.
    pub const fn new(major: u8, minor: u8, revision: u16, build: u32) -> Self {
        Self {
            major,
            minor,
            revision,
            build,
        }
    }

    /// The whole version as one number, `major << 56 | minor << 48 | revision << 32 |
    /// build`: it orders as the versions do, and [`from_code`](Self::from_code) gives the
    /// version back.
    pub const fn code(self) -> u64 {
        (self.major as u64) << 56
            | (self.minor as u64) << 48
            | (self.revision as u64) << 32
            | self.build as u64
    }

    /// The version of a [`code`](Self::code).
    pub const fn from_code(code: u64) -> Self {
        Self {
            major: (code >> 56) as u8,
            minor: (code >> 48) as u8,
            revision: (code >> 32) as u16,
            build: code as u32,
        }
    }

    /// The version without its build number, `major << 24 | minor << 16 | revision`: the
    /// 32-bit version code the installer records, and the security counter imgtool derives
    /// from a version (`--security-counter auto`). Two versions that differ only in their
    /// build number have the same code.
    pub const fn code32(self) -> u32 {
        (self.major as u32) << 24 | (self.minor as u32) << 16 | self.revision as u32
    }

    /// The version as text, `major.minor.revision`, then `+build` unless the build number
    /// is 0 (`1.2.3`, `1.2.3+4`), written without `core::fmt`: what the FUMO object
    /// reports as `PkgVersion` for an MCUboot image.
    pub fn text(self) -> heapless::String<VERSION_TEXT_LEN> {
        let mut out = heapless::String::new();
        let parts = [
            (None, u32::from(self.major)),
            (Some('.'), u32::from(self.minor)),
            (Some('.'), u32::from(self.revision)),
            (Some('+'), self.build),
        ];
        for (i, (sep, n)) in parts.into_iter().enumerate() {
            if i == 3 && n == 0 {
                break;
            }
            // Fits: VERSION_TEXT_LEN is the longest the four numbers can give.
            if let Some(c) = sep {
                let _ = out.push(c);
            }
            let _ = out.push_str(crate::decimal::Decimal::new(u64::from(n)).as_str());
        }
        out
    }
}

impl core::fmt::Display for ImageVersion {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{}.{}.{}+{}",
            self.major, self.minor, self.revision, self.build
        )
    }
}

/// Refuses `candidate` unless it is newer than `running` (in the order of
/// [`ImageVersion`], build number included): [`McubootError::Downgrade`] otherwise, so an
/// older or the same image is never installed over the running one.
pub fn check_version(running: ImageVersion, candidate: ImageVersion) -> Result<(), McubootError> {
    if candidate > running {
        Ok(())
    } else {
        Err(McubootError::Downgrade)
    }
}

/// Refuses an image whose security counter (`None` counts as 0) is below the device's
/// `device_counter`, as MCUboot's rollback protection does: [`McubootError::SecurityCounter`].
pub fn check_security_counter(
    device_counter: u32,
    image_counter: Option<u32>,
) -> Result<(), McubootError> {
    if image_counter.unwrap_or(0) >= device_counter {
        Ok(())
    } else {
        Err(McubootError::SecurityCounter)
    }
}

fn le16(b: &[u8], at: usize) -> u16 {
    let mut v = [0u8; 2];
    if let Some(s) = b.get(at..at + 2) {
        v.copy_from_slice(s);
    }
    u16::from_le_bytes(v)
}

fn le32(b: &[u8], at: usize) -> u32 {
    let mut v = [0u8; 4];
    if let Some(s) = b.get(at..at + 4) {
        v.copy_from_slice(s);
    }
    u32::from_le_bytes(v)
}

/// A parsed image header. Its sizes are consistent: everything up to the unprotected TLV
/// area's info header ends below 4 GiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ImageHeader {
    load_address: u32,
    header_size: u16,
    protected_tlv_size: u16,
    image_size: u32,
    flags: u32,
    version: ImageVersion,
}

impl ImageHeader {
    /// Parses the header at the start of `bytes` (at least [`HEADER_LEN`] bytes).
    pub fn parse(bytes: &[u8]) -> Result<Self, McubootError> {
        if bytes.len() < HEADER_LEN {
            return Err(McubootError::Truncated);
        }
        if le32(bytes, 0) != IMAGE_MAGIC {
            return Err(McubootError::BadMagic);
        }
        let header = Self {
            load_address: le32(bytes, 4),
            header_size: le16(bytes, 8),
            protected_tlv_size: le16(bytes, 10),
            image_size: le32(bytes, 12),
            flags: le32(bytes, 16),
            version: ImageVersion {
                major: bytes.get(20).copied().unwrap_or_default(),
                minor: bytes.get(21).copied().unwrap_or_default(),
                revision: le16(bytes, 22),
                build: le32(bytes, 24),
            },
        };
        let protected = header.protected_tlv_size;
        let end = u64::from(header.header_size)
            + u64::from(header.image_size)
            + u64::from(protected)
            + TLV_HEADER_LEN as u64;
        if usize::from(header.header_size) < HEADER_LEN
            || (protected != 0 && usize::from(protected) < TLV_HEADER_LEN)
            || end > u64::from(u32::MAX)
        {
            return Err(McubootError::BadHeader);
        }
        Ok(header)
    }

    /// Where the image runs from when it is loaded to RAM or fixed in ROM; 0 otherwise.
    pub fn load_address(&self) -> u32 {
        self.load_address
    }

    /// Bytes before the image: the header and its padding.
    pub fn header_size(&self) -> u16 {
        self.header_size
    }

    /// Bytes of the protected TLV area, its info header included; 0 when there is none.
    pub fn protected_tlv_size(&self) -> u16 {
        self.protected_tlv_size
    }

    /// Bytes of the image, header excluded.
    pub fn image_size(&self) -> u32 {
        self.image_size
    }

    /// The header flags ([`flags`]).
    pub fn flags(&self) -> u32 {
        self.flags
    }

    /// The image version.
    pub fn version(&self) -> ImageVersion {
        self.version
    }

    /// Slot offset of the TLV areas: the header size plus the image size.
    pub fn tlv_offset(&self) -> u32 {
        // Bounded by `parse`.
        u32::from(self.header_size).saturating_add(self.image_size)
    }

    /// Bytes the image digest covers: header, image and protected TLVs; the unprotected
    /// TLV area starts there.
    pub fn hashed_len(&self) -> u32 {
        self.tlv_offset()
            .saturating_add(u32::from(self.protected_tlv_size))
    }
}

/// One TLV: its type and value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The type ([`tlv`]).
    pub kind: u16,
    /// The value.
    pub value: &'a [u8],
}

/// A TLV area held in memory: its info header and entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlvArea<'a> {
    protected: bool,
    entries: &'a [u8],
}

impl<'a> TlvArea<'a> {
    /// Reads the TLV area at the start of `bytes`: the info header (magic
    /// [`TLV_PROT_INFO_MAGIC`] or [`TLV_INFO_MAGIC`], total length with the info header),
    /// then the entries, which must lie within `bytes`.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, McubootError> {
        let magic = le16(bytes, 0);
        let total = usize::from(le16(bytes, 2));
        let protected = match magic {
            TLV_PROT_INFO_MAGIC => true,
            TLV_INFO_MAGIC => false,
            _ if bytes.len() < TLV_HEADER_LEN => return Err(McubootError::Truncated),
            _ => return Err(McubootError::BadTlvArea),
        };
        if total < TLV_HEADER_LEN {
            return Err(McubootError::BadTlvArea);
        }
        let entries = bytes
            .get(TLV_HEADER_LEN..total)
            .ok_or(McubootError::Truncated)?;
        Ok(Self { protected, entries })
    }

    /// Whether this is the protected area.
    pub fn is_protected(&self) -> bool {
        self.protected
    }

    /// Length of the area, its info header included.
    pub fn len(&self) -> usize {
        self.entries.len() + TLV_HEADER_LEN
    }

    /// Never true: an area holds at least its info header.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The entries in order. An entry that runs past the area ends the walk with
    /// [`McubootError::BadTlvArea`].
    pub fn iter(&self) -> TlvIter<'a> {
        TlvIter { rest: self.entries }
    }
}

impl<'a> IntoIterator for TlvArea<'a> {
    type Item = Result<Tlv<'a>, McubootError>;
    type IntoIter = TlvIter<'a>;

    fn into_iter(self) -> TlvIter<'a> {
        self.iter()
    }
}

/// Walks the entries of a [`TlvArea`].
#[derive(Debug, Clone)]
pub struct TlvIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for TlvIter<'a> {
    type Item = Result<Tlv<'a>, McubootError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let rest = core::mem::take(&mut self.rest);
        let kind = le16(rest, 0);
        let len = usize::from(le16(rest, 2));
        let Some(value) = rest.get(TLV_HEADER_LEN..TLV_HEADER_LEN + len) else {
            return Some(Err(McubootError::BadTlvArea));
        };
        self.rest = rest.get(TLV_HEADER_LEN + len..).unwrap_or_default();
        Some(Ok(Tlv { kind, value }))
    }
}

/// A public key an image can be signed with, as [`verify_image`] uses it.
pub trait ImageKey {
    /// The TLV type of this key's signatures ([`tlv::ED25519`] or [`tlv::ECDSA_SIG`]).
    fn signature_tlv(&self) -> u16;

    /// The key as imgtool embeds it (DER `SubjectPublicKeyInfo`): a PUBKEY TLV holds these
    /// bytes, a KEYHASH TLV their SHA-256.
    fn public_key_info(&self) -> heapless::Vec<u8, MAX_KEY_INFO_LEN>;

    /// True when `signature`, the value of a signature TLV, signs `digest`.
    fn verify_digest(&self, digest: &[u8; 32], signature: &[u8]) -> bool;
}

/// What [`verify_image`] found in an image it accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct VerifiedImage {
    header: ImageHeader,
    digest: [u8; 32],
    security_counter: Option<u32>,
    key: usize,
}

impl VerifiedImage {
    /// The image header.
    pub fn header(&self) -> &ImageHeader {
        &self.header
    }

    /// The image version.
    pub fn version(&self) -> ImageVersion {
        self.header.version
    }

    /// The security counter of the protected TLV area, if the image has one.
    pub fn security_counter(&self) -> Option<u32> {
        self.security_counter
    }

    /// The SHA-256 digest of the header, image and protected TLVs.
    pub fn digest(&self) -> &[u8; 32] {
        &self.digest
    }

    /// Which of the keys given to [`verify_image`] signed the image (its index).
    pub fn key_index(&self) -> usize {
        self.key
    }
}

/// Reads `buf.len()` bytes at `at`, refusing reads that would end past `limit`.
fn read_at<E>(
    read: &mut impl FnMut(u32, &mut [u8]) -> Result<(), E>,
    at: u32,
    buf: &mut [u8],
    limit: u32,
) -> Result<(), VerifyError<E>> {
    let end = u64::from(at) + buf.len() as u64;
    if end > u64::from(limit) {
        return Err(McubootError::Truncated.into());
    }
    read(at, buf).map_err(VerifyError::Read)
}

/// The area's info header at `at`: magic and total length, the entries' range checked
/// against `limit`.
fn read_info<E>(
    read: &mut impl FnMut(u32, &mut [u8]) -> Result<(), E>,
    at: u32,
    limit: u32,
) -> Result<(u16, u32), VerifyError<E>> {
    let mut info = [0u8; TLV_HEADER_LEN];
    read_at(read, at, &mut info, limit)?;
    let total = u32::from(le16(&info, 2));
    if (total as usize) < TLV_HEADER_LEN {
        return Err(McubootError::BadTlvArea.into());
    }
    if u64::from(at) + u64::from(total) > u64::from(limit) {
        return Err(McubootError::Truncated.into());
    }
    Ok((le16(&info, 0), total))
}

/// A read bounded to one TLV's value, as the walk hands it on.
type ValueReader<'r, E> = dyn FnMut(u32, &mut [u8]) -> Result<(), VerifyError<E>> + 'r;

/// Walks the TLVs between `start` and `end` (slot offsets, already bounded by the slot),
/// handing each entry's type, value offset and length to `each`.
fn walk<E>(
    read: &mut impl FnMut(u32, &mut [u8]) -> Result<(), E>,
    start: u32,
    end: u32,
    mut each: impl FnMut(&mut ValueReader<'_, E>, u16, u32, u16) -> Result<(), VerifyError<E>>,
) -> Result<(), VerifyError<E>> {
    let mut at = start;
    while at < end {
        let mut entry = [0u8; TLV_HEADER_LEN];
        if end - at < TLV_HEADER_LEN as u32 {
            return Err(McubootError::BadTlvArea.into());
        }
        read_at(read, at, &mut entry, end)?;
        let (kind, len) = (le16(&entry, 0), le16(&entry, 2));
        let value = at + TLV_HEADER_LEN as u32;
        if u32::from(len) > end - value {
            return Err(McubootError::BadTlvArea.into());
        }
        let value_end = value + u32::from(len);
        let mut bounded = |off: u32, buf: &mut [u8]| read_at(read, off, buf, value_end);
        each(&mut bounded, kind, value, len)?;
        at = value_end;
    }
    Ok(())
}

/// Verifies the MCUboot image in a slot of `slot_len` bytes, read through `read(offset,
/// buf)`, against `keys`, as MCUboot does before booting it:
///
/// 1. the header parses, the image is not encrypted, and the image and both TLV areas lie
///    within the slot;
/// 2. the header, image and protected TLVs hash (SHA-256) to the SHA-256 TLV;
/// 3. the protected area's size matches the header, its security counter (if any) is read;
/// 4. a KEYHASH (or PUBKEY) TLV names one of `keys`, and the signature TLV after it
///    verifies under that key.
///
/// Returns the header, the digest, the security counter and the signing key. Nothing is
/// held in RAM beyond a 256-byte buffer; every length is checked against the slot before
/// it is read, and the reader is never asked for bytes past `slot_len`. Compare the
/// version with [`check_version`] and the counter with [`check_security_counter`] before
/// installing.
pub fn verify_image<E>(
    read: impl FnMut(u32, &mut [u8]) -> Result<(), E>,
    slot_len: u32,
    keys: &[&dyn ImageKey],
) -> Result<VerifiedImage, VerifyError<E>> {
    let (image, found) = check(read, slot_len, keys)?;
    let key = match (found.signed_by, found.named_key) {
        (Some(key), _) => key,
        (None, true) => return Err(McubootError::BadSignature.into()),
        (None, false) => return Err(McubootError::UnknownKey.into()),
    };
    Ok(VerifiedImage { key, ..image })
}

/// [`verify_image`] but for the signature: the image's structure, and its SHA-256 TLV equal
/// to the digest of its header, image and protected TLVs. For an image whose signature was
/// checked when it was installed, to find it still intact (as
/// [`Installer::verify_slot`](super::Installer::verify_slot) does). Returns its header.
pub fn check_image<E>(
    read: impl FnMut(u32, &mut [u8]) -> Result<(), E>,
    slot_len: u32,
) -> Result<ImageHeader, VerifyError<E>> {
    check(read, slot_len, &[]).map(|(image, _)| image.header)
}

/// The header and the security counter (from the protected TLV area) of the image in a slot
/// of `slot_len` bytes, read through `read` without hashing the image or checking its
/// signature: for an image verified before, such as the running one, whose counter a new
/// image must not go below.
pub fn read_image_info<E>(
    mut read: impl FnMut(u32, &mut [u8]) -> Result<(), E>,
    slot_len: u32,
) -> Result<(ImageHeader, Option<u32>), VerifyError<E>> {
    let mut head = [0u8; HEADER_LEN];
    read_at(&mut read, 0, &mut head, slot_len)?;
    let header = ImageHeader::parse(&head)?;
    let counter = read_protected(&mut read, &header, slot_len)?;
    Ok((header, counter))
}

/// Everything [`verify_image`] checks before it looks at the signatures: the image (its
/// signing key not yet known), and what the walk over the unprotected TLVs found.
fn check<E>(
    mut read: impl FnMut(u32, &mut [u8]) -> Result<(), E>,
    slot_len: u32,
    keys: &[&dyn ImageKey],
) -> Result<(VerifiedImage, Found), VerifyError<E>> {
    let mut head = [0u8; HEADER_LEN];
    read_at(&mut read, 0, &mut head, slot_len)?;
    let header = ImageHeader::parse(&head)?;
    if header.flags & (flags::ENCRYPTED_AES128 | flags::ENCRYPTED_AES256) != 0 {
        return Err(McubootError::Unsupported.into());
    }
    let digest = hash_image(&mut read, &header, slot_len)?;
    let security_counter = read_protected(&mut read, &header, slot_len)?;

    let start = header.hashed_len();
    let (magic, total) = read_info(&mut read, start, slot_len)?;
    if magic != TLV_INFO_MAGIC {
        return Err(McubootError::BadTlvArea.into());
    }
    let mut found = Found::default();
    walk(
        &mut read,
        start + TLV_HEADER_LEN as u32,
        start + total,
        |read, kind, at, len| found.entry(read, kind, at, len, &digest, keys),
    )?;
    if found.pure {
        return Err(McubootError::Unsupported.into());
    }
    if !found.hash {
        return Err(if found.other_hash {
            McubootError::Unsupported
        } else {
            McubootError::MissingHash
        }
        .into());
    }
    let image = VerifiedImage {
        header,
        digest,
        security_counter,
        key: 0,
    };
    Ok((image, found))
}

/// [`verify_image`] over an image held in memory (the slot is `image`).
pub fn verify_image_bytes(
    image: &[u8],
    keys: &[&dyn ImageKey],
) -> Result<VerifiedImage, McubootError> {
    let slot_len = u32::try_from(image.len()).unwrap_or(u32::MAX);
    let read = |at: u32, buf: &mut [u8]| {
        let at = at as usize;
        let src = image.get(at..at.saturating_add(buf.len())).ok_or(())?;
        buf.copy_from_slice(src);
        Ok(())
    };
    verify_image(read, slot_len, keys).map_err(|e| match e {
        VerifyError::Image(e) => e,
        VerifyError::Read(()) => McubootError::Truncated,
    })
}

/// SHA-256 of the header, image and protected TLVs, read `CHUNK` bytes at a time.
fn hash_image<E>(
    read: &mut impl FnMut(u32, &mut [u8]) -> Result<(), E>,
    header: &ImageHeader,
    slot_len: u32,
) -> Result<[u8; 32], VerifyError<E>> {
    let end = header.hashed_len();
    // The unprotected area's info header must fit too: checked before hashing anything.
    if u64::from(end) + TLV_HEADER_LEN as u64 > u64::from(slot_len) {
        return Err(McubootError::Truncated.into());
    }
    let mut hasher = Sha256::new();
    let mut buf = [0u8; CHUNK];
    let mut at = 0u32;
    while at < end {
        let n = (end - at).min(CHUNK as u32);
        let chunk = buf.get_mut(..n as usize).unwrap_or_default();
        read_at(read, at, chunk, slot_len)?;
        hasher.update(&*chunk);
        at += n;
    }
    Ok(hasher.finalize().into())
}

/// Checks the protected TLV area against the header and returns its security counter.
fn read_protected<E>(
    read: &mut impl FnMut(u32, &mut [u8]) -> Result<(), E>,
    header: &ImageHeader,
    slot_len: u32,
) -> Result<Option<u32>, VerifyError<E>> {
    let at = header.tlv_offset();
    let (magic, total) = read_info(read, at, slot_len)?;
    let size = u32::from(header.protected_tlv_size());
    if size == 0 {
        // No protected area: what follows the image must be the unprotected one.
        return if magic == TLV_PROT_INFO_MAGIC {
            Err(McubootError::BadTlvArea.into())
        } else {
            Ok(None)
        };
    }
    if magic != TLV_PROT_INFO_MAGIC || total != size {
        return Err(McubootError::BadTlvArea.into());
    }
    let mut counter = None;
    walk(
        read,
        at + TLV_HEADER_LEN as u32,
        at + size,
        |read, kind, value, len| {
            if kind != tlv::SEC_CNT {
                return Ok(());
            }
            if len != 4 || counter.is_some() {
                return Err(McubootError::BadTlvArea.into());
            }
            let mut v = [0u8; 4];
            read(value, &mut v)?;
            counter = Some(u32::from_le_bytes(v));
            Ok(())
        },
    )?;
    Ok(counter)
}

/// What the walk over the unprotected TLVs has seen so far.
#[derive(Default)]
struct Found {
    hash: bool,
    other_hash: bool,
    pure: bool,
    /// The key named by the last key TLV, waiting for its signature.
    pending: Option<usize>,
    /// Whether any key TLV named one of the keys.
    named_key: bool,
    signed_by: Option<usize>,
}

impl Found {
    fn entry<E>(
        &mut self,
        read: &mut ValueReader<'_, E>,
        kind: u16,
        at: u32,
        len: u16,
        digest: &[u8; 32],
        keys: &[&dyn ImageKey],
    ) -> Result<(), VerifyError<E>> {
        match kind {
            tlv::SHA256 => {
                let mut value = [0u8; 32];
                if usize::from(len) != value.len() {
                    return Err(McubootError::BadTlvArea.into());
                }
                read(at, &mut value)?;
                if value != *digest {
                    return Err(McubootError::HashMismatch.into());
                }
                self.hash = true;
            }
            tlv::SHA384 | tlv::SHA512 => self.other_hash = true,
            tlv::SIG_PURE => self.pure = true,
            tlv::KEYHASH => {
                let mut value = [0u8; 32];
                self.pending = None;
                if usize::from(len) == value.len() {
                    read(at, &mut value)?;
                    self.pending = keys.iter().position(|k| {
                        let hash: [u8; 32] = Sha256::digest(k.public_key_info()).into();
                        hash == value
                    });
                }
                self.named_key |= self.pending.is_some();
            }
            tlv::PUBKEY => {
                let mut value = [0u8; MAX_KEY_INFO_LEN];
                self.pending = None;
                if let Some(value) = value.get_mut(..usize::from(len)) {
                    read(at, value)?;
                    self.pending = keys
                        .iter()
                        .position(|k| k.public_key_info().as_slice() == &*value);
                }
                self.named_key |= self.pending.is_some();
            }
            _ if kind == tlv::ED25519
                || kind == tlv::ECDSA_SIG
                || self
                    .pending
                    .and_then(|i| keys.get(i))
                    .is_some_and(|k| k.signature_tlv() == kind) =>
            {
                let Some(key) = self.pending.take().and_then(|i| Some((i, *keys.get(i)?))) else {
                    return Ok(());
                };
                if key.1.signature_tlv() != kind {
                    return Ok(());
                }
                let mut value = [0u8; MAX_SIGNATURE_LEN];
                let value = value
                    .get_mut(..usize::from(len))
                    .ok_or(McubootError::BadTlvArea)?;
                read(at, value)?;
                if self.signed_by.is_none() && key.1.verify_digest(digest, value) {
                    self.signed_by = Some(key.0);
                }
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    const HDR: u16 = 0x40;

    fn tlvs(magic: u16, entries: &[(u16, &[u8])]) -> Vec<u8> {
        let mut body = Vec::new();
        for (kind, value) in entries {
            body.extend_from_slice(&kind.to_le_bytes());
            body.extend_from_slice(&(value.len() as u16).to_le_bytes());
            body.extend_from_slice(value);
        }
        let mut out = Vec::new();
        out.extend_from_slice(&magic.to_le_bytes());
        out.extend_from_slice(&((body.len() + 4) as u16).to_le_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// Header, payload and protected TLVs (when `protected` is not empty): the hashed part.
    fn hashed(payload: &[u8], version: ImageVersion, protected: &[(u16, &[u8])]) -> Vec<u8> {
        let prot = if protected.is_empty() {
            Vec::new()
        } else {
            tlvs(TLV_PROT_INFO_MAGIC, protected)
        };
        let mut out = Vec::new();
        out.extend_from_slice(&IMAGE_MAGIC.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&HDR.to_le_bytes());
        out.extend_from_slice(&(prot.len() as u16).to_le_bytes());
        out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&[version.major, version.minor]);
        out.extend_from_slice(&version.revision.to_le_bytes());
        out.extend_from_slice(&version.build.to_le_bytes());
        out.resize(usize::from(HDR), 0);
        out.extend_from_slice(payload);
        out.extend_from_slice(&prot);
        out
    }

    fn sha256(b: &[u8]) -> [u8; 32] {
        Sha256::digest(b).into()
    }

    const V: ImageVersion = ImageVersion::new(1, 2, 3, 4);

    #[test]
    fn header_fields_and_errors() {
        let img = hashed(&[7; 100], V, &[(tlv::SEC_CNT, &5u32.to_le_bytes())]);
        let h = ImageHeader::parse(&img).unwrap();
        assert_eq!(h.header_size(), HDR);
        assert_eq!(h.image_size(), 100);
        assert_eq!(h.protected_tlv_size(), 12);
        assert_eq!(h.version(), V);
        assert_eq!(h.flags(), 0);
        assert_eq!(h.load_address(), 0);
        assert_eq!(h.tlv_offset(), 0x40 + 100);
        assert_eq!(h.hashed_len(), 0x40 + 100 + 12);

        assert_eq!(ImageHeader::parse(&img[..31]), Err(McubootError::Truncated));
        let mut bad = img.clone();
        bad[0] ^= 1;
        assert_eq!(ImageHeader::parse(&bad), Err(McubootError::BadMagic));
        // Header size below the fixed header.
        let mut bad = img.clone();
        bad[8..10].copy_from_slice(&31u16.to_le_bytes());
        assert_eq!(ImageHeader::parse(&bad), Err(McubootError::BadHeader));
        // Sizes that overflow 32 bits.
        let mut bad = img.clone();
        bad[12..16].copy_from_slice(&(u32::MAX - 0x30).to_le_bytes());
        assert_eq!(ImageHeader::parse(&bad), Err(McubootError::BadHeader));
        // A protected area too small for its info header.
        let mut bad = img.clone();
        bad[10..12].copy_from_slice(&2u16.to_le_bytes());
        assert_eq!(ImageHeader::parse(&bad), Err(McubootError::BadHeader));
    }

    #[test]
    fn versions_order_and_codes() {
        let a = ImageVersion::new(1, 2, 3, 4);
        assert!(ImageVersion::new(1, 2, 3, 5) > a);
        assert!(ImageVersion::new(1, 3, 0, 0) > a);
        assert!(ImageVersion::new(2, 0, 0, 0) > ImageVersion::new(1, 255, 65535, u32::MAX));
        assert_eq!(a.code(), 0x0102_0003_0000_0004);
        assert_eq!(ImageVersion::from_code(a.code()), a);
        assert_eq!(a.code32(), 0x0102_0003);
        assert_eq!(a.code32(), ImageVersion::new(1, 2, 3, 9).code32());
        assert_eq!(std::format!("{a}"), "1.2.3+4");
        for (x, y) in [
            (a, ImageVersion::new(1, 2, 4, 0)),
            (ImageVersion::default(), a),
        ] {
            assert_eq!(x < y, x.code() < y.code());
        }
        assert_eq!(check_version(a, ImageVersion::new(1, 2, 3, 5)), Ok(()));
        assert_eq!(check_version(a, a), Err(McubootError::Downgrade));
        assert_eq!(
            check_version(a, ImageVersion::new(1, 1, 9, 9)),
            Err(McubootError::Downgrade)
        );
        assert_eq!(check_security_counter(3, Some(3)), Ok(()));
        assert_eq!(check_security_counter(0, None), Ok(()));
        assert_eq!(
            check_security_counter(3, Some(2)),
            Err(McubootError::SecurityCounter)
        );
        assert_eq!(
            check_security_counter(1, None),
            Err(McubootError::SecurityCounter)
        );
    }

    #[test]
    fn version_text() {
        assert_eq!(ImageVersion::new(1, 2, 3, 4).text().as_str(), "1.2.3+4");
        assert_eq!(ImageVersion::new(1, 2, 3, 0).text().as_str(), "1.2.3");
        assert_eq!(ImageVersion::default().text().as_str(), "0.0.0");
        let longest = ImageVersion::new(255, 255, 65535, u32::MAX);
        assert_eq!(longest.text().as_str(), "255.255.65535+4294967295");
        assert_eq!(longest.text().len(), VERSION_TEXT_LEN);
        assert_eq!(longest.text().as_str(), std::format!("{longest}"));
    }

    #[test]
    fn installer_refusals_and_their_failures() {
        assert_eq!(
            McubootError::HeaderSize(0x100).failure(),
            Failure::NotAcceptable
        );
        assert_eq!(McubootError::TooLarge.failure(), Failure::TooLarge);
        assert_eq!(McubootError::TooLong.failure(), Failure::Corrupted);
        let text = std::format!("{}", McubootError::HeaderSize(0x100));
        assert!(
            text.contains("size 256, not 512") && text.contains("0x200"),
            "{text}"
        );
    }

    #[test]
    fn tlv_area_walk() {
        let area = tlvs(
            TLV_INFO_MAGIC,
            &[
                (tlv::SHA256, &[1; 32]),
                (0x7777, b"skip me"),
                (tlv::KEYHASH, &[]),
            ],
        );
        let parsed = TlvArea::parse(&area).unwrap();
        assert!(!parsed.is_protected());
        assert_eq!(parsed.len(), area.len());
        let kinds: Vec<_> = parsed.iter().map(|t| t.unwrap()).collect();
        assert_eq!(kinds.len(), 3);
        assert_eq!(
            kinds[0],
            Tlv {
                kind: tlv::SHA256,
                value: &[1; 32]
            }
        );
        assert_eq!(kinds[1].value, b"skip me");
        assert!(kinds[2].value.is_empty());
        // Trailing bytes after the area are not part of it.
        let mut longer = area.clone();
        longer.extend_from_slice(&[0xAA; 8]);
        assert_eq!(TlvArea::parse(&longer).unwrap().iter().count(), 3);

        let prot = tlvs(TLV_PROT_INFO_MAGIC, &[(tlv::SEC_CNT, &[1, 0, 0, 0])]);
        assert!(TlvArea::parse(&prot).unwrap().is_protected());

        // An entry running past the area ends the walk with an error.
        let mut bad = area.clone();
        bad[4 + 2..4 + 4].copy_from_slice(&33u16.to_le_bytes());
        let results: Vec<_> = TlvArea::parse(&bad).unwrap().iter().collect();
        assert_eq!(results.last(), Some(&Err(McubootError::BadTlvArea)));
        // A dangling partial entry header.
        let mut bad = area.clone();
        bad.extend_from_slice(&[1, 0]);
        let total = (bad.len()) as u16;
        bad[2..4].copy_from_slice(&total.to_le_bytes());
        assert_eq!(
            TlvArea::parse(&bad).unwrap().iter().last(),
            Some(Err(McubootError::BadTlvArea))
        );

        assert_eq!(TlvArea::parse(&[0x07]), Err(McubootError::Truncated));
        assert_eq!(
            TlvArea::parse(&[0x07, 0x69, 3, 0]),
            Err(McubootError::BadTlvArea)
        );
        assert_eq!(
            TlvArea::parse(&[0x07, 0x69, 9, 0, 1]),
            Err(McubootError::Truncated)
        );
        assert_eq!(
            TlvArea::parse(&[0x08, 0x70, 4, 0]),
            Err(McubootError::BadTlvArea)
        );
    }

    /// An image over `hashed` with the unprotected `entries` (the SHA-256 TLV first).
    fn finish(hashed: &[u8], entries: &[(u16, &[u8])]) -> Vec<u8> {
        let digest = sha256(hashed);
        let mut all: Vec<(u16, &[u8])> = std::vec![(tlv::SHA256, &digest)];
        all.extend_from_slice(entries);
        let mut out = hashed.to_vec();
        out.extend_from_slice(&tlvs(TLV_INFO_MAGIC, &all));
        out
    }

    /// A key that accepts one fixed signature, to test the walk without real signatures.
    struct FixedKey(u8);

    impl ImageKey for FixedKey {
        fn signature_tlv(&self) -> u16 {
            0x00F0
        }
        fn public_key_info(&self) -> heapless::Vec<u8, MAX_KEY_INFO_LEN> {
            heapless::Vec::from_slice(&[self.0; 20]).unwrap()
        }
        fn verify_digest(&self, _digest: &[u8; 32], signature: &[u8]) -> bool {
            signature == [self.0; 8]
        }
    }

    #[test]
    fn verification_walk_with_a_stand_in_key() {
        let key = FixedKey(9);
        let keys: [&dyn ImageKey; 1] = [&key];
        let h = hashed(
            &[0x55; 300],
            V,
            &[(0x0A0, b"vendor"), (tlv::SEC_CNT, &7u32.to_le_bytes())],
        );
        let key_hash = sha256(&[9; 20]);
        let good = finish(
            &h,
            &[
                (0x7777, b"unknown"),
                (tlv::KEYHASH, &key_hash),
                (0xF0, &[9; 8]),
            ],
        );
        let ok = verify_image_bytes(&good, &keys).unwrap();
        assert_eq!(ok.version(), V);
        assert_eq!(ok.security_counter(), Some(7));
        assert_eq!(ok.digest(), &sha256(&h));
        assert_eq!(ok.key_index(), 0);
        // The whole key instead of its hash.
        let full = finish(&h, &[(tlv::PUBKEY, &[9; 20]), (0xF0, &[9; 8])]);
        assert!(verify_image_bytes(&full, &keys).is_ok());
        // The signature must follow the key that names it.
        let order = finish(&h, &[(0xF0, &[9; 8]), (tlv::KEYHASH, &key_hash)]);
        assert_eq!(
            verify_image_bytes(&order, &keys),
            Err(McubootError::BadSignature)
        );
        let other = finish(&h, &[(tlv::KEYHASH, &sha256(&[8; 20])), (0xF0, &[9; 8])]);
        assert_eq!(
            verify_image_bytes(&other, &keys),
            Err(McubootError::UnknownKey)
        );
        let bad_sig = finish(&h, &[(tlv::KEYHASH, &key_hash), (0xF0, &[9; 7])]);
        assert_eq!(
            verify_image_bytes(&bad_sig, &keys),
            Err(McubootError::BadSignature)
        );
        assert_eq!(
            verify_image_bytes(&good, &[]),
            Err(McubootError::UnknownKey)
        );
        // A second signature by a key the device holds is enough.
        let second = finish(
            &h,
            &[
                (tlv::KEYHASH, &key_hash),
                (0xF0, &[1; 8]),
                (tlv::KEYHASH, &key_hash),
                (0xF0, &[9; 8]),
            ],
        );
        assert!(verify_image_bytes(&second, &keys).is_ok());
    }

    #[test]
    fn checking_without_keys_and_reading_the_counter() {
        let key = FixedKey(9);
        let keys: [&dyn ImageKey; 1] = [&key];
        let key_hash = sha256(&[9; 20]);
        let h = hashed(&[0x77; 90], V, &[(tlv::SEC_CNT, &5u32.to_le_bytes())]);
        let read_from = |img: &[u8]| {
            let img = img.to_vec();
            move |at: u32, buf: &mut [u8]| -> Result<(), ()> {
                let at = at as usize;
                buf.copy_from_slice(img.get(at..at + buf.len()).ok_or(())?);
                Ok(())
            }
        };
        // A bad signature: refused by verify_image, intact for check_image.
        let bad_sig = finish(&h, &[(tlv::KEYHASH, &key_hash), (0xF0, &[8; 8])]);
        let len = bad_sig.len() as u32;
        assert_eq!(
            verify_image_bytes(&bad_sig, &keys),
            Err(McubootError::BadSignature)
        );
        let header = check_image(read_from(&bad_sig), len).unwrap();
        assert_eq!((header.version(), header.image_size()), (V, 90));
        // A flipped payload byte is caught without keys.
        let mut flipped = bad_sig.clone();
        flipped[usize::from(HDR) + 1] ^= 1;
        assert_eq!(
            check_image(read_from(&flipped), len),
            Err(VerifyError::Image(McubootError::HashMismatch))
        );
        // The counter read alone, without hashing: a flipped payload does not matter.
        let (header, counter) = read_image_info(read_from(&flipped), len).unwrap();
        assert_eq!((header.version(), counter), (V, Some(5)));
        let plain = finish(&hashed(&[1; 8], V, &[]), &[]);
        let (_, counter) = read_image_info(read_from(&plain), plain.len() as u32).unwrap();
        assert_eq!(counter, None);
        assert_eq!(
            read_image_info(read_from(&[0u8; 40]), 40),
            Err(VerifyError::Image(McubootError::BadMagic))
        );
    }

    #[test]
    fn refusals_and_their_failures() {
        let key = FixedKey(9);
        let keys: [&dyn ImageKey; 1] = [&key];
        let key_hash = sha256(&[9; 20]);
        let signed = [(tlv::KEYHASH, &key_hash[..]), (0xF0, &[9; 8][..])];
        let h = hashed(&[0x66; 64], V, &[]);
        let good = finish(&h, &signed);
        assert!(verify_image_bytes(&good, &keys).is_ok());

        let check = |img: &[u8], want: McubootError, failure: Failure| {
            assert_eq!(verify_image_bytes(img, &keys), Err(want));
            assert_eq!(want.failure(), failure);
        };
        // A flipped payload byte.
        let mut bad = good.clone();
        bad[usize::from(HDR) + 3] ^= 1;
        check(&bad, McubootError::HashMismatch, Failure::Corrupted);
        // Truncated anywhere.
        for cut in [0, 20, 40, h.len(), good.len() - 1] {
            check(&good[..cut], McubootError::Truncated, Failure::Corrupted);
        }
        // No SHA-256 TLV.
        let mut none = h.clone();
        none.extend_from_slice(&tlvs(TLV_INFO_MAGIC, &signed));
        check(&none, McubootError::MissingHash, Failure::Corrupted);
        // Only a SHA-512 TLV, or a pure signature: not supported.
        let mut other = h.clone();
        other.extend_from_slice(&tlvs(TLV_INFO_MAGIC, &[(tlv::SHA512, &[0; 64])]));
        check(&other, McubootError::Unsupported, Failure::NotAcceptable);
        let pure = finish(&h, &[(tlv::SIG_PURE, &[1])]);
        check(&pure, McubootError::Unsupported, Failure::NotAcceptable);
        // Encrypted.
        let mut enc = h.clone();
        enc[16] = flags::ENCRYPTED_AES128 as u8;
        let enc = finish(&enc, &signed);
        check(&enc, McubootError::Unsupported, Failure::NotAcceptable);
        // A SHA-256 TLV of the wrong length.
        let mut short = h.clone();
        short.extend_from_slice(&tlvs(TLV_INFO_MAGIC, &[(tlv::SHA256, &[0; 31])]));
        check(&short, McubootError::BadTlvArea, Failure::Corrupted);
        // The unprotected area's magic.
        let mut magic = good.clone();
        magic[h.len()] ^= 1;
        check(&magic, McubootError::BadTlvArea, Failure::Corrupted);
        // A TLV longer than its area.
        let mut long = good.clone();
        let first_len = h.len() + 4 + 2;
        long[first_len..first_len + 2].copy_from_slice(&0x7000u16.to_le_bytes());
        check(&long, McubootError::BadTlvArea, Failure::Corrupted);
        // An area total longer than the slot.
        let mut total = good.clone();
        total[h.len() + 2..h.len() + 4].copy_from_slice(&0xFFFFu16.to_le_bytes());
        check(&total, McubootError::Truncated, Failure::Corrupted);
        // Image size past the slot.
        let mut size = good.clone();
        size[12..16].copy_from_slice(&0x0100_0000u32.to_le_bytes());
        check(&size, McubootError::Truncated, Failure::Corrupted);
        assert_eq!(McubootError::BadSignature.failure(), Failure::Unauthentic);
        assert_eq!(McubootError::UnknownKey.failure(), Failure::Unauthentic);
        assert_eq!(McubootError::Downgrade.failure(), Failure::NotAcceptable);
        assert_eq!(
            McubootError::SecurityCounter.failure(),
            Failure::NotAcceptable
        );
        assert_eq!(McubootError::BadMagic.failure(), Failure::Corrupted);
    }

    #[test]
    fn protected_area_checks() {
        let key = FixedKey(9);
        let keys: [&dyn ImageKey; 1] = [&key];
        let key_hash = sha256(&[9; 20]);
        let signed = [(tlv::KEYHASH, &key_hash[..]), (0xF0, &[9; 8][..])];
        let cnt = 3u32.to_le_bytes();
        // Two security counters.
        let twice = finish(
            &hashed(&[1; 8], V, &[(tlv::SEC_CNT, &cnt), (tlv::SEC_CNT, &cnt)]),
            &signed,
        );
        assert_eq!(
            verify_image_bytes(&twice, &keys),
            Err(McubootError::BadTlvArea)
        );
        // A counter of the wrong length.
        let odd = finish(&hashed(&[1; 8], V, &[(tlv::SEC_CNT, &[1, 2])]), &signed);
        assert_eq!(
            verify_image_bytes(&odd, &keys),
            Err(McubootError::BadTlvArea)
        );
        // The header's protected size disagrees with the area's.
        let mut h = hashed(&[1; 8], V, &[(tlv::SEC_CNT, &cnt)]);
        h[10] += 4;
        h.extend_from_slice(&[0; 4]);
        let mismatch = finish(&h, &signed);
        assert_eq!(
            verify_image_bytes(&mismatch, &keys),
            Err(McubootError::BadTlvArea)
        );
        // A protected area the header does not announce.
        let mut h = hashed(&[1; 8], V, &[(tlv::SEC_CNT, &cnt)]);
        h[10] = 0;
        let unannounced = finish(&h, &signed);
        assert_eq!(
            verify_image_bytes(&unannounced, &keys),
            Err(McubootError::BadTlvArea)
        );
        // A counter in the unprotected area is not covered by the signature: ignored.
        let loose = finish(
            &hashed(&[1; 8], V, &[]),
            &[signed[0], signed[1], (tlv::SEC_CNT, &cnt)],
        );
        assert_eq!(
            verify_image_bytes(&loose, &keys)
                .unwrap()
                .security_counter(),
            None
        );
    }

    #[test]
    fn reads_stay_within_the_slot_and_errors_pass_through() {
        let key = FixedKey(9);
        let keys: [&dyn ImageKey; 1] = [&key];
        let key_hash = sha256(&[9; 20]);
        let img = finish(
            &hashed(&[3; 1000], V, &[]),
            &[(tlv::KEYHASH, &key_hash), (0xF0, &[9; 8])],
        );
        let slot = img.len() as u32;
        let mut largest = 0usize;
        let mut end = 0u32;
        let r = verify_image(
            |at: u32, buf: &mut [u8]| -> Result<(), ()> {
                largest = largest.max(buf.len());
                end = end.max(at + buf.len() as u32);
                buf.copy_from_slice(&img[at as usize..at as usize + buf.len()]);
                Ok(())
            },
            slot,
            &keys,
        );
        assert!(r.is_ok());
        assert!(largest <= CHUNK);
        assert_eq!(end, slot);
        let failing = verify_image(
            |at: u32, _buf: &mut [u8]| if at >= 512 { Err("flash") } else { Ok(()) },
            slot,
            &keys,
        );
        assert!(matches!(
            failing,
            Err(VerifyError::Image(McubootError::BadMagic))
        ));
        let mut copy = |at: u32, buf: &mut [u8]| {
            if at >= 512 {
                return Err("flash");
            }
            buf.copy_from_slice(&img[at as usize..at as usize + buf.len()]);
            Ok(())
        };
        assert_eq!(
            verify_image(&mut copy, slot, &keys),
            Err(VerifyError::Read("flash"))
        );
    }

    #[test]
    fn never_panics_on_mangled_images() {
        let key = FixedKey(9);
        let keys: [&dyn ImageKey; 1] = [&key];
        let key_hash = sha256(&[9; 20]);
        let img = finish(
            &hashed(&[3; 40], V, &[(tlv::SEC_CNT, &[1, 0, 0, 0])]),
            &[(tlv::KEYHASH, &key_hash), (0xF0, &[9; 8])],
        );
        let mut state = 0x1234_5678u32;
        for _ in 0..20_000 {
            let mut m = img.clone();
            for _ in 0..3 {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                let i = state as usize % m.len();
                m[i] = (state >> 8) as u8;
            }
            let cut = (state >> 20) as usize % (m.len() + 1);
            let _ = verify_image_bytes(&m[..cut.max(m.len() / 2)], &keys);
            let _ = ImageHeader::parse(&m);
            if let Ok(area) = TlvArea::parse(m.get(m.len() / 2..).unwrap_or_default()) {
                let _ = area.iter().count();
            }
        }
    }
}
