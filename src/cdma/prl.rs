//! Preferred roaming lists (C.S0016 §3.5.5): the checks a list passes before it is kept.
//!
//! A list carries its own size and CRC: `PR_LIST_SIZE` (its first 16 bits) is the whole
//! list's length in octets, and `PR_LIST_CRC` (its last 16 bits) is a CRC-16 over every
//! bit before it. The CRC is the one C.S0016 §3.5.5.1 describes as a shift register
//! preset to ones, clocked with each bit MSB first through `x^16 + x^12 + x^5 + 1`, and
//! read out inverted: the catalogued CRC-16/GENIBUS. An extended list (SSPR_P_REV 3) also
//! names its format in `CUR_SSPR_P_REV`, its fifth octet.
//!
//! [`PrlCheck`] checks a list as it streams in, a chunk at a time, holding only its first
//! and last few bytes; nothing here stores the list.

use core::fmt;

use crate::codes::StatusCode;

/// The PRL CRC: CRC-16/GENIBUS (polynomial 0x1021, preset 0xFFFF, not reflected, output
/// inverted).
pub static PRL_CRC: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_GENIBUS);

/// The largest list `PR_LIST_SIZE` (16 bits) can describe.
pub const MAX_PRL_LEN: usize = 65_535;

/// The `CUR_SSPR_P_REV` of the extended list format.
pub const EXTENDED_SSPR_P_REV: u8 = 3;

/// Which roaming list a node holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum PrlKind {
    /// The preferred roaming list (SSPR_P_REV 1).
    Prl,
    /// The extended preferred roaming list (CUR_SSPR_P_REV 3).
    Extended,
}

impl PrlKind {
    /// The fewest octets a list of this kind has: its fixed header fields and the CRC.
    /// The PRL header is 64 bits; the extended header 81 bits, padded to 88.
    pub const fn min_len(self) -> usize {
        match self {
            PrlKind::Prl => 8 + 2,
            PrlKind::Extended => 11 + 2,
        }
    }
}

/// What a checked list says of itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PrlHeader {
    /// `PR_LIST_SIZE`: the list's length in octets.
    pub size: u16,
    /// `PR_LIST_ID`: the operator's identifier of this list.
    pub id: u16,
    /// `PR_LIST_CRC`.
    pub crc: u16,
}

/// Why a roaming list was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum PrlError {
    /// Shorter than the fixed fields of its kind.
    TooShort,
    /// Longer than `PR_LIST_SIZE` can say.
    TooLong,
    /// `PR_LIST_SIZE` is not the number of octets received.
    SizeMismatch {
        /// `PR_LIST_SIZE`.
        declared: u16,
        /// Octets received.
        received: u32,
    },
    /// `PR_LIST_CRC` does not match the list.
    Crc {
        /// The CRC the list carries.
        stored: u16,
        /// The CRC of what was received.
        computed: u16,
    },
    /// An extended list whose `CUR_SSPR_P_REV` is not 3.
    Revision(u8),
}

impl PrlError {
    /// The DM status for a refused list: 413 when it is too long to be any list, else 400.
    pub fn status(self) -> StatusCode {
        match self {
            PrlError::TooLong => StatusCode::RequestEntityTooLarge,
            _ => StatusCode::BadRequest,
        }
    }
}

impl fmt::Display for PrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrlError::TooShort => f.write_str("roaming list shorter than its header"),
            PrlError::TooLong => f.write_str("roaming list longer than 65535 octets"),
            PrlError::SizeMismatch { declared, received } => write!(
                f,
                "PR_LIST_SIZE says {declared} octets, {received} received"
            ),
            PrlError::Crc { stored, computed } => write!(
                f,
                "PR_LIST_CRC {stored:#06x} does not match the list ({computed:#06x})"
            ),
            PrlError::Revision(rev) => {
                write!(f, "extended list with CUR_SSPR_P_REV {rev}, not 3")
            }
        }
    }
}

impl core::error::Error for PrlError {}

/// The CRC-16 of `body` (a list without its last two octets).
pub fn crc(body: &[u8]) -> u16 {
    PRL_CRC.checksum(body)
}

/// Checks a whole list.
pub fn check(kind: PrlKind, list: &[u8]) -> Result<PrlHeader, PrlError> {
    let mut c = PrlCheck::new(kind);
    c.update(list)?;
    c.finish()
}

/// Octets of the header kept while a list streams in: up to `CUR_SSPR_P_REV`.
const HEAD: usize = 5;

/// A roaming list checked as it arrives, in chunks of any size.
#[derive(Clone)]
pub struct PrlCheck {
    kind: PrlKind,
    digest: crc::Digest<'static, u16>,
    received: u32,
    head: [u8; HEAD],
    /// The last two octets so far: the CRC, if nothing follows.
    tail: [u8; 2],
}

impl fmt::Debug for PrlCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrlCheck")
            .field("kind", &self.kind)
            .field("received", &self.received)
            .finish_non_exhaustive()
    }
}

impl PrlCheck {
    /// Starts checking a list of `kind`.
    pub fn new(kind: PrlKind) -> Self {
        PrlCheck {
            kind,
            digest: PRL_CRC.digest(),
            received: 0,
            head: [0; HEAD],
            tail: [0; 2],
        }
    }

    /// Octets received so far.
    pub fn received(&self) -> u32 {
        self.received
    }

