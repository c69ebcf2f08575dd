//! The boot-state record and the log that keeps it in the state region.
//!
//! Records are appended one after another, each in its own run of whole `WRITE_SIZE`
//! words; the valid record with the highest sequence number is the state. When a sector is
//! full the next one is erased and the log continues there, so the newest complete record
//! always survives: a torn write fails its check and is skipped, and a torn erase only
//! touches a sector that holds older records.

use embedded_storage::nor_flash::NorFlash;
use sha2::{Digest, Sha256};

use super::{Error, Failure, Outcome, Phase, Slot};
use crate::flash::ring::{Ring, Slot as RingSlot};

/// Bytes of a record before padding to whole write words.
pub(crate) const RECORD_LEN: usize = 32;
const MAGIC: [u8; 4] = *b"IBST";
const CHECKED: usize = 28;

// The numbers a failure is kept as in the record. They are the FUMO result codes for the
// same failures, which records have always held, so records written earlier read the same.
const CORRUPTED: u16 = 402;
const MISMATCH: u16 = 403;
const UNAUTHENTIC: u16 = 404;
const NOT_ACCEPTABLE: u16 = 405;
const TOO_LARGE: u16 = 501;

impl Failure {
    /// The number the record keeps for this failure.
    pub(crate) fn code(self) -> u16 {
        match self {
            Self::Corrupted => CORRUPTED,
            Self::Mismatch => MISMATCH,
            Self::Unauthentic => UNAUTHENTIC,
            Self::NotAcceptable => NOT_ACCEPTABLE,
            Self::TooLarge => TOO_LARGE,
            Self::Abandoned(code) => code,
        }
    }

    /// The failure a record's number stands for; a number of the caller's own stays as
    /// it was given.
    pub(crate) fn from_code(code: u16) -> Self {
        match code {
            CORRUPTED => Self::Corrupted,
            MISMATCH => Self::Mismatch,
            UNAUTHENTIC => Self::Unauthentic,
            NOT_ACCEPTABLE => Self::NotAcceptable,
            TOO_LARGE => Self::TooLarge,
            code => Self::Abandoned(code),
        }
    }
}

/// The persisted installer state: what the bootloader and the firmware agree on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BootState {
    pub(crate) seq: u32,
    pub(crate) phase: Phase,
    pub(crate) active: Slot,
    pub(crate) trials: u8,
    pub(crate) backup_valid: bool,
    pub(crate) restore_pending: bool,
    pub(crate) progress: u32,
    pub(crate) target_version: u32,
    pub(crate) outcome: Option<Outcome>,
}

impl Default for BootState {
    /// A factory-fresh device: slot A confirmed, nothing pending.
    fn default() -> Self {
        Self {
            seq: 0,
            phase: Phase::Idle,
            active: Slot::A,
            trials: 0,
            backup_valid: false,
            restore_pending: false,
            progress: 0,
            target_version: 0,
            outcome: None,
        }
    }
}

impl BootState {
    /// The phase of the update.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The confirmed slot: booted normally and the one a rollback returns to.
    pub fn active(&self) -> Slot {
        self.active
    }

    /// Trial boots of the new image so far (phase [`Phase::Trial`]).
    pub fn trials(&self) -> u8 {
        self.trials
    }

    /// Whether a complete backup of the user data exists for this update.
    pub fn backup_valid(&self) -> bool {
        self.backup_valid
    }

    /// Whether a rollback happened and the user data still has to be restored.
    pub fn restore_pending(&self) -> bool {
        self.restore_pending
    }

    /// Package bytes known to be in flash (phase [`Phase::Downloading`]).
    pub fn progress(&self) -> u32 {
        self.progress
    }

    /// Version code of the image in the update slot, once verified.
    pub fn target_version(&self) -> u32 {
        self.target_version
    }

    /// The last finished update attempt, until acknowledged.
    pub fn outcome(&self) -> Option<Outcome> {
        self.outcome
    }

