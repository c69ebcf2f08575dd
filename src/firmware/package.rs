//! The update package: a fixed little-endian header followed by the payload (the firmware
//! image, or in format 2 a delta patch that turns the running image into the new one). The
//! header is parsed in place from a byte slice; the layout is documented in
//! `docs/update-package.md`.

use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};

#[cfg(feature = "mcuboot")]
use super::mcuboot::ImageKey;
use super::Failure;

/// First four bytes of every package.
pub const MAGIC: [u8; 4] = *b"IOTF";
/// The header format of a package whose payload is the whole image.
pub const FORMAT_VERSION: u16 = 1;
/// The header format of a delta package: the payload is a patch from the running image
/// (named by its length and hash) to the new one (likewise named).
pub const DELTA_FORMAT_VERSION: u16 = 2;
/// Bytes of a format 1 header before the authenticator; these are the bytes it
/// authenticates.
pub const SIGNED_LEN: usize = 140;
/// Bytes of a format 2 (delta) header before the authenticator: format 1's fields and the
/// delta fields after them.
pub const DELTA_SIGNED_LEN: usize = 216;
/// Longest authenticator accepted (room for an RSA-2048 signature).
pub const MAX_AUTH_LEN: usize = 256;
/// Longest header accepted: a format 2 header's where delta packages are built in,
/// format 1's otherwise (the installer keeps a header of this size in RAM twice).
pub const MAX_HEADER_LEN: usize = if cfg!(feature = "delta") {
    DELTA_SIGNED_LEN
} else {
    SIGNED_LEN
} + MAX_AUTH_LEN;

// The header sits before the image in a slot, so the longest one must fit there.
const _: () = assert!(MAX_HEADER_LEN <= super::IMAGE_OFFSET as usize);
/// Bytes needed to learn the header length.
pub const PREFIX_LEN: usize = 8;
/// Size of the device model field (UTF-8, NUL padded).
pub const MODEL_LEN: usize = 32;
/// Size of the hardware id field (UTF-8, NUL padded).
pub const HARDWARE_ID_LEN: usize = 32;
/// Size of the human-readable version field (UTF-8, NUL padded), reported as FUMO
/// `PkgVersion`.
pub const VERSION_NAME_LEN: usize = 16;

/// Field offsets within the header.
mod field {
    use core::ops::Range;
    pub(super) const MAGIC: Range<usize> = 0..4;
    pub(super) const FORMAT: Range<usize> = 4..6;
    pub(super) const HEADER_LEN: Range<usize> = 6..8;
    pub(super) const MODEL: Range<usize> = 8..40;
    pub(super) const HARDWARE_ID: Range<usize> = 40..72;
    pub(super) const FROM_MIN: Range<usize> = 72..76;
    pub(super) const FROM_MAX: Range<usize> = 76..80;
    pub(super) const TO_CODE: Range<usize> = 80..84;
    pub(super) const TO_NAME: Range<usize> = 84..100;
    pub(super) const PAYLOAD_LEN: Range<usize> = 100..104;
    pub(super) const PAYLOAD_SHA256: Range<usize> = 104..136;
    pub(super) const AUTH_KIND: Range<usize> = 136..138;
    pub(super) const AUTH_LEN: Range<usize> = 138..140;
    // Format 2 only.
    pub(super) const PAYLOAD_KIND: Range<usize> = 140..142;
    pub(super) const RESERVED: Range<usize> = 142..144;
    pub(super) const TARGET_LEN: Range<usize> = 144..148;
    pub(super) const TARGET_SHA256: Range<usize> = 148..180;
    pub(super) const BASE_LEN: Range<usize> = 180..184;
    pub(super) const BASE_SHA256: Range<usize> = 184..216;
}

/// The payload kind of a format 2 package whose payload is a detools sequential patch.
pub const PAYLOAD_DETOOLS_SEQUENTIAL: u16 = 1;

enum_with_unknown! {
    /// How the header is authenticated.
    pub enum AuthKind(u16) {
        /// HMAC-SHA256 under a key shared by the vendor and the device (model): 32 bytes.
        HmacSha256 = 1,
        /// An Ed25519 signature: 64 bytes.
        Ed25519 = 2,
        /// An ECDSA P-256 signature over SHA-256, as `r || s`: 64 bytes.
        EcdsaP256Sha256 = 3,
    }
}