    /// Takes the next chunk.
    pub fn update(&mut self, chunk: &[u8]) -> Result<(), PrlError> {
        let total = u32::try_from(chunk.len())
            .ok()
            .and_then(|n| self.received.checked_add(n))
            .filter(|&n| n as usize <= MAX_PRL_LEN)
            .ok_or(PrlError::TooLong)?;
        for (i, &b) in chunk.iter().enumerate() {
            let at = self.received as usize + i;
            match self.head.get_mut(at) {
                Some(slot) => *slot = b,
                None => break,
            }
        }
        // Everything but the last two octets of the list goes through the CRC; hold the
        // last two back until more arrive.
        let held = (self.received as usize).min(2);
        if chunk.len() >= 2 {
            self.digest.update(self.tail.get(2 - held..).unwrap_or(&[]));
            let (body, last) = chunk.split_at(chunk.len() - 2);
            self.digest.update(body);
            self.tail.copy_from_slice(last);
        } else if let [b] = chunk {
            let [older, newer] = self.tail;
            if held == 2 {
                self.digest.update(&[older]);
            }
            self.tail = [newer, *b];
        }
        self.received = total;
        Ok(())
    }

    /// Ends the list: its size, CRC and (extended) revision must be right.
    pub fn finish(self) -> Result<PrlHeader, PrlError> {
        let received = self.received;
        if (received as usize) < self.kind.min_len() {
            return Err(PrlError::TooShort);
        }
        let [s0, s1, i0, i1, rev] = self.head;
        let declared = u16::from_be_bytes([s0, s1]);
        if u32::from(declared) != received {
            return Err(PrlError::SizeMismatch { declared, received });
        }
        let stored = u16::from_be_bytes(self.tail);
        let computed = self.digest.finalize();
        if stored != computed {
            return Err(PrlError::Crc { stored, computed });
        }
        if self.kind == PrlKind::Extended && rev != EXTENDED_SSPR_P_REV {
            return Err(PrlError::Revision(rev));
        }
        Ok(PrlHeader {
            size: declared,
            id: u16::from_be_bytes([i0, i1]),
            crc: stored,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The PRL CRC, bit by bit, as C.S0016 §3.5.5.1 draws it: a register preset to ones,
    /// fed each bit MSB first, the output complemented.
    fn register_crc(body: &[u8]) -> u16 {
        let mut reg: u16 = 0xFFFF;
        for &byte in body {
            for bit in (0..8).rev() {
                let input = (byte >> bit) & 1 == 1;
                let feedback = (reg & 0x8000 != 0) ^ input;
                reg <<= 1;
                if feedback {
                    reg ^= 0x1021;
                }
            }
        }
        !reg
    }

    #[test]
    fn the_crc_is_the_register_of_c_s0016_and_crc16_genibus() {
        // The catalogue's check value for CRC-16/GENIBUS.
        assert_eq!(crc(b"123456789"), 0xD64E);
        assert_eq!(register_crc(b"123456789"), 0xD64E);
        let data: std::vec::Vec<u8> = (0..=255u8).cycle().take(700).collect();
        for len in [0, 1, 2, 3, 17, 700] {
            assert_eq!(crc(&data[..len]), register_crc(&data[..len]), "{len}");
        }
    }

    fn list(kind: PrlKind, len: usize) -> std::vec::Vec<u8> {
        let mut v: std::vec::Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
        v[..2].copy_from_slice(&(len as u16).to_be_bytes());
        if kind == PrlKind::Extended {
            v[4] = EXTENDED_SSPR_P_REV;
        }
        let c = crc(&v[..len - 2]);
        v[len - 2..].copy_from_slice(&c.to_be_bytes());
        v
    }

    #[test]
    fn streaming_in_any_chunks_gives_the_whole_list_answer() {
        let prl = list(PrlKind::Prl, 301);
        for size in [1, 2, 3, 5, 64, 300, 301] {
            let mut c = PrlCheck::new(PrlKind::Prl);
            for chunk in prl.chunks(size) {
                c.update(chunk).unwrap();
            }
            let h = c.finish().unwrap();
            assert_eq!(h.size, 301, "{size}");
            assert_eq!(h.id, u16::from_be_bytes([prl[2], prl[3]]));
        }
        // Single bytes then a big chunk, and an empty chunk in between.
        let mut c = PrlCheck::new(PrlKind::Prl);
        c.update(&prl[..1]).unwrap();
        c.update(&[]).unwrap();
        c.update(&prl[1..2]).unwrap();
        c.update(&prl[2..3]).unwrap();
        c.update(&prl[3..]).unwrap();
        assert!(c.finish().is_ok());
    }

    #[test]
    fn every_flipped_bit_is_refused() {
        let prl = list(PrlKind::Extended, 40);
        assert!(check(PrlKind::Extended, &prl).is_ok());
        for byte in 0..prl.len() {
            for bit in 0..8 {
                let mut bad = prl.clone();
                bad[byte] ^= 1 << bit;
                assert!(check(PrlKind::Extended, &bad).is_err(), "{byte}.{bit}");
            }
        }
    }

    #[test]
    fn size_revision_and_length_rules() {
        let prl = list(PrlKind::Prl, 20);
        assert_eq!(
            check(PrlKind::Prl, &prl[..19]),
            Err(PrlError::SizeMismatch {
                declared: 20,
                received: 19
            })
        );
        assert_eq!(check(PrlKind::Prl, &prl[..9]), Err(PrlError::TooShort));
        let mut classic = list(PrlKind::Prl, 20);
        classic[4] = 1;
        let c = crc(&classic[..18]);
        classic[18..].copy_from_slice(&c.to_be_bytes());
        assert!(check(PrlKind::Prl, &classic).is_ok());
        assert_eq!(
            check(PrlKind::Extended, &classic),
            Err(PrlError::Revision(1))
        );
        let mut c = PrlCheck::new(PrlKind::Prl);
        c.update(&[0u8; 60_000]).unwrap();
        assert_eq!(c.update(&[0u8; 5536]), Err(PrlError::TooLong));
        assert_eq!(
            PrlError::TooLong.status(),
            StatusCode::RequestEntityTooLarge
        );
    }
}
