//! Package 0: the General Notification Initiated Session message a DM server sends (by SMS
//! WAP Push, usually) to make the device open a session (OMA-TS-DM_Notification 1.2 §6.2).
//!
//! This module parses the trigger zero-copy, verifies its digest with the account's server
//! credentials, builds one for the test server, and unwraps it from a WSP Push PDU
//! ([`wsp`]). It never decides whether to start a session or how to ask the user: that is
//! the session engine's job, from the fields this module hands it. Parsing and verification
//! are total: truncated, oversized or inconsistent input gives a [`NotificationError`],
//! never a panic.
//!
//! # Layout (big-endian, packed bits)
//!
//! | field | size | notes |
//! |---|---|---|
//! | digest | 16 octets | MD5, raw; covers every octet after it |
//! | version | 10 bits | version × 10: 11 for DM 1.2 |
//! | ui-mode | 2 bits | [`UiMode`] |
//! | initiator | 1 bit | [`Initiator`] |
//! | future-use | 27 bits | zero |
//! | session id | 16 bits | 1–0xFFFF |
//! | length-identifier | 8 bits | server id length |
//! | server-identifier | length octets | a DMAcc `ServerID` |
//! | vendor-specific | the rest | optional |
//!
//! # Policy
//!
//! * Versions 11 (DM 1.2) and 10 (the "1.0" value of earlier DM notification texts, same
//!   layout) are accepted; any other version is refused rather than misread.
//! * Non-zero future-use bits are refused: in these versions they must be zero, so a set bit
//!   means a format this code does not know. (The digest covers them, so this is about
//!   correctness, not security.)
//! * A session id of 0 (outside 1–0xFFFF) and an empty server identifier are refused.
//! * Messages above [`PACKAGE0_LEN`] are refused before any hashing, bounding the work an
//!   unauthenticated sender can cause.
//!
//! ```
//! use iotadm::notification::{DigestCheck, Initiator, Notification, NotificationRepr, UiMode};
//!
//! let repr = NotificationRepr {
//!     version: 11,
//!     ui_mode: UiMode::Background,
//!     initiator: Initiator::Server,
//!     session_id: 0x1234,
//!     server_id: b"srv1",
//!     vendor_specific: b"",
//! };
//! let mut buf = [0u8; 64];
//! let n = repr.emit(b"secret", &[0, 0, 0, 0], &mut buf)?;
//! let pkg0 = Notification::parse(&buf[..n])?;
//! assert_eq!(pkg0.repr(), &repr);
//! assert_eq!(pkg0.session_id_hex().as_str(), "1234");
//! assert_eq!(pkg0.verify(b"secret", b"stored nonce")?, DigestCheck::NonceResync);
//! # Ok::<(), iotadm::notification::NotificationError>(())
//! ```

use crate::limits::PACKAGE0_LEN;

pub mod wsp;

use crate::auth::{package0_digest, DIGEST_LEN};
use core::fmt;
use subtle::ConstantTimeEq;
use wsp::{PushPdu, WspError, CT_SYNCML_NOTIFICATION};

/// The MIME type of package 0.
pub const CONTENT_TYPE: &str = "application/vnd.syncml.notification";

/// Octets between the digest and the server identifier.
const HEADER_LEN: usize = 8;

/// Smallest valid message: digest, header and a one-octet server identifier.
pub const MIN_LEN: usize = DIGEST_LEN + HEADER_LEN + 1;

/// The version DM 1.2 notifications carry (1.1 × 10).
pub const VERSION_1_2: u16 = 11;

/// The version value of earlier DM notification texts ("1.0").
pub const VERSION_1_0: u16 = 10;

/// The nonce a server uses to resynchronise after losing the stored one.
pub const RESYNC_NONCE: [u8; 4] = crate::auth::Nonce::RESYNC;

