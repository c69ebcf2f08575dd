//! DM security building blocks: authentication schemes, credentials, nonces, the MD5
//! digest and the `syncml:auth-MAC` integrity MAC, the `x-syncml-hmac` transport header and
//! the package 0 digest (OMA-TS-DM_Security 1.2 §5, OMA-TS-DM_Protocol 1.2 §2.4).
//!
//! Every function here is pure: it takes slices, writes into the caller's buffer or returns
//! a fixed-size value, allocates nothing and never panics. Nothing here knows about messages,
//! sessions, the management tree or persistence: the session engine decides *which*
//! credentials and nonce apply and *what* status to answer; this module computes and checks.
//!
//! Comparisons of anything derived from a secret (digests, MACs, decoded basic credentials)
//! run in constant time through [`subtle`]; only lengths, which are not secret, may end a
//! comparison early.
//!
//! # Formulas
//!
//! With `H` = MD5 (16 raw bytes), `B64` = standard Base64 with padding and `:` the byte 0x3A:
//!
//! | scheme | value |
//! |---|---|
//! | `syncml:auth-basic` | `B64(name ":" secret)` |
//! | `syncml:auth-md5` | `B64(H(B64(H(name ":" secret)) ":" nonce))` |
//! | `syncml:auth-MAC` | `B64(H(B64(H(name ":" secret)) ":" nonce ":" B64(H(body))))` |
//! | package 0 digest | `H(B64(H(server-id ":" secret)) ":" nonce ":" B64(H(trigger)))`, raw |
//!
//! Despite its name, `syncml:auth-MAC` is this MD5 construction, not RFC 2104 HMAC.
//!
//! # Features
//!
//! Each scheme can be left out of a build: `auth-basic`, `auth-md5` and `auth-hmac`. A
//! scheme left out keeps its name (so a peer's `Cred` or `Chal` naming it is still
//! understood) but nothing computes or checks it: [`build_cred`] and [`verify_cred`] answer
//! [`AuthError::SchemeLeftOut`], which a peer hears as 401, and
//! [`AuthScheme::is_built`] tells which are there. The package 0 digest is always built,
//! and so MD5 is: server-initiated sessions need it whatever the schemes.
//!
//! ```
//! use iotadm::auth::{md5_digest_b64, Credentials, Nonce};
//!
//! let creds = Credentials::new(b"user", b"pass");
//! let nonce = Nonce::from_b64_or_raw(b"MDEyMzQ1Njc4OWFiY2RlZg==")?;
//! assert_eq!(nonce.as_bytes(), b"0123456789abcdef");
//! assert_eq!(md5_digest_b64(&creds, nonce.as_bytes()).as_str(), "C8oBTAdiVef8Qq8UaFTbhQ==");
//! # Ok::<(), iotadm::auth::AuthError>(())
//! ```

mod b64;
mod cred;
mod digest;
#[cfg(feature = "auth-hmac")]
mod header;
mod nonce;
mod scheme;
mod secret;

pub use cred::{build_cred, verify_cred, Challenge, Cred};
#[cfg(feature = "auth-basic")]
pub use digest::{basic_credential, basic_credential_string};
#[cfg(feature = "auth-hmac")]
pub use digest::{mac_b64, mac_digest, MacHasher};
#[cfg(feature = "auth-md5")]
pub use digest::{md5_digest, md5_digest_b64};
pub use digest::{package0_digest, Base64Digest, DIGEST_B64_LEN, DIGEST_LEN};
#[cfg(feature = "auth-hmac")]
pub use header::{HmacHeader, HMAC_HEADER_NAME};
pub use nonce::{Nonce, NONCE_B64_CAPACITY, NONCE_GENERATED_LEN};
pub use scheme::{AAuthType, AuthScheme};
pub use secret::{Credentials, Secret};

use crate::codes::StatusCode;
use core::fmt;

