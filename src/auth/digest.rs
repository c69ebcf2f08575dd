//! The credential computations: basic, the MD5 digest, the `syncml:auth-MAC` integrity MAC
//! (whole-message and streaming) and the package 0 digest. Outputs are fixed-size values
//! or text written into the caller's buffer. Each scheme's part is built with its feature;
//! the MAC construction itself always is, as the package 0 digest is made the same way.

#[cfg(any(feature = "auth-md5", feature = "auth-hmac"))]
use super::b64;
#[cfg(any(feature = "auth-basic", feature = "auth-md5", feature = "auth-hmac"))]
use super::AuthError;
use super::Credentials;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use core::fmt;
use md5::{Digest as _, Md5};
#[cfg(any(feature = "auth-md5", feature = "auth-hmac"))]
use subtle::ConstantTimeEq;

/// Length of an MD5 digest in bytes.
pub const DIGEST_LEN: usize = 16;

/// Length of the Base64 text of an MD5 digest.
pub const DIGEST_B64_LEN: usize = 24;

/// The Base64 text of a 16-byte digest: a `Cred/Data` value or an `x-syncml-hmac` `mac`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Base64Digest([u8; DIGEST_B64_LEN]);

impl Base64Digest {
    /// Encodes `digest`.
    pub fn encode(digest: &[u8; DIGEST_LEN]) -> Self {
        let mut text = [0u8; DIGEST_B64_LEN];
        // 16 bytes always encode to exactly 24 characters.
        let _ = STANDARD.encode_slice(digest, &mut text);
        Base64Digest(text)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.0).unwrap_or("")
    }

    /// The text as bytes.
    pub fn as_bytes(&self) -> &[u8; DIGEST_B64_LEN] {
        &self.0
    }
}

impl fmt::Display for Base64Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Base64Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Base64Digest({})", self.as_str())
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Base64Digest {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "Base64Digest({=[u8]:a})", &self.0[..])
    }
}

fn md5_of(parts: &[&[u8]]) -> [u8; DIGEST_LEN] {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// `B64(H(name ":" secret))`, the part of every digest that depends on the password.
fn inner(creds: &Credentials<'_>) -> Base64Digest {
    Base64Digest::encode(&md5_of(&[creds.name, b":", creds.secret.expose()]))
}

/// Writes the `syncml:auth-basic` credential `B64(name ":" secret)` into `out` and returns
/// it; `out` needs `4 * ceil((name + 1 + secret) / 3)` bytes.
#[cfg(feature = "auth-basic")]
pub fn basic_credential<'b>(
    creds: &Credentials<'_>,
    out: &'b mut [u8],
) -> Result<&'b str, AuthError> {
    let n = super::b64::encode_concat(&[creds.name, b":", creds.secret.expose()], out)?;
    let text = out.get(..n).unwrap_or(&[]);
    core::str::from_utf8(text).map_err(|_| AuthError::InvalidBase64)
}

/// [`basic_credential`] into a `heapless::String` of capacity `N`.
#[cfg(feature = "auth-basic")]
pub fn basic_credential_string<const N: usize>(
    creds: &Credentials<'_>,
) -> Result<heapless::String<N>, AuthError> {
    let mut buf = [0u8; N];
    let text = basic_credential(creds, &mut buf)?;
    heapless::String::try_from(text).map_err(|_| AuthError::BufferTooSmall { required: N })
}

/// The `syncml:auth-md5` digest `H(B64(H(name ":" secret)) ":" nonce)`, raw.
#[cfg(feature = "auth-md5")]
pub fn md5_digest(creds: &Credentials<'_>, nonce: &[u8]) -> [u8; DIGEST_LEN] {
    md5_of(&[inner(creds).as_bytes(), b":", nonce])
}

/// The `Cred/Data` text of `syncml:auth-md5`: the Base64 of [`md5_digest`].
#[cfg(feature = "auth-md5")]
pub fn md5_digest_b64(creds: &Credentials<'_>, nonce: &[u8]) -> Base64Digest {
    Base64Digest::encode(&md5_digest(creds, nonce))
}

/// Computes the `syncml:auth-MAC` value of a message fed in pieces, so a message that is
/// being received or sent in chunks never has to be held twice.
///
/// ```
/// use iotadm::auth::{mac_b64, Credentials, MacHasher};
///
/// let creds = Credentials::new(b"srv", b"secret");
/// let mut h = MacHasher::new();
/// h.update(b"<SyncML>");
/// h.update(b"...</SyncML>");
/// assert_eq!(h.finalize_b64(&creds, b"nonce"), mac_b64(&creds, b"nonce", b"<SyncML>...</SyncML>"));
/// ```
#[cfg(feature = "auth-hmac")]
#[derive(Clone, Default)]
pub struct MacHasher {
    body: Md5,
}