    pub(crate) fn encode(&self) -> [u8; RECORD_LEN] {
        let mut r = [0u8; RECORD_LEN];
        let (kind, code, version) = match self.outcome {
            None => (0u8, 0u16, 0u32),
            Some(Outcome::Updated { version }) => (1, 200, version),
            Some(Outcome::RolledBack { version }) => (2, 0, version),
            Some(Outcome::Failed { reason }) => (3, reason.code(), 0),
        };
        let flags = u8::from(self.backup_valid) | (u8::from(self.restore_pending) << 1);
        let fields: [(&mut [u8], &[u8]); 11] = {
            let (magic, rest) = r.split_at_mut(4);
            let (seq, rest) = rest.split_at_mut(4);
            let (head, rest) = rest.split_at_mut(4);
            let (progress, rest) = rest.split_at_mut(4);
            let (target, rest) = rest.split_at_mut(4);
            let (okind, rest) = rest.split_at_mut(2);
            let (ocode, rest) = rest.split_at_mut(2);
            let (over, _) = rest.split_at_mut(4);
            let (phase, head) = head.split_at_mut(1);
            let (active, head) = head.split_at_mut(1);
            let (trials, flag) = head.split_at_mut(1);
            [
                (magic, &MAGIC),
                (seq, &self.seq.to_le_bytes()),
                (phase, &[self.phase as u8]),
                (active, &[self.active as u8]),
                (trials, &[self.trials]),
                (flag, &[flags]),
                (progress, &self.progress.to_le_bytes()),
                (target, &self.target_version.to_le_bytes()),
                (okind, &[kind, 0]),
                (ocode, &code.to_le_bytes()),
                (over, &version.to_le_bytes()),
            ]
        };
        for (dst, src) in fields {
            dst.copy_from_slice(src);
        }
        let check = check(&r);
        if let Some(c) = r.get_mut(CHECKED..) {
            c.copy_from_slice(&check);
        }
        r
    }

    pub(crate) fn decode(r: &[u8]) -> Option<Self> {
        let r: &[u8; RECORD_LEN] = r.get(..RECORD_LEN)?.try_into().ok()?;
        let [m0, m1, m2, m3, s0, s1, s2, s3, phase, active, trials, flags, p0, p1, p2, p3, t0, t1, t2, t3, okind, _, c0, c1, v0, v1, v2, v3, k0, k1, k2, k3] =
            *r;
        if [m0, m1, m2, m3] != MAGIC || [k0, k1, k2, k3] != check(r) {
            return None;
        }
        let version = u32::from_le_bytes([v0, v1, v2, v3]);
        let outcome = match okind {
            0 => None,
            1 => Some(Outcome::Updated { version }),
            2 => Some(Outcome::RolledBack { version }),
            3 => Some(Outcome::Failed {
                reason: Failure::from_code(u16::from_le_bytes([c0, c1])),
            }),
            _ => return None,
        };
        Some(Self {
            seq: u32::from_le_bytes([s0, s1, s2, s3]),
            phase: Phase::from_u8(phase)?,
            active: Slot::from_u8(active)?,
            trials,
            backup_valid: flags & 1 != 0,
            restore_pending: flags & 2 != 0,
            progress: u32::from_le_bytes([p0, p1, p2, p3]),
            target_version: u32::from_le_bytes([t0, t1, t2, t3]),
            outcome,
        })
    }
}

fn check(r: &[u8; RECORD_LEN]) -> [u8; 4] {
    let digest = Sha256::digest(r.get(..CHECKED).unwrap_or_default());
    let mut c = [0u8; 4];
    for (d, s) in c.iter_mut().zip(digest.iter()) {
        *d = *s;
    }
    c
}

/// The ring of state records.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StateLog<S> {
    flash: S,
    ring: Ring,
}

impl<S: NorFlash> StateLog<S> {
    /// Bytes a record takes in flash: whole write words.
    pub(crate) const STRIDE: usize = RECORD_LEN.div_ceil(S::WRITE_SIZE) * S::WRITE_SIZE;

    /// Scans the region and returns the log with the newest valid state (or the factory
    /// default when there is none).
    pub(crate) fn open(mut flash: S) -> Result<(Self, BootState), Error> {
        if S::WRITE_SIZE == 0 || S::WRITE_SIZE > RECORD_LEN {
            return Err(Error::Layout);
        }
        let mut buf = [0u8; RECORD_LEN];
        let (ring, best) = Ring::open(&mut flash, Self::STRIDE, Error::Layout, |flash, at| {
            Ok::<_, Error>(if Self::slot_is_free(flash, at, &mut buf)? {
                RingSlot::Free
            } else {
                BootState::decode(&buf).map_or(RingSlot::Invalid, |s| RingSlot::Valid(s.seq, s))
            })
        })?;
        let state = best.map(|(_, state)| state).unwrap_or_default();
        Ok((Self { flash, ring }, state))
    }