/// Everything that can go wrong in this module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum AuthError {
    /// The output buffer is too small; `required` bytes would fit.
    BufferTooSmall {
        /// Bytes the output needs.
        required: usize,
    },
    /// An input is so long that its encoded length does not fit in `usize`.
    TooLong,
    /// A Meta `Type` or `AAuthType` names a scheme this crate does not implement.
    UnsupportedScheme,
    /// The scheme is one this build leaves out (its `auth-*` feature is off): nothing here
    /// can compute or check its credentials.
    SchemeLeftOut(AuthScheme),
    /// A Cred or Chal carries a Meta `Format` other than `b64`.
    UnsupportedFormat,
    /// The received credentials use another scheme than the one expected.
    SchemeMismatch {
        /// The scheme the account requires.
        expected: AuthScheme,
        /// The scheme the peer used.
        received: AuthScheme,
    },
    /// The expected scheme is not checked through a `Cred` element (`None` or HMAC).
    NotACredScheme,
    /// Credentials were required but none were sent.
    MissingCredentials,
    /// The credentials, digest or MAC do not match.
    BadCredentials,
    /// A Base64 value does not decode, or decodes to the wrong length.
    InvalidBase64,
    /// A nonce is longer than [`NONCE_LEN`](crate::limits::NONCE_LEN) bytes.
    NonceTooLong,
    /// The `x-syncml-hmac` header value does not follow its grammar.
    MalformedHeader,
    /// The `x-syncml-hmac` header lacks its `username` or `mac` parameter.
    MissingHeaderParameter,
    /// The `x-syncml-hmac` header names a parameter twice.
    DuplicateHeaderParameter,
    /// The `x-syncml-hmac` header asks for an algorithm other than MD5.
    UnsupportedAlgorithm,
    /// The `x-syncml-hmac` header names another user than the expected one.
    UsernameMismatch,
}

impl AuthError {
    /// The SyncHdr status a DM peer answers when this error comes from checking received
    /// credentials: 407 when they are missing, 401 when they are wrong or unusable, 500 for
    /// local faults (a too small buffer).
    pub fn status(&self) -> StatusCode {
        match self {
            AuthError::MissingCredentials | AuthError::MissingHeaderParameter => {
                StatusCode::MissingCredentials
            }
            AuthError::BufferTooSmall { .. } | AuthError::TooLong => StatusCode::CommandFailed,
            _ => StatusCode::InvalidCredentials,
        }
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::BufferTooSmall { required } => {
                write!(f, "output buffer too small: {required} bytes needed")
            }
            AuthError::TooLong => f.write_str("input too long to encode"),
            AuthError::UnsupportedScheme => f.write_str("unsupported authentication scheme"),
            AuthError::SchemeLeftOut(s) => {
                write!(f, "authentication scheme {s} is left out of this build")
            }
            AuthError::UnsupportedFormat => f.write_str("unsupported credential format"),
            AuthError::SchemeMismatch { expected, received } => write!(
                f,
                "authentication scheme mismatch: expected {expected}, received {received}"
            ),
            AuthError::NotACredScheme => {
                f.write_str("the expected scheme is not checked through Cred")
            }
            AuthError::MissingCredentials => f.write_str("credentials missing"),
            AuthError::BadCredentials => f.write_str("invalid credentials"),
            AuthError::InvalidBase64 => f.write_str("invalid Base64 value"),
            AuthError::NonceTooLong => f.write_str("nonce too long"),
            AuthError::MalformedHeader => f.write_str("malformed x-syncml-hmac header"),
            AuthError::MissingHeaderParameter => {
                f.write_str("x-syncml-hmac header lacks username or mac")
            }
            AuthError::DuplicateHeaderParameter => {
                f.write_str("x-syncml-hmac header repeats a parameter")
            }
            AuthError::UnsupportedAlgorithm => f.write_str("x-syncml-hmac algorithm is not MD5"),
            AuthError::UsernameMismatch => f.write_str("x-syncml-hmac username mismatch"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;

    #[test]
    fn errors_map_to_the_header_status_a_peer_expects() {
        use AuthError::*;
        for (e, code) in [
            (MissingCredentials, StatusCode::MissingCredentials),
            (MissingHeaderParameter, StatusCode::MissingCredentials),
            (BufferTooSmall { required: 9 }, StatusCode::CommandFailed),
            (TooLong, StatusCode::CommandFailed),
            (BadCredentials, StatusCode::InvalidCredentials),
            (InvalidBase64, StatusCode::InvalidCredentials),
            (UnsupportedAlgorithm, StatusCode::InvalidCredentials),
            (
                SchemeLeftOut(AuthScheme::Basic),
                StatusCode::InvalidCredentials,
            ),
        ] {
            assert_eq!(e.status(), code, "{e:?}");
        }
    }

    #[test]
    fn errors_and_schemes_read_as_text() {
        let mismatch = AuthError::SchemeMismatch {
            expected: AuthScheme::Hmac,
            received: AuthScheme::Basic,
        };
        assert_eq!(
            format!("{mismatch}"),
            "authentication scheme mismatch: expected syncml:auth-MAC, received syncml:auth-basic"
        );
        assert_eq!(format!("{}", AuthScheme::None), "none");
        assert_eq!(format!("{}", AAuthType::Digest), "DIGEST");
    }
}
