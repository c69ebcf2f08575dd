//! Nonces: the `NextNonce` a peer hands out for the next digest or MAC, kept per account
//! and direction in the DMAcc `AAuthData` node.

use super::{b64, AuthError};
use crate::limits::NONCE_LEN;
use crate::platform::Rng;
use heapless::{String, Vec};

/// Length of the nonces [`Nonce::generate`] makes: 128 bits, as DM Security recommends.
pub const NONCE_GENERATED_LEN: usize = 16;

/// Base64 characters for a nonce of [`NONCE_LEN`] bytes (the size of [`Nonce::to_b64`]).
pub const NONCE_B64_CAPACITY: usize = NONCE_LEN.div_ceil(3) * 4;

/// A nonce in its decoded (hashed) form, up to [`NONCE_LEN`] bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Nonce(Vec<u8, NONCE_LEN>);

impl Nonce {
    /// The four zero bytes a server uses after a lost nonce to resynchronise a package 0
    /// digest (implementation practice, see [`crate::notification`]).
    pub const RESYNC: [u8; 4] = [0; 4];

    /// A nonce holding `bytes` as they are.
    pub fn new(bytes: &[u8]) -> Result<Self, AuthError> {
        Vec::from_slice(bytes)
            .map(Nonce)
            .map_err(|_| AuthError::NonceTooLong)
    }

    /// The nonce carried by a `NextNonce` element of Format `b64`: the decoded bytes when
    /// `text` is valid (padded) Base64, otherwise the raw text itself.
    ///
    /// The fallback is what deployed clients do: some servers put a plain string in
    /// `NextNonce` despite declaring `b64` (the DM 1.2 protocol example uses the literal
    /// nonce `Nonce`), and refusing it would leave both sides unable to authenticate.
    pub fn from_b64_or_raw(text: &[u8]) -> Result<Self, AuthError> {
        let mut buf = [0u8; NONCE_LEN];
        match b64::decode_strict(text, &mut buf) {
            Some(Ok(n)) => Self::new(buf.get(..n).unwrap_or(&[])),
            Some(Err(e)) => Err(e),
            None => Self::new(text),
        }
    }

    /// A fresh nonce of [`NONCE_GENERATED_LEN`] random bytes.
    pub fn generate(rng: &mut impl Rng) -> Self {
        let mut bytes = [0u8; NONCE_GENERATED_LEN];
        rng.fill_bytes(&mut bytes);
        let mut v = Vec::new();
        // Cannot fail: NONCE_GENERATED_LEN <= NONCE_LEN, checked at compile time below.
        let _ = v.extend_from_slice(&bytes);
        Nonce(v)
    }

    /// The resynchronisation nonce, four zero bytes.
    pub fn resync() -> Self {
        let mut v = Vec::new();
        let _ = v.extend_from_slice(&Self::RESYNC);
        Nonce(v)
    }

    /// The nonce bytes, as hashed.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the nonce is empty (no nonce known yet).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The Base64 text for a `NextNonce` element of Format `b64`.
    pub fn to_b64(&self) -> String<NONCE_B64_CAPACITY> {
        let mut buf = [0u8; NONCE_B64_CAPACITY];
        let n = b64::encode_concat(&[&self.0], &mut buf).unwrap_or(0);
        let text = buf.get(..n).unwrap_or(&[]);
        // Base64 output is ASCII and at most NONCE_B64_CAPACITY long, so neither step fails.
        core::str::from_utf8(text)
            .ok()
            .and_then(|s| String::try_from(s).ok())
            .unwrap_or_default()
    }
}

impl AsRef<[u8]> for Nonce {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

const _: () = assert!(NONCE_GENERATED_LEN <= NONCE_LEN);
const _: () = assert!(NONCE_B64_CAPACITY == NONCE_LEN.div_ceil(3) * 4);

#[cfg(test)]
mod tests {
    use super::*;

    struct Counter(u8);
    impl Rng for Counter {
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            for b in dest {
                *b = self.0;
                self.0 = self.0.wrapping_add(1);
            }
        }
    }

    #[test]
    fn b64_nonce_is_decoded() {
        let n = Nonce::from_b64_or_raw(b"LG3iZQhhdmKNHg==").unwrap();
        assert_eq!(n.len(), 10);
        assert!(!n.is_empty());
        assert!(Nonce::from_b64_or_raw(b"").unwrap().is_empty());
        assert_eq!(n.to_b64().as_str(), "LG3iZQhhdmKNHg==");
    }

    #[test]
    fn invalid_b64_falls_back_to_raw_text() {
        assert_eq!(
            Nonce::from_b64_or_raw(b"Nonce").unwrap().as_bytes(),
            b"Nonce"
        );
        // Unpadded Base64 is not canonical `b64`: kept as text, as deployed clients do.
        assert_eq!(Nonce::from_b64_or_raw(b"QUI").unwrap().as_bytes(), b"QUI");
    }

    #[test]
    fn too_long_nonces_are_refused() {
        let long = [b'A'; 92];
        assert_eq!(Nonce::from_b64_or_raw(&long), Err(AuthError::NonceTooLong));
        let raw = [b'*'; NONCE_LEN + 1];
        assert_eq!(Nonce::from_b64_or_raw(&raw), Err(AuthError::NonceTooLong));
        assert!(Nonce::new(&[0; NONCE_LEN]).is_ok());
    }

    #[test]
    fn generated_nonce_takes_sixteen_rng_bytes() {
        let mut rng = Counter(7);
        let a = Nonce::generate(&mut rng);
        let b = Nonce::generate(&mut rng);
        assert_eq!(a.len(), NONCE_GENERATED_LEN);
        assert_eq!(a.as_bytes()[0], 7);
        assert_eq!(b.as_bytes()[0], 7 + 16);
        assert_ne!(a, b);
    }

    #[test]
    fn resync_nonce_is_four_zero_bytes() {
        assert_eq!(Nonce::resync().as_bytes(), &[0, 0, 0, 0]);
        assert_eq!(Nonce::resync().to_b64().as_str(), "AAAAAA==");
    }
}