/// Why a package was refused. [`failure`](Self::failure) gives what the installer records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum PackageError {
    /// The package does not start with [`MAGIC`].
    BadMagic,
    /// The header is of a format version this crate does not read.
    UnsupportedFormat(u16),
    /// The header length field disagrees with the authenticator length or is out of range.
    BadHeaderLength,
    /// The package ended before the length its header declares.
    Truncated,
    /// More bytes arrived than the header declares.
    TooLong,
    /// The payload does not hash to the value in the header.
    HashMismatch,
    /// The package is for another device model.
    WrongModel,
    /// The package is for another hardware revision.
    WrongHardware,
    /// The running version is outside the package's from-version range.
    WrongFromVersion,
    /// The authenticator does not verify (or its kind is not supported).
    BadAuthenticator,
    /// The package would not move the device to a newer version.
    Downgrade,
    /// The payload does not fit in the update slot.
    TooLarge,
    /// A delta package for another base image than the one running.
    WrongBase,
    /// A delta package's patch is damaged: it does not apply, or does not give the
    /// image the header names.
    BadPatch,
    /// A delta package's patch needs what this device does not have: another payload
    /// kind, patch type or compression, or more working memory.
    PatchNotSupported,
}

impl PackageError {
    /// The failure the installer records for this refusal.
    pub fn failure(self) -> Failure {
        match self {
            Self::BadMagic
            | Self::BadHeaderLength
            | Self::Truncated
            | Self::TooLong
            | Self::HashMismatch
            | Self::BadPatch => Failure::Corrupted,
            Self::WrongModel | Self::WrongHardware | Self::WrongFromVersion | Self::WrongBase => {
                Failure::Mismatch
            }
            Self::BadAuthenticator => Failure::Unauthentic,
            Self::UnsupportedFormat(_) | Self::Downgrade | Self::PatchNotSupported => {
                Failure::NotAcceptable
            }
            Self::TooLarge => Failure::TooLarge,
        }
    }
}

impl core::fmt::Display for PackageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::BadMagic => f.write_str("not an update package (bad magic)"),
            Self::UnsupportedFormat(v) => write!(f, "unsupported package format {v}"),
            Self::BadHeaderLength => f.write_str("inconsistent package header length"),
            Self::Truncated => f.write_str("package truncated"),
            Self::TooLong => f.write_str("package longer than declared"),
            Self::HashMismatch => f.write_str("payload hash mismatch"),
            Self::WrongModel => f.write_str("package is for another device model"),
            Self::WrongHardware => f.write_str("package is for another hardware id"),
            Self::WrongFromVersion => f.write_str("running version outside the package's range"),
            Self::BadAuthenticator => f.write_str("package authenticator does not verify"),
            Self::Downgrade => f.write_str("package is not newer than the running version"),
            Self::TooLarge => f.write_str("payload larger than the update slot"),
            Self::WrongBase => f.write_str("delta package is for another base image"),
            Self::BadPatch => f.write_str("delta patch does not give the announced image"),
            Self::PatchNotSupported => f.write_str("delta patch of a kind this device lacks"),
        }
    }
}

impl core::error::Error for PackageError {}

/// Checks the authenticator of a package header and, with the feature `mcuboot`, offers the
/// keys an MCUboot image may be signed with. Object safe, so a vendor can pass
/// `&dyn PackageVerifier` for an asymmetric scheme.
pub trait PackageVerifier {
    /// True when `authenticator`, of kind `kind`, is valid for `signed` (the header bytes
    /// before the authenticator, which include the payload hash). Return false for kinds
    /// the verifier does not handle.
    fn verify(&self, kind: AuthKind, signed: &[u8], authenticator: &[u8]) -> bool;

    /// Hands each public key an MCUboot image may be signed with to `keys`. The installer
    /// checks an image's signature with the first
    /// [`MAX_IMAGE_KEYS`](super::mcuboot::MAX_IMAGE_KEYS) of them. None by default, so a
    /// verifier without public keys (HMAC) has every MCUboot image refused as unauthentic
    /// (FUMO 404); the built-in public-key verifiers offer their key.
    #[cfg(feature = "mcuboot")]
    fn image_keys<'s>(&'s self, keys: &mut dyn FnMut(&'s dyn ImageKey)) {
        let _ = keys;
    }
}