/// What can be wrong with a package 0 or its push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum NotificationError {
    /// Fewer octets than the fields announce (`needed` in total).
    Truncated {
        /// Octets the message would need.
        needed: usize,
    },
    /// Longer than [`PACKAGE0_LEN`].
    TooLong,
    /// A version this code does not read (the value found).
    UnsupportedVersion(u16),
    /// Future-use bits are set.
    ReservedBitsSet,
    /// Session id 0.
    InvalidSessionId,
    /// The server identifier is empty.
    EmptyServerId,
    /// The digest matches neither the stored nor the resynchronisation nonce.
    DigestMismatch,
    /// A field to encode is out of range (version above 1023, server id above 255 octets,
    /// or a message above [`PACKAGE0_LEN`]).
    FieldOutOfRange,
    /// The output buffer is too small; `required` bytes would fit.
    BufferTooSmall {
        /// Bytes the output needs.
        required: usize,
    },
    /// The push is not well-formed WSP.
    Wsp(WspError),
    /// The push carries another content type than `application/vnd.syncml.notification`.
    UnexpectedContentType,
    /// The push is addressed to another application than the DM client.
    WrongApplication,
    /// The digest matches only the resynchronisation nonce, which was already honoured
    /// once for the nonce the device holds (a replay): the server must first receive a
    /// new nonce in a session.
    ResyncReplayed,
}

impl From<WspError> for NotificationError {
    fn from(e: WspError) -> Self {
        NotificationError::Wsp(e)
    }
}

impl fmt::Display for NotificationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotificationError::Truncated { needed } => {
                write!(f, "notification truncated: {needed} octets needed")
            }
            NotificationError::TooLong => {
                write!(f, "notification longer than {PACKAGE0_LEN} octets")
            }
            NotificationError::UnsupportedVersion(v) => {
                write!(f, "unsupported notification version {v}")
            }
            NotificationError::ReservedBitsSet => f.write_str("notification future-use bits set"),
            NotificationError::InvalidSessionId => f.write_str("notification session id is 0"),
            NotificationError::EmptyServerId => f.write_str("notification server id is empty"),
            NotificationError::DigestMismatch => f.write_str("notification digest mismatch"),
            NotificationError::FieldOutOfRange => f.write_str("notification field out of range"),
            NotificationError::BufferTooSmall { required } => {
                write!(f, "output buffer too small: {required} bytes needed")
            }
            NotificationError::Wsp(e) => write!(f, "notification push: {e}"),
            NotificationError::UnexpectedContentType => {
                f.write_str("push content type is not a DM notification")
            }
            NotificationError::WrongApplication => {
                f.write_str("push is addressed to another application")
            }
            NotificationError::ResyncReplayed => f.write_str(
                "notification digest uses the resynchronisation nonce, already honoured once",
            ),
        }
    }
}

/// The server's advice on how visible the session should be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum UiMode {
    /// 0: no advice.
    NotSpecified,
    /// 1: run the session in the background.
    Background,
    /// 2: tell the user (a notice or a beep) that a session starts.
    Informative,
    /// 3: ask the user before the session starts.
    UserInteraction,
}

impl UiMode {
    fn from_bits(bits: u16) -> Self {
        match bits & 0b11 {
            0 => UiMode::NotSpecified,
            1 => UiMode::Background,
            2 => UiMode::Informative,
            _ => UiMode::UserInteraction,
        }
    }

    fn bits(self) -> u16 {
        match self {
            UiMode::NotSpecified => 0,
            UiMode::Background => 1,
            UiMode::Informative => 2,
            UiMode::UserInteraction => 3,
        }
    }
}

/// Who caused the session, as the server sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Initiator {
    /// 0: the end user asked for it.
    Client,
    /// 1: the server (operator) has management to do.
    Server,
}

/// The meaningful fields of a package 0 (everything but the digest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct NotificationRepr<'a> {
    /// Notification version × 10 ([`VERSION_1_2`]).
    pub version: u16,
    /// The UI advice.
    pub ui_mode: UiMode,
    /// Who caused the session.
    pub initiator: Initiator,
    /// The session id the client must use (1–0xFFFF).
    pub session_id: u16,
    /// The server identifier; must match a DMAcc `ServerID`.
    pub server_id: &'a [u8],
    /// Optional vendor-specific octets after the server identifier.
    pub vendor_specific: &'a [u8],
}