    pub(crate) fn into_inner(self) -> S {
        self.flash
    }

    /// Reads the record at `at` into `buf`; true when the whole stride is erased.
    fn slot_is_free(flash: &mut S, at: u32, buf: &mut [u8; RECORD_LEN]) -> Result<bool, Error> {
        flash.read(at, buf)?;
        let mut free = buf.iter().all(|&b| b == 0xFF);
        let mut rest = Self::STRIDE - RECORD_LEN;
        let mut pos = at + RECORD_LEN as u32;
        let mut pad = [0u8; RECORD_LEN];
        while free && rest > 0 {
            let n = rest.min(RECORD_LEN);
            let chunk = pad.get_mut(..n).unwrap_or_default();
            flash.read(pos, chunk)?;
            free = chunk.iter().all(|&b| b == 0xFF);
            rest -= n;
            pos += n as u32;
        }
        Ok(free)
    }

    /// Appends `state` as the newest record.
    pub(crate) fn append(&mut self, state: &BootState) -> Result<(), Error> {
        let at = self.ring.next_slot(&mut self.flash, Self::STRIDE)?;
        let rec = state.encode();
        if Self::STRIDE == RECORD_LEN {
            self.flash.write(at, &rec)?;
        } else {
            let mut padded = [0xFFu8; 2 * RECORD_LEN];
            let out = padded.get_mut(..Self::STRIDE).ok_or(Error::Layout)?;
            for (d, s) in out.iter_mut().zip(rec.iter()) {
                *d = *s;
            }
            self.flash.write(at, out)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flash::{FaultPlan, FaultyFlash, MemFlash, Tear};

    type Mem = MemFlash<[u8; 256], 128, 4>;

    fn blank() -> Mem {
        let mut m = MemFlash::new([0u8; 256]);
        m.erase_all();
        m
    }

    fn state(seq: u32) -> BootState {
        BootState {
            seq,
            phase: Phase::Downloading,
            active: Slot::B,
            trials: 2,
            backup_valid: true,
            restore_pending: false,
            progress: seq * 1000,
            target_version: 7,
            outcome: Some(Outcome::Failed {
                reason: Failure::Corrupted,
            }),
        }
    }

    #[test]
    fn encode_decode_round_trip_and_checksum() {
        let s = state(42);
        let r = s.encode();
        assert_eq!(BootState::decode(&r), Some(s));
        for i in 0..RECORD_LEN {
            let mut bad = r;
            bad[i] ^= 0x10;
            assert_eq!(BootState::decode(&bad), None, "flip at {i} accepted");
        }
    }

    #[test]
    fn newest_record_wins_across_sector_wrap() {
        let (mut log, s0) = StateLog::open(blank()).unwrap();
        assert_eq!(s0, BootState::default());
        // 4 records per sector, 2 sectors: 11 appends wrap around once.
        for seq in 1..=11 {
            log.append(&state(seq)).unwrap();
        }
        let (_, s) = StateLog::open(log.flash).unwrap();
        assert_eq!(s.seq, 11);
    }

    #[test]
    fn a_cut_at_any_append_keeps_old_or_new() {
        for k in 0..24u64 {
            for tear in [
                Tear::NotStarted,
                Tear::Completed,
                Tear::Partial,
                Tear::Garbage,
            ] {
                let plan = FaultPlan::cut_at(k, tear).with_seed(k);
                let flash: FaultyFlash<Mem, 256> = FaultyFlash::new(blank(), plan);
                let (mut log, _) = StateLog::open(flash).unwrap();
                let mut written = 0;
                for seq in 1..=20 {
                    if log.append(&state(seq)).is_err() {
                        break;
                    }
                    written = seq;
                }
                let (mut log, s) = StateLog::open(log.flash.into_inner()).unwrap();
                assert!(
                    s.seq == written || s.seq == written + 1,
                    "cut {k} {tear:?}: found {} after {written}",
                    s.seq
                );
                // And the log goes on from there.
                log.append(&state(s.seq + 1)).unwrap();
                let (_, s2) = StateLog::open(log.flash).unwrap();
                assert_eq!(s2.seq, s.seq + 1);
            }
        }
    }

    #[test]
    fn rejects_unusable_regions() {
        let one_sector: MemFlash<[u8; 128], 128, 4> = MemFlash::new([0xFF; 128]);
        assert!(matches!(StateLog::open(one_sector), Err(Error::Layout)));
    }
}