impl<T: PackageVerifier + ?Sized> PackageVerifier for &T {
    fn verify(&self, kind: AuthKind, signed: &[u8], authenticator: &[u8]) -> bool {
        (**self).verify(kind, signed, authenticator)
    }

    #[cfg(feature = "mcuboot")]
    fn image_keys<'s>(&'s self, keys: &mut dyn FnMut(&'s dyn ImageKey)) {
        (**self).image_keys(keys);
    }
}

type HmacSha256 = hmac::Hmac<Sha256>;

/// The default verifier: HMAC-SHA256 under a per-device (or per-model) key, compared in
/// constant time.
#[derive(Clone)]
pub struct HmacSha256Verifier {
    key: heapless::Vec<u8, 64>,
}

impl HmacSha256Verifier {
    /// A verifier for `key` (1 to 64 bytes); `None` for an empty or longer key.
    pub fn new(key: &[u8]) -> Option<Self> {
        if key.is_empty() {
            return None;
        }
        heapless::Vec::from_slice(key).ok().map(|key| Self { key })
    }
}

impl core::fmt::Debug for HmacSha256Verifier {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("HmacSha256Verifier { key: <hidden> }")
    }
}

impl PackageVerifier for HmacSha256Verifier {
    fn verify(&self, kind: AuthKind, signed: &[u8], authenticator: &[u8]) -> bool {
        if kind != AuthKind::HmacSha256 {
            return false;
        }
        let Ok(mut mac) = <HmacSha256 as KeyInit>::new_from_slice(&self.key) else {
            return false;
        };
        mac.update(signed);
        mac.verify_slice(authenticator).is_ok()
    }
}

/// Computes the HMAC-SHA256 authenticator of `signed` under `key`.
pub fn hmac_sha256(key: &[u8], signed: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    if let Ok(mut mac) = <HmacSha256 as KeyInit>::new_from_slice(key) {
        mac.update(signed);
        out.copy_from_slice(&mac.finalize().into_bytes());
    }
    out
}

/// What the device is and runs, which a package must match.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DeviceIdentity {
    model: heapless::String<MODEL_LEN>,
    hardware_id: heapless::String<HARDWARE_ID_LEN>,
    version: u32,
}

impl DeviceIdentity {
    /// The identity of a device of `model` and `hardware_id` running version code
    /// `version`; `None` when a name is longer than its header field.
    pub fn new(model: &str, hardware_id: &str, version: u32) -> Option<Self> {
        Some(Self {
            model: heapless::String::try_from(model).ok()?,
            hardware_id: heapless::String::try_from(hardware_id).ok()?,
            version,
        })
    }

    /// The device model.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The hardware id.
    pub fn hardware_id(&self) -> &str {
        &self.hardware_id
    }

    /// The version code of the running firmware.
    pub fn version(&self) -> u32 {
        self.version
    }
}

/// A parsed package header borrowing the bytes it was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PackageHeader<'a> {
    bytes: &'a [u8],
}

fn le16(b: &[u8], r: core::ops::Range<usize>) -> u16 {
    let mut a = [0u8; 2];
    if let Some(s) = b.get(r) {
        a.copy_from_slice(s);
    }
    u16::from_le_bytes(a)
}

fn le32(b: &[u8], r: core::ops::Range<usize>) -> u32 {
    let mut a = [0u8; 4];
    if let Some(s) = b.get(r) {
        a.copy_from_slice(s);
    }
    u32::from_le_bytes(a)
}

/// A NUL-padded text field without its padding.
fn text(b: &[u8]) -> &[u8] {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    b.get(..end).unwrap_or_default()
}