#[cfg(feature = "auth-hmac")]
impl MacHasher {
    /// A hasher that has seen no body bytes yet.
    pub fn new() -> Self {
        MacHasher { body: Md5::new() }
    }

    /// Feeds the next bytes of the message body, exactly as sent on the wire.
    pub fn update(&mut self, chunk: &[u8]) {
        self.body.update(chunk);
    }

    /// The raw MAC `H(B64(H(name ":" secret)) ":" nonce ":" B64(H(body)))`.
    #[must_use]
    pub fn finalize(self, creds: &Credentials<'_>, nonce: &[u8]) -> [u8; DIGEST_LEN] {
        mac_of_body_digest(creds, nonce, &self.body.finalize().into())
    }

    /// The MAC as sent in the `x-syncml-hmac` header.
    #[must_use]
    pub fn finalize_b64(self, creds: &Credentials<'_>, nonce: &[u8]) -> Base64Digest {
        Base64Digest::encode(&self.finalize(creds, nonce))
    }

    /// Checks a received Base64 MAC against the body fed so far, in constant time.
    pub fn verify(
        self,
        creds: &Credentials<'_>,
        nonce: &[u8],
        mac_b64: &[u8],
    ) -> Result<(), AuthError> {
        let received = decode_digest(mac_b64)?;
        ct_check(&self.finalize(creds, nonce), &received)
    }
}

#[cfg(feature = "auth-hmac")]
impl fmt::Debug for MacHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MacHasher")
    }
}

/// `H(B64(H(name ":" secret)) ":" nonce ":" B64(body_digest))`: the MAC once the body is
/// hashed, shared by `syncml:auth-MAC` and the package 0 digest.
fn mac_of_body_digest(
    creds: &Credentials<'_>,
    nonce: &[u8],
    body_digest: &[u8; DIGEST_LEN],
) -> [u8; DIGEST_LEN] {
    md5_of(&[
        inner(creds).as_bytes(),
        b":",
        nonce,
        b":",
        Base64Digest::encode(body_digest).as_bytes(),
    ])
}

/// The raw `syncml:auth-MAC` of a whole message `body`.
#[cfg(feature = "auth-hmac")]
pub fn mac_digest(creds: &Credentials<'_>, nonce: &[u8], body: &[u8]) -> [u8; DIGEST_LEN] {
    mac_of_body_digest(creds, nonce, &md5_of(&[body]))
}

/// The `syncml:auth-MAC` of a whole message `body`, as Base64 for the header.
#[cfg(feature = "auth-hmac")]
pub fn mac_b64(creds: &Credentials<'_>, nonce: &[u8], body: &[u8]) -> Base64Digest {
    Base64Digest::encode(&mac_digest(creds, nonce, body))
}

/// The package 0 digest `H(B64(H(server_id ":" secret)) ":" nonce ":" B64(H(trigger)))`,
/// raw as it travels in the notification. `trigger` is every byte after the digest;
/// `server_id` and `secret` are the account's `ServerID` and its `SRVCRED` `AAuthSecret`,
/// `nonce` the `SRVCRED` `AAuthData`.
pub fn package0_digest(
    server_id: &[u8],
    secret: &[u8],
    nonce: &[u8],
    trigger: &[u8],
) -> [u8; DIGEST_LEN] {
    let creds = Credentials::new(server_id, secret);
    mac_of_body_digest(&creds, nonce, &md5_of(&[trigger]))
}

/// Decodes the Base64 text of a 16-byte digest (whitespace and missing padding tolerated).
#[cfg(any(feature = "auth-md5", feature = "auth-hmac"))]
pub(crate) fn decode_digest(text: &[u8]) -> Result<[u8; DIGEST_LEN], AuthError> {
    let mut scratch = [0u8; DIGEST_B64_LEN];
    // A longer value does not fit `out` and fails to decode; a shorter one is caught here.
    let mut out = [0u8; DIGEST_LEN];
    match b64::decode_lenient(text, &mut scratch, &mut out)? {
        DIGEST_LEN => Ok(out),
        _ => Err(AuthError::InvalidBase64),
    }
}