impl NotificationRepr<'_> {
    /// Encoded length, digest included.
    pub fn buffer_len(&self) -> usize {
        (DIGEST_LEN + HEADER_LEN)
            .saturating_add(self.server_id.len())
            .saturating_add(self.vendor_specific.len())
    }

    /// Writes the message with its digest into `out` and returns its length. The digest
    /// uses `secret` and `nonce`, the server credentials the device holds for this server
    /// (its `SRVCRED` `AAuthSecret` and `AAuthData`).
    ///
    /// Only what cannot be represented is refused (a version above 10 bits, a server id
    /// above 255 octets, a message above [`PACKAGE0_LEN`]); a session id of 0, an empty server id
    /// or another version are written as given, so tests can build messages that
    /// [`Notification::parse`] must refuse.
    pub fn emit(
        &self,
        secret: &[u8],
        nonce: &[u8],
        out: &mut [u8],
    ) -> Result<usize, NotificationError> {
        let id_len =
            u8::try_from(self.server_id.len()).map_err(|_| NotificationError::FieldOutOfRange)?;
        if self.version > 0x3FF || self.buffer_len() > PACKAGE0_LEN {
            return Err(NotificationError::FieldOutOfRange);
        }
        let required = self.buffer_len();
        let msg = out
            .get_mut(..required)
            .ok_or(NotificationError::BufferTooSmall { required })?;
        let (digest, trigger) = msg
            .split_at_mut_checked(DIGEST_LEN)
            .ok_or(NotificationError::BufferTooSmall { required })?;
        let word = (self.version << 6)
            | (self.ui_mode.bits() << 4)
            | (u16::from(self.initiator == Initiator::Server) << 3);
        let [w0, w1] = word.to_be_bytes();
        let [s0, s1] = self.session_id.to_be_bytes();
        let header = [w0, w1, 0, 0, 0, s0, s1, id_len];
        for (dst, src) in trigger.iter_mut().zip(
            header
                .iter()
                .chain(self.server_id)
                .chain(self.vendor_specific),
        ) {
            *dst = *src;
        }
        digest.copy_from_slice(&package0_digest(self.server_id, secret, nonce, trigger));
        Ok(required)
    }
}

/// How a digest verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[must_use]
pub enum DigestCheck {
    /// The digest matches the stored nonce.
    Verified,
    /// The digest matches only the resynchronisation nonce `00 00 00 00`: the server has
    /// lost the nonce. Both AOSP's and libdmclient's clients accept this and then expect
    /// the session's authentication to set a fresh nonce; it is implementation practice,
    /// not a rule of the DM 1.2 text, so the caller decides whether to accept it (it opens
    /// a session on the strength of the password alone, without replay protection).
    NonceResync,
}

/// A parsed package 0, borrowing from its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Notification<'a> {
    digest: [u8; DIGEST_LEN],
    trigger: &'a [u8],
    repr: NotificationRepr<'a>,
}