impl<'a> PackageHeader<'a> {
    /// The total header length announced by the first [`PREFIX_LEN`] bytes of a package,
    /// or `Ok(None)` while fewer bytes are available. Checks the magic, the format and the
    /// range of the length, so a stream can be refused before its header is complete.
    pub fn header_len(prefix: &[u8]) -> Result<Option<usize>, PackageError> {
        let Some(magic) = prefix.get(field::MAGIC) else {
            return if MAGIC.starts_with(prefix) {
                Ok(None)
            } else {
                Err(PackageError::BadMagic)
            };
        };
        if magic != MAGIC {
            return Err(PackageError::BadMagic);
        }
        if prefix.len() < PREFIX_LEN {
            return Ok(None);
        }
        let signed_len = signed_len(le16(prefix, field::FORMAT))?;
        let len = usize::from(le16(prefix, field::HEADER_LEN));
        if !(signed_len..=signed_len + MAX_AUTH_LEN).contains(&len) {
            return Err(PackageError::BadHeaderLength);
        }
        Ok(Some(len))
    }

    /// Parses the header at the start of `bytes` (which may continue with the payload).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, PackageError> {
        let len = match Self::header_len(bytes)? {
            Some(len) => len,
            None => return Err(PackageError::Truncated),
        };
        let bytes = bytes.get(..len).ok_or(PackageError::Truncated)?;
        let auth_len = usize::from(le16(bytes, field::AUTH_LEN));
        let signed_len = signed_len(le16(bytes, field::FORMAT))?;
        if signed_len + auth_len != len {
            return Err(PackageError::BadHeaderLength);
        }
        Ok(Self { bytes })
    }

    /// The header bytes, authenticator included.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Total header length: where the payload starts in the package.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Never true: a parsed header holds at least its fixed fields.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Target device model.
    pub fn model(&self) -> &'a [u8] {
        text(self.bytes.get(field::MODEL).unwrap_or_default())
    }

    /// Target hardware id; empty means any hardware of the model.
    pub fn hardware_id(&self) -> &'a [u8] {
        text(self.bytes.get(field::HARDWARE_ID).unwrap_or_default())
    }

    /// Lowest running version code the package applies to.
    pub fn from_min(&self) -> u32 {
        le32(self.bytes, field::FROM_MIN)
    }

    /// Highest running version code the package applies to.
    pub fn from_max(&self) -> u32 {
        le32(self.bytes, field::FROM_MAX)
    }

    /// Version code the device runs after the update.
    pub fn to_code(&self) -> u32 {
        le32(self.bytes, field::TO_CODE)
    }

    /// Human-readable version after the update (FUMO `PkgVersion`), NUL padding removed.
    pub fn to_name(&self) -> &'a [u8] {
        text(self.bytes.get(field::TO_NAME).unwrap_or_default())
    }

    /// Payload length in bytes: the image, or a delta package's patch.
    pub fn payload_len(&self) -> u32 {
        le32(self.bytes, field::PAYLOAD_LEN)
    }

    /// SHA-256 of the payload.
    pub fn payload_sha256(&self) -> [u8; 32] {
        sha(self.bytes, field::PAYLOAD_SHA256)
    }

    /// The payload's length and hash: the image, or a delta package's patch.
    pub fn payload(&self) -> ImageDigest {
        ImageDigest {
            len: self.payload_len(),
            sha256: self.payload_sha256(),
        }
    }

    /// What a delta package turns which image into; `None` for a whole-image package.
    pub fn delta(&self) -> Option<Delta> {
        (self.format() == DELTA_FORMAT_VERSION).then(|| Delta {
            kind: le16(self.bytes, field::PAYLOAD_KIND),
            base: ImageDigest {
                len: le32(self.bytes, field::BASE_LEN),
                sha256: sha(self.bytes, field::BASE_SHA256),
            },
            target: ImageDigest {
                len: le32(self.bytes, field::TARGET_LEN),
                sha256: sha(self.bytes, field::TARGET_SHA256),
            },
        })
    }

    /// The image the package installs, as it lies in the slot once installed: the
    /// payload itself, or a delta package's target.
    pub fn image(&self) -> ImageDigest {
        match self.delta() {
            Some(d) => d.target,
            None => self.payload(),
        }
    }

    fn format(&self) -> u16 {
        le16(self.bytes, field::FORMAT)
    }

    fn signed_len(&self) -> usize {
        // `parse` took the format, so this is its signed length.
        signed_len(self.format()).unwrap_or(SIGNED_LEN)
    }

    /// How the header is authenticated.
    pub fn auth_kind(&self) -> AuthKind {
        AuthKind::from(le16(self.bytes, field::AUTH_KIND))
    }

    /// The bytes the authenticator covers.
    pub fn signed_bytes(&self) -> &'a [u8] {
        self.bytes.get(..self.signed_len()).unwrap_or_default()
    }

    /// The authenticator.
    pub fn authenticator(&self) -> &'a [u8] {
        self.bytes.get(self.signed_len()..).unwrap_or_default()
    }

    /// Total package length (header plus payload), if it fits a `u32`.
    pub fn package_len(&self) -> Option<u32> {
        u32::try_from(self.len())
            .ok()?
            .checked_add(self.payload_len())
    }

    /// Runs every check the header alone allows, in the order that gives the most useful
    /// result code: device match (403), authenticator (404), version and size
    /// acceptability (405, 501). `max_payload` is the room the update slot has.
    pub fn validate(
        &self,
        device: &DeviceIdentity,
        verifier: &dyn PackageVerifier,
        max_payload: u32,
    ) -> Result<(), PackageError> {
        if self.model() != device.model().as_bytes() {
            return Err(PackageError::WrongModel);
        }
        let hw = self.hardware_id();
        if !hw.is_empty() && hw != device.hardware_id().as_bytes() {
            return Err(PackageError::WrongHardware);
        }
        if !(self.from_min()..=self.from_max()).contains(&device.version()) {
            return Err(PackageError::WrongFromVersion);
        }
        if !verifier.verify(self.auth_kind(), self.signed_bytes(), self.authenticator()) {
            return Err(PackageError::BadAuthenticator);
        }
        if self.to_code() <= device.version() {
            return Err(PackageError::Downgrade);
        }
        if self.payload_len() > max_payload || self.image().len > max_payload {
            return Err(PackageError::TooLarge);
        }
        if let Some(d) = self.delta() {
            if d.kind != PAYLOAD_DETOOLS_SEQUENTIAL {
                return Err(PackageError::PatchNotSupported);
            }
        }
        Ok(())
    }
}