/// Constant-time equality of two digests, as a result.
#[cfg(any(feature = "auth-md5", feature = "auth-hmac"))]
pub(crate) fn ct_check(
    expected: &[u8; DIGEST_LEN],
    received: &[u8; DIGEST_LEN],
) -> Result<(), AuthError> {
    if bool::from(expected.ct_eq(received)) {
        Ok(())
    } else {
        Err(AuthError::BadCredentials)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(any(feature = "auth-md5", feature = "auth-hmac"))]
    fn a_digest_is_sixteen_bytes_exactly() {
        let sixteen = Base64Digest::encode(&[9; 16]);
        assert_eq!(decode_digest(sixteen.as_bytes()), Ok([9; 16]));
        // Wrapped, indented and unpadded forms are the same digest.
        assert_eq!(decode_digest(b" CQkJCQkJ\n CQkJCQkJCQkJCQ"), Ok([9; 16]));
        // 15 and 17 bytes.
        assert_eq!(
            decode_digest(b"CQkJCQkJCQkJCQkJCQkJ"),
            Err(AuthError::InvalidBase64)
        );
        assert_eq!(
            decode_digest(b"CQkJCQkJCQkJCQkJCQkJCQk="),
            Err(AuthError::InvalidBase64)
        );
    }

    #[test]
    fn inner_hash_matches_known_value() {
        assert_eq!(
            inner(&Credentials::new(b"user", b"pass")).as_str(),
            "IaOShYhKJo1kWOP96wi+rA=="
        );
    }

    #[test]
    #[cfg(feature = "auth-basic")]
    fn basic_reports_the_exact_size_needed() {
        let creds = Credentials::new(b"user", b"pass");
        let mut small = [0u8; 11];
        assert_eq!(
            basic_credential(&creds, &mut small),
            Err(AuthError::BufferTooSmall { required: 12 })
        );
        let mut exact = [0u8; 12];
        assert_eq!(basic_credential(&creds, &mut exact), Ok("dXNlcjpwYXNz"));
        assert_eq!(
            basic_credential_string::<8>(&creds),
            Err(AuthError::BufferTooSmall { required: 12 })
        );
    }

    #[test]
    #[cfg(any(feature = "auth-md5", feature = "auth-hmac"))]
    fn digest_decoding_requires_sixteen_bytes() {
        assert!(decode_digest(b"C8oBTAdiVef8Qq8UaFTbhQ==").is_ok());
        assert!(decode_digest(b"C8oBTAdiVef8Qq8UaFTbhQ").is_ok());
        assert_eq!(
            decode_digest(b"C8oBTAdiVef8Qq8U"),
            Err(AuthError::InvalidBase64)
        );
        assert_eq!(
            decode_digest(b"C8oBTAdiVef8Qq8UaFTbhQAA"),
            Err(AuthError::InvalidBase64)
        );
        assert_eq!(
            decode_digest(b"C8oBTAdiVef8Qq8UaFTbhQ==AAAA"),
            Err(AuthError::InvalidBase64)
        );
    }

    #[test]
    fn the_package0_digest_matches_the_worked_example() {
        // omadm-facts §5: server id `srv1`, password `secret`, the resync nonce, and the
        // worked trigger; built whatever the authentication schemes.
        let trigger = [0x02, 0xD8, 0, 0, 0, 0x12, 0x34, 4, b's', b'r', b'v', b'1'];
        let digest = package0_digest(b"srv1", b"secret", &[0; 4], &trigger);
        let expected = [
            0xa0, 0x18, 0x43, 0xa6, 0xca, 0x92, 0x40, 0x82, 0x7b, 0x3e, 0xa4, 0xcb, 0x3c, 0x64,
            0x96, 0x51,
        ];
        assert_eq!(digest, expected);
    }

    #[test]
    #[cfg(feature = "auth-hmac")]
    fn streaming_and_one_shot_mac_agree_and_detect_changes() {
        let creds = Credentials::new(b"srv", b"pw");
        let body = b"<SyncML><SyncHdr/><SyncBody><Final/></SyncBody></SyncML>";
        let mut h = MacHasher::new();
        for chunk in body.chunks(5) {
            h.update(chunk);
        }
        let mac = mac_b64(&creds, b"n1", body);
        assert!(h.clone().verify(&creds, b"n1", mac.as_bytes()).is_ok());
        assert_eq!(
            h.clone().verify(&creds, b"n2", mac.as_bytes()),
            Err(AuthError::BadCredentials)
        );
        h.update(b" ");
        assert_eq!(
            h.verify(&creds, b"n1", mac.as_bytes()),
            Err(AuthError::BadCredentials)
        );
    }
}