impl<'a> Notification<'a> {
    /// Parses a raw package 0 (the body of the push).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, NotificationError> {
        if bytes.len() > PACKAGE0_LEN {
            return Err(NotificationError::TooLong);
        }
        let (digest, trigger) = bytes
            .split_first_chunk::<DIGEST_LEN>()
            .ok_or(NotificationError::Truncated { needed: MIN_LEN })?;
        let (header, rest) = trigger
            .split_first_chunk::<HEADER_LEN>()
            .ok_or(NotificationError::Truncated { needed: MIN_LEN })?;
        let [w0, w1, f0, f1, f2, s0, s1, id_len] = *header;
        let word = u16::from_be_bytes([w0, w1]);
        let version = word >> 6;
        if version != VERSION_1_2 && version != VERSION_1_0 {
            return Err(NotificationError::UnsupportedVersion(version));
        }
        if word & 0b111 != 0 || (f0 | f1 | f2) != 0 {
            return Err(NotificationError::ReservedBitsSet);
        }
        let session_id = u16::from_be_bytes([s0, s1]);
        if session_id == 0 {
            return Err(NotificationError::InvalidSessionId);
        }
        if id_len == 0 {
            return Err(NotificationError::EmptyServerId);
        }
        let (server_id, vendor_specific) =
            rest.split_at_checked(usize::from(id_len))
                .ok_or(NotificationError::Truncated {
                    needed: DIGEST_LEN + HEADER_LEN + usize::from(id_len),
                })?;
        Ok(Notification {
            digest: *digest,
            trigger,
            repr: NotificationRepr {
                version,
                ui_mode: UiMode::from_bits(word >> 4),
                initiator: if word & 0b1000 != 0 {
                    Initiator::Server
                } else {
                    Initiator::Client
                },
                session_id,
                server_id,
                vendor_specific,
            },
        })
    }

    /// Unwraps a package 0 from a connectionless WSP Push PDU and parses it.
    ///
    /// The content type must be `application/vnd.syncml.notification` (well-known code
    /// 0x44 or text). An `X-Wap-Application-Id` other than the DM client's (code 0x07 or
    /// `x-wap-application:syncml.dm`) is refused; a push without one is accepted, since the
    /// content type already identifies a DM notification and its digest still has to
    /// verify.
    pub fn from_push(pdu: &'a [u8]) -> Result<Self, NotificationError> {
        Self::parse(unwrap_push(pdu)?)
    }

    /// The fields.
    pub fn repr(&self) -> &NotificationRepr<'a> {
        &self.repr
    }

    /// The digest as received.
    pub fn digest(&self) -> &[u8; DIGEST_LEN] {
        &self.digest
    }

    /// Every octet after the digest: what the digest covers.
    pub fn trigger(&self) -> &'a [u8] {
        self.trigger
    }

    /// The server identifier.
    pub fn server_id(&self) -> &'a [u8] {
        self.repr.server_id
    }

    /// The session id.
    pub fn session_id(&self) -> u16 {
        self.repr.session_id
    }

    /// The session id as the client's `SyncHdr/SessionID`: uppercase hex without leading
    /// zeros.
    pub fn session_id_hex(&self) -> SessionIdHex {
        SessionIdHex::new(self.repr.session_id)
    }

    /// Verifies the digest with the server credentials of the account whose `ServerID` is
    /// [`Notification::server_id`]: `secret` is its `SRVCRED` `AAuthSecret`, `nonce` its
    /// `SRVCRED` `AAuthData`. Falls back to the resynchronisation nonce, reported as
    /// [`DigestCheck::NonceResync`]. Both comparisons run in constant time.
    pub fn verify(&self, secret: &[u8], nonce: &[u8]) -> Result<DigestCheck, NotificationError> {
        let id = self.repr.server_id;
        let stored = package0_digest(id, secret, nonce, self.trigger);
        if bool::from(stored.ct_eq(&self.digest)) {
            return Ok(DigestCheck::Verified);
        }
        let resync = package0_digest(id, secret, &RESYNC_NONCE, self.trigger);
        if bool::from(resync.ct_eq(&self.digest)) {
            return Ok(DigestCheck::NonceResync);
        }
        Err(NotificationError::DigestMismatch)
    }
}

/// Extracts the package 0 octets from a connectionless WSP Push PDU; see
/// [`Notification::from_push`] for the checks.
pub fn unwrap_push(pdu: &[u8]) -> Result<&[u8], NotificationError> {
    let push = PushPdu::parse(pdu)?;
    if !push
        .content_type
        .media
        .is(CT_SYNCML_NOTIFICATION, CONTENT_TYPE.as_bytes())
    {
        return Err(NotificationError::UnexpectedContentType);
    }
    if let Some(app) = push.application_id()? {
        if !app.is_syncml_dm() {
            return Err(NotificationError::WrongApplication);
        }
    }
    Ok(push.body)
}

/// A session id written as 1–4 uppercase hex digits without leading zeros.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SessionIdHex {
    digits: [u8; 4],
    len: u8,
}

impl SessionIdHex {
    /// Formats `id`.
    pub fn new(id: u16) -> Self {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let mut digits = [0u8; 4];
        let len = 4 - (id.leading_zeros() / 4).min(3) as usize;
        for (k, d) in digits.iter_mut().take(len).enumerate() {
            let shift = 4 * (len - 1 - k);
            *d = HEX
                .get(usize::from((id >> shift) & 0xF))
                .copied()
                .unwrap_or(b'0');
        }
        SessionIdHex {
            digits,
            len: len as u8,
        }
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        let digits = self.digits.get(..usize::from(self.len)).unwrap_or(&[]);
        core::str::from_utf8(digits).unwrap_or("")
    }
}