/// The bytes before the authenticator in a header of `format`.
fn signed_len(format: u16) -> Result<usize, PackageError> {
    match format {
        FORMAT_VERSION => Ok(SIGNED_LEN),
        DELTA_FORMAT_VERSION if cfg!(feature = "delta") => Ok(DELTA_SIGNED_LEN),
        other => Err(PackageError::UnsupportedFormat(other)),
    }
}

fn sha(b: &[u8], r: core::ops::Range<usize>) -> [u8; 32] {
    let mut h = [0u8; 32];
    if let Some(s) = b.get(r) {
        h.copy_from_slice(s);
    }
    h
}

/// An image named by its length and SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ImageDigest {
    /// Length in bytes.
    pub len: u32,
    /// SHA-256 of those bytes.
    pub sha256: [u8; 32],
}

impl ImageDigest {
    /// The length and hash of `image`.
    pub fn of(image: &[u8]) -> Option<Self> {
        Some(Self {
            len: u32::try_from(image.len()).ok()?,
            sha256: payload_digest(image),
        })
    }
}

/// The delta fields of a format 2 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Delta {
    /// How the payload encodes the change: [`PAYLOAD_DETOOLS_SEQUENTIAL`] is the one
    /// known kind.
    pub kind: u16,
    /// The image the patch applies to: the one the device must be running.
    pub base: ImageDigest,
    /// The image the patch gives.
    pub target: ImageDigest,
}

/// Hashes `payload` the way the header's `payload_sha256` does.
pub fn payload_digest(payload: &[u8]) -> [u8; 32] {
    let mut h = [0u8; 32];
    h.copy_from_slice(&Sha256::digest(payload));
    h
}

/// Why a package could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum BuildError {
    /// A text field is longer than its place in the header (or holds a NUL).
    FieldTooLong(&'static str),
    /// The payload is longer than a `u32` can count.
    PayloadTooLarge,
    /// The key is unusable, or the authenticator is longer than [`MAX_AUTH_LEN`] or not
    /// the announced length.
    BadAuthenticator,
}

