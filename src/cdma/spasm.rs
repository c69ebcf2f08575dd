//! SPASM (C.S0016 §3.3.7): how a server proves it may program a NAM whose NAM lock is set.
//!
//! The handset issues a fresh challenge in each session; the server answers it, and the
//! operator's algorithm decides whether the answer is right. That algorithm (in C.S0016,
//! an Auth_Signature over `RAND_OTAPA` with the subscriber's keys) belongs to the vendor
//! and operator, so it sits behind [`SpasmAuthenticator`]. [`HmacSpasm`] is a reference
//! authenticator, HMAC-SHA256 under a shared key, for tests and for operators without an
//! algorithm of their own.

use core::fmt;

use hmac::{KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::limits::SPASM_CHALLENGE_LEN;
use crate::platform::Rng;

/// The operator's SPASM algorithm: issues challenges and checks answers.
pub trait SpasmAuthenticator {
    /// Writes a fresh, unpredictable challenge into `out`; returns its length (at most
    /// [`SPASM_CHALLENGE_LEN`]). Called once per session, when a server first asks for it.
    fn challenge(&mut self, out: &mut [u8; SPASM_CHALLENGE_LEN]) -> usize;

    /// Whether `answer` (the data of the server's `Exec`) answers `challenge` for
    /// `server`. Compare in constant time.
    fn verify(&mut self, server: &str, challenge: &[u8], answer: &[u8]) -> bool;
}

impl<T: SpasmAuthenticator + ?Sized> SpasmAuthenticator for &mut T {
    fn challenge(&mut self, out: &mut [u8; SPASM_CHALLENGE_LEN]) -> usize {
        (**self).challenge(out)
    }

    fn verify(&mut self, server: &str, challenge: &[u8], answer: &[u8]) -> bool {
        (**self).verify(server, challenge, answer)
    }
}

type HmacSha256 = hmac::Hmac<Sha256>;

/// Bytes of the challenges [`HmacSpasm`] issues.
pub const HMAC_CHALLENGE_LEN: usize = 16;

/// The reference authenticator: the answer is the HMAC-SHA256, under a key the handset
/// and the operator share, of the challenge followed by the server's id, written as 64
/// hexadecimal digits (either case).
pub struct HmacSpasm<G> {
    key: [u8; 32],
    rng: G,
}

impl<G: Rng> HmacSpasm<G> {
    /// An authenticator with the shared `key`, drawing challenges from `rng`.
    pub fn new(key: [u8; 32], rng: G) -> Self {
        HmacSpasm { key, rng }
    }

    /// The answer a server sends (the operator's side of the algorithm).
    pub fn answer(key: &[u8; 32], server: &str, challenge: &[u8]) -> [u8; 64] {
        let mac = mac(key, server, challenge);
        let mut out = [0u8; 64];
        for (pair, byte) in out.chunks_exact_mut(2).zip(mac) {
            let hex = |n: u8| b"0123456789abcdef".get(usize::from(n)).copied();
            if let (Some(h), Some(l)) = (hex(byte >> 4), hex(byte & 0xF)) {
                pair.copy_from_slice(&[h, l]);
            }
        }
        out
    }
}

fn mac(key: &[u8; 32], server: &str, challenge: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    if let Ok(mut m) = <HmacSha256 as KeyInit>::new_from_slice(key) {
        m.update(challenge);
        m.update(server.as_bytes());
        out.copy_from_slice(&m.finalize().into_bytes());
    }
    out
}

fn unhex(text: &[u8]) -> Option<[u8; 32]> {
    let text: &[u8; 64] = text.try_into().ok()?;
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        let [h, l] = pair else { return None };
        *byte = (nibble(*h)? << 4) | nibble(*l)?;
    }
    Some(out)
}

impl<G: Rng> SpasmAuthenticator for HmacSpasm<G> {
    fn challenge(&mut self, out: &mut [u8; SPASM_CHALLENGE_LEN]) -> usize {
        let n = HMAC_CHALLENGE_LEN;
        if let Some(head) = out.get_mut(..n) {
            self.rng.fill_bytes(head);
        }
        n
    }

    fn verify(&mut self, server: &str, challenge: &[u8], answer: &[u8]) -> bool {
        let Some(answer) = unhex(answer) else {
            return false;
        };
        bool::from(mac(&self.key, server, challenge).ct_eq(&answer))
    }
}

impl<G> fmt::Debug for HmacSpasm<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HmacSpasm { key: <hidden> }")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counter(u8);
    impl Rng for Counter {
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            for b in dest {
                self.0 = self.0.wrapping_add(1);
                *b = self.0;
            }
        }
    }

    #[test]
    fn answers_verify_for_their_server_and_challenge_only() {
        let key = [7u8; 32];
        let mut auth = HmacSpasm::new(key, Counter(0));
        let mut ch = [0u8; SPASM_CHALLENGE_LEN];
        let n = auth.challenge(&mut ch);
        assert_eq!(n, HMAC_CHALLENGE_LEN);
        let ch = &ch[..n];
        let answer = HmacSpasm::<Counter>::answer(&key, "srv1", ch);
        assert!(auth.verify("srv1", ch, &answer));
        assert!(auth.verify("srv1", ch, &answer.to_ascii_uppercase()));
        assert!(!auth.verify("srv2", ch, &answer));
        let mut other = ch.to_vec();
        other[0] ^= 1;
        assert!(!auth.verify("srv1", &other, &answer));
        assert!(!auth.verify("srv1", ch, &answer[..63]));
        let mut bad = answer;
        bad[10] = b'g';
        assert!(!auth.verify("srv1", ch, &bad));
        let wrong_key = HmacSpasm::<Counter>::answer(&[8u8; 32], "srv1", ch);
        assert!(!auth.verify("srv1", ch, &wrong_key));
    }

    #[test]
    fn the_reference_answer_is_hmac_sha256_of_challenge_then_server() {
        // RFC 4231 test case 2 splits its message as a challenge and a server id.
        let mut key = [0u8; 32];
        key[..4].copy_from_slice(b"Jefe");
        let answer = HmacSpasm::<Counter>::answer(&key, "ing?", b"what do ya want for noth");
        assert_eq!(
            &answer,
            b"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            std::format!("{:?}", HmacSpasm::new(key, Counter(0))),
            "HmacSpasm { key: <hidden> }"
        );
    }
}