impl fmt::Display for SessionIdHex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for SessionIdHex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionIdHex({})", self.as_str())
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for SessionIdHex {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{=str}", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of the facts sheet: version 11, background, server initiated,
    /// session 0x1234, server `srv1`.
    const TRIGGER: [u8; 12] = [
        0x02, 0xD8, 0x00, 0x00, 0x00, 0x12, 0x34, 0x04, b's', b'r', b'v', b'1',
    ];

    fn message(digest: [u8; 16], trigger: &[u8]) -> std::vec::Vec<u8> {
        let mut m = digest.to_vec();
        m.extend_from_slice(trigger);
        m
    }

    #[test]
    fn fields_of_the_worked_example() {
        let m = message([0; 16], &TRIGGER);
        let n = Notification::parse(&m).unwrap();
        let r = n.repr();
        assert_eq!(r.version, 11);
        assert_eq!(r.ui_mode, UiMode::Background);
        assert_eq!(r.initiator, Initiator::Server);
        assert_eq!(r.session_id, 0x1234);
        assert_eq!(r.server_id, b"srv1");
        assert_eq!(r.vendor_specific, b"");
        assert_eq!(n.trigger(), &TRIGGER);
    }

    #[test]
    fn every_ui_mode_and_initiator_decodes() {
        for (bits, mode) in [
            (0, UiMode::NotSpecified),
            (1, UiMode::Background),
            (2, UiMode::Informative),
            (3, UiMode::UserInteraction),
        ] {
            for init in [Initiator::Client, Initiator::Server] {
                let mut t = TRIGGER;
                let word = (11u16 << 6) | (bits << 4) | (u16::from(init == Initiator::Server) << 3);
                t[..2].copy_from_slice(&word.to_be_bytes());
                let m = message([0; 16], &t);
                let n = Notification::parse(&m).unwrap();
                assert_eq!((n.repr().ui_mode, n.repr().initiator), (mode, init));
            }
        }
    }

    #[test]
    fn refusals() {
        let with = |f: &dyn Fn(&mut std::vec::Vec<u8>)| {
            let mut m = message([0; 16], &TRIGGER);
            f(&mut m);
            Notification::parse(&m).map(|_| ())
        };
        assert_eq!(
            with(&|m| m[16] = 0x03),
            Err(NotificationError::UnsupportedVersion(15))
        );
        assert_eq!(
            with(&|m| m[17] |= 0x01),
            Err(NotificationError::ReservedBitsSet)
        );
        assert_eq!(
            with(&|m| m[20] = 0x80),
            Err(NotificationError::ReservedBitsSet)
        );
        assert_eq!(
            with(&|m| m[21..23].copy_from_slice(&[0, 0])),
            Err(NotificationError::InvalidSessionId)
        );
        assert_eq!(with(&|m| m[23] = 0), Err(NotificationError::EmptyServerId));
        assert_eq!(
            with(&|m| m[23] = 5),
            Err(NotificationError::Truncated { needed: 29 })
        );
        assert_eq!(
            with(&|m| m.truncate(23)),
            Err(NotificationError::Truncated { needed: 25 })
        );
        assert_eq!(
            with(&|m| m.truncate(10)),
            Err(NotificationError::Truncated { needed: 25 })
        );
        assert_eq!(
            with(&|m| m.resize(PACKAGE0_LEN + 1, 0)),
            Err(NotificationError::TooLong)
        );
        // Version 10 reads like 11; the vendor part is the rest.
        assert_eq!(
            with(&|m| {
                m[16] = 0x02;
                m[17] = 0x98;
                m.push(9)
            }),
            Ok(())
        );
    }

    #[test]
    fn session_id_hex_has_no_leading_zeros() {
        for (id, text) in [
            (1, "1"),
            (0xF, "F"),
            (0x10, "10"),
            (0x2DF, "2DF"),
            (0x1234, "1234"),
            (0xFFFF, "FFFF"),
            (0, "0"),
        ] {
            assert_eq!(SessionIdHex::new(id).as_str(), text);
        }
    }

    #[test]
    fn emit_refuses_out_of_range_fields() {
        let long_id = [b'a'; 256];
        let mut repr = NotificationRepr {
            version: 11,
            ui_mode: UiMode::NotSpecified,
            initiator: Initiator::Client,
            session_id: 1,
            server_id: &long_id,
            vendor_specific: &[],
        };
        let mut out = [0u8; 400];
        assert_eq!(
            repr.emit(b"", b"", &mut out),
            Err(NotificationError::FieldOutOfRange)
        );
        repr.server_id = b"s";
        repr.version = 1024;
        assert_eq!(
            repr.emit(b"", b"", &mut out),
            Err(NotificationError::FieldOutOfRange)
        );
        repr.version = 11;
        assert_eq!(
            repr.emit(b"", b"", &mut out[..24]),
            Err(NotificationError::BufferTooSmall { required: 25 })
        );
        assert_eq!(repr.emit(b"", b"", &mut out), Ok(25));
    }
}