impl core::fmt::Display for BuildError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::FieldTooLong(name) => write!(f, "{name} is too long for the header"),
            Self::PayloadTooLarge => f.write_str("payload larger than 4 GiB"),
            Self::BadAuthenticator => f.write_str("unusable key or authenticator length"),
        }
    }
}

impl core::error::Error for BuildError {}

/// Writes update packages: used on the host (`iotadm package`, tests, benches) and
/// usable on a device, since the header is built without allocating.
#[derive(Debug, Clone, Copy)]
pub struct PackageBuilder<'a> {
    model: &'a str,
    hardware_id: &'a str,
    from_min: u32,
    from_max: u32,
    to_code: u32,
    to_name: &'a str,
    delta: Option<(ImageDigest, ImageDigest)>,
}

fn put(out: &mut [u8], range: core::ops::Range<usize>, value: &[u8]) {
    if let Some(dst) = out.get_mut(range) {
        for (d, s) in dst.iter_mut().zip(value.iter()) {
            *d = *s;
        }
    }
}

fn put_text(
    out: &mut [u8],
    range: core::ops::Range<usize>,
    value: &str,
    name: &'static str,
) -> Result<(), BuildError> {
    if value.len() > range.len() || value.as_bytes().contains(&0) {
        return Err(BuildError::FieldTooLong(name));
    }
    put(out, range, value.as_bytes());
    Ok(())
}

impl<'a> PackageBuilder<'a> {
    /// A package for `model` and `hardware_id` (empty: any hardware of the model),
    /// applying to any running version, to version code 1.
    pub fn new(model: &'a str, hardware_id: &'a str) -> Self {
        Self {
            model,
            hardware_id,
            from_min: 0,
            from_max: u32::MAX,
            to_code: 1,
            to_name: "",
            delta: None,
        }
    }

    /// Applies only to running version codes `min..=max`.
    #[must_use]
    pub fn from_versions(mut self, min: u32, max: u32) -> Self {
        self.from_min = min;
        self.from_max = max;
        self
    }

    /// Updates to version code `code`, shown as `name` (FUMO `PkgVersion`).
    #[must_use]
    pub fn to_version(mut self, code: u32, name: &'a str) -> Self {
        self.to_code = code;
        self.to_name = name;
        self
    }

    /// Makes a delta package (format 2): the payload is a detools sequential patch that
    /// turns `base`, the image the device runs, into `target`.
    #[must_use]
    pub fn delta(mut self, base: ImageDigest, target: ImageDigest) -> Self {
        self.delta = Some((base, target));
        self
    }

    /// The signed part of the header for a payload of `payload_len` bytes hashing to
    /// `payload_sha256`, announcing an authenticator of `auth_len` bytes of kind `kind`.
    pub fn signed_part(
        &self,
        payload_len: u32,
        payload_sha256: &[u8; 32],
        kind: AuthKind,
        auth_len: usize,
    ) -> Result<heapless::Vec<u8, DELTA_SIGNED_LEN>, BuildError> {
        if auth_len > MAX_AUTH_LEN {
            return Err(BuildError::BadAuthenticator);
        }
        let (format, signed_len) = match self.delta {
            Some(_) => (DELTA_FORMAT_VERSION, DELTA_SIGNED_LEN),
            None => (FORMAT_VERSION, SIGNED_LEN),
        };
        let header_len = (signed_len + auth_len) as u16;
        let mut h = heapless::Vec::new();
        h.resize(signed_len, 0)
            .map_err(|_| BuildError::BadAuthenticator)?;
        put(&mut h, field::MAGIC, &MAGIC);
        put(&mut h, field::FORMAT, &format.to_le_bytes());
        put(&mut h, field::HEADER_LEN, &header_len.to_le_bytes());
        put_text(&mut h, field::MODEL, self.model, "model")?;
        put_text(&mut h, field::HARDWARE_ID, self.hardware_id, "hardware id")?;
        put(&mut h, field::FROM_MIN, &self.from_min.to_le_bytes());
        put(&mut h, field::FROM_MAX, &self.from_max.to_le_bytes());
        put(&mut h, field::TO_CODE, &self.to_code.to_le_bytes());
        put_text(&mut h, field::TO_NAME, self.to_name, "version name")?;
        put(&mut h, field::PAYLOAD_LEN, &payload_len.to_le_bytes());
        put(&mut h, field::PAYLOAD_SHA256, payload_sha256);
        put(&mut h, field::AUTH_KIND, &u16::from(kind).to_le_bytes());
        put(&mut h, field::AUTH_LEN, &(auth_len as u16).to_le_bytes());
        if let Some((base, target)) = self.delta {
            put(
                &mut h,
                field::PAYLOAD_KIND,
                &PAYLOAD_DETOOLS_SEQUENTIAL.to_le_bytes(),
            );
            put(&mut h, field::RESERVED, &[0, 0]);
            put(&mut h, field::TARGET_LEN, &target.len.to_le_bytes());
            put(&mut h, field::TARGET_SHA256, &target.sha256);
            put(&mut h, field::BASE_LEN, &base.len.to_le_bytes());
            put(&mut h, field::BASE_SHA256, &base.sha256);
        }
        Ok(h)
    }

    /// The header for `payload`, authenticated with HMAC-SHA256 under `key` (1 to 64
    /// bytes). The package is this header followed by the payload.
    pub fn header_hmac(
        &self,
        payload: &[u8],
        key: &[u8],
    ) -> Result<heapless::Vec<u8, MAX_HEADER_LEN>, BuildError> {
        if key.is_empty() || key.len() > 64 {
            return Err(BuildError::BadAuthenticator);
        }
        let len = u32::try_from(payload.len()).map_err(|_| BuildError::PayloadTooLarge)?;
        let signed = self.signed_part(len, &payload_digest(payload), AuthKind::HmacSha256, 32)?;
        let mut out = heapless::Vec::new();
        out.extend_from_slice(&signed)
            .and_then(|()| out.extend_from_slice(&hmac_sha256(key, &signed)))
            .map_err(|_| BuildError::BadAuthenticator)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"model-key-0123456789";

    fn device() -> DeviceIdentity {
        DeviceIdentity::new("PhoneX", "rev-b", 100).unwrap()
    }

    fn package(b: PackageBuilder) -> std::vec::Vec<u8> {
        let mut p = b.header_hmac(b"payload bytes", KEY).unwrap().to_vec();
        p.extend_from_slice(b"payload bytes");
        p
    }

    fn good() -> PackageBuilder<'static> {
        PackageBuilder::new("PhoneX", "rev-b")
            .from_versions(90, 100)
            .to_version(101, "1.0.1")
    }

    #[test]
    fn round_trip_and_accessors() {
        let p = package(good());
        let h = PackageHeader::parse(&p).unwrap();
        assert_eq!(h.len(), SIGNED_LEN + 32);
        assert_eq!(h.model(), b"PhoneX");
        assert_eq!(h.hardware_id(), b"rev-b");
        assert_eq!((h.from_min(), h.from_max(), h.to_code()), (90, 100, 101));
        assert_eq!(h.to_name(), b"1.0.1");
        assert_eq!(h.payload_len(), 13);
        assert_eq!(h.payload_sha256(), payload_digest(b"payload bytes"));
        assert_eq!(h.auth_kind(), AuthKind::HmacSha256);
        assert_eq!(h.package_len(), Some(p.len() as u32));
        let v = HmacSha256Verifier::new(KEY).unwrap();
        assert_eq!(h.validate(&device(), &v, 1000), Ok(()));
    }

    #[test]
    fn each_check_gives_its_code() {
        let v = HmacSha256Verifier::new(KEY).unwrap();
        let cases: [(PackageBuilder, PackageError, u16); 5] = [
            (good().to_version(101, "x"), PackageError::TooLarge, 501),
            (
                PackageBuilder::new("PhoneY", "rev-b")
                    .from_versions(90, 100)
                    .to_version(101, ""),
                PackageError::WrongModel,
                403,
            ),
            (
                good().from_versions(0, 99),
                PackageError::WrongFromVersion,
                403,
            ),
            (good().to_version(100, "same"), PackageError::Downgrade, 405),
            (
                PackageBuilder::new("PhoneX", "rev-c")
                    .from_versions(90, 100)
                    .to_version(101, ""),
                PackageError::WrongHardware,
                403,
            ),
        ];
        for (i, (b, err, code)) in cases.into_iter().enumerate() {
            let p = package(b);
            let h = PackageHeader::parse(&p).unwrap();
            let max = if i == 0 { 12 } else { 1000 };
            assert_eq!(h.validate(&device(), &v, max), Err(err));
            assert_eq!(err.failure().code(), code);
        }
        // An empty hardware id matches any hardware of the model.
        let p = package(PackageBuilder::new("PhoneX", "").to_version(101, ""));
        assert_eq!(
            PackageHeader::parse(&p)
                .unwrap()
                .validate(&device(), &v, 1000),
            Ok(())
        );
    }

    #[test]
    fn authenticator_covers_every_signed_byte() {
        let v = HmacSha256Verifier::new(KEY).unwrap();
        let p = package(good());
        for i in 0..SIGNED_LEN + 32 {
            let mut q = p.clone();
            q[i] ^= 0x01;
            let r = PackageHeader::parse(&q).and_then(|h| h.validate(&device(), &v, 1000));
            assert!(r.is_err(), "flip at {i} accepted");
        }
        let other = HmacSha256Verifier::new(b"another key").unwrap();
        let h = PackageHeader::parse(&p).unwrap();
        assert_eq!(
            h.validate(&device(), &other, 1000),
            Err(PackageError::BadAuthenticator)
        );
        assert_eq!(
            PackageError::BadAuthenticator.failure(),
            Failure::Unauthentic
        );
    }

    #[test]
    fn structural_errors_are_corruption() {
        assert_eq!(PackageHeader::header_len(b"IO"), Ok(None));
        assert_eq!(
            PackageHeader::header_len(b"IOXF"),
            Err(PackageError::BadMagic)
        );
        assert_eq!(PackageHeader::header_len(b"X"), Err(PackageError::BadMagic));
        assert_eq!(PackageHeader::header_len(b"IOTF\x01\x00"), Ok(None));
        assert_eq!(
            PackageHeader::header_len(b"IOTF\x03\x00\xac\x00"),
            Err(PackageError::UnsupportedFormat(3))
        );
        // Format 2 (delta) is read only where delta updates are built in.
        assert_eq!(
            PackageHeader::header_len(b"IOTF\x02\x00\xd8\x00"),
            if cfg!(feature = "delta") {
                Ok(Some(216))
            } else {
                Err(PackageError::UnsupportedFormat(2))
            }
        );
        assert_eq!(
            PackageHeader::header_len(b"IOTF\x01\x00\x10\x00"),
            Err(PackageError::BadHeaderLength)
        );
        assert_eq!(
            PackageHeader::header_len(b"IOTF\x01\x00\xac\x00"),
            Ok(Some(172))
        );
        assert_eq!(
            PackageHeader::parse(b"IOTF\x01\x00\xac\x00"),
            Err(PackageError::Truncated)
        );
        let mut h = [0u8; 172];
        h[..8].copy_from_slice(b"IOTF\x01\x00\xac\x00");
        h[138] = 31; // auth length disagrees with the header length
        assert_eq!(PackageHeader::parse(&h), Err(PackageError::BadHeaderLength));
        h[138] = 32;
        assert!(PackageHeader::parse(&h).is_ok());
        for e in [
            PackageError::BadMagic,
            PackageError::Truncated,
            PackageError::TooLong,
            PackageError::HashMismatch,
            PackageError::BadHeaderLength,
        ] {
            assert_eq!(e.failure(), Failure::Corrupted);
        }
        assert_eq!(
            PackageError::UnsupportedFormat(2).failure(),
            Failure::NotAcceptable
        );
    }

    #[test]
    fn verifier_rejects_other_kinds_and_bad_keys() {
        assert!(HmacSha256Verifier::new(&[]).is_none());
        assert!(HmacSha256Verifier::new(&[0; 65]).is_none());
        let v = HmacSha256Verifier::new(KEY).unwrap();
        let tag = hmac_sha256(KEY, b"signed");
        assert!(v.verify(AuthKind::HmacSha256, b"signed", &tag));
        assert!(!v.verify(AuthKind::Ed25519, b"signed", &tag));
        assert!(!v.verify(AuthKind::HmacSha256, b"signed", &tag[..31]));
        assert!(!std::format!("{v:?}").contains("model-key"));
    }
}
