//! Fault injection: power loss in the middle of a flash operation, and plain failures.

use embedded_storage::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};

/// What a power cut leaves of the mutating operation it interrupts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Tear {
    /// The operation never reached the flash.
    NotStarted,
    /// The operation completed; power went just before it reported back.
    Completed,
    /// A write leaves some whole words programmed and one word with some of its bytes
    /// programmed and the others still erased. An erase leaves a leading part of one sector
    /// erased and the rest as it was.
    Partial,
    /// As `Partial`, but the interrupted word or sector holds a random bit pattern between
    /// the old and the new contents (bits half cleared by a program, half set by an erase).
    Garbage,
}

/// When to fail. Operations are numbered from 0 in the order they reach the flash; only
/// writes and erases ("mutating operations") count for a cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FaultPlan {
    cut_at: Option<u64>,
    tear: Tear,
    fail_write: Option<u64>,
    fail_erase: Option<u64>,
    seed: u64,
}

impl FaultPlan {
    /// No faults: the wrapper only counts.
    pub const fn none() -> Self {
        Self {
            cut_at: None,
            tear: Tear::NotStarted,
            fail_write: None,
            fail_erase: None,
            seed: 0,
        }
    }

    /// Power is lost during mutating operation `k`, which is left as `tear` says; every
    /// operation after it fails with [`FaultyError::PowerLoss`].
    pub const fn cut_at(k: u64, tear: Tear) -> Self {
        let mut plan = Self::none();
        plan.cut_at = Some(k);
        plan.tear = tear;
        plan
    }

    /// The `n`th write (counting writes only, from 0) fails with
    /// [`FaultyError::Injected`] and changes nothing; later ones work.
    #[must_use]
    pub const fn fail_write(mut self, n: u64) -> Self {
        self.fail_write = Some(n);
        self
    }

    /// The `n`th erase call fails with [`FaultyError::Injected`] and changes nothing.
    #[must_use]
    pub const fn fail_erase(mut self, n: u64) -> Self {
        self.fail_erase = Some(n);
        self
    }

    /// Seeds the choice of which words or bytes a tear affects.
    #[must_use]
    pub const fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// An error from a [`FaultyFlash`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum FaultyError<E> {
    /// The wrapped flash refused the operation.
    Flash(E),
    /// Power has been lost: the device is off until it is rebuilt over
    /// [`FaultyFlash::into_inner`].
    PowerLoss,
    /// A planned plain failure; the flash is unchanged.
    Injected,
}

impl<E: core::fmt::Debug> core::fmt::Display for FaultyError<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Flash(e) => write!(f, "flash error: {e:?}"),
            Self::PowerLoss => f.write_str("power lost"),
            Self::Injected => f.write_str("injected failure"),
        }
    }
}

impl<E: core::fmt::Debug> core::error::Error for FaultyError<E> {}

impl<E: NorFlashError> NorFlashError for FaultyError<E> {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            Self::Flash(e) => e.kind(),
            Self::PowerLoss | Self::Injected => NorFlashErrorKind::Other,
        }
    }
}

/// Wraps any [`NorFlash`] and injects power loss or failures according to a [`FaultPlan`].
///
/// Tearing an erase keeps a copy of the old sector contents in a stack buffer of
/// `SCRATCH` bytes; with sectors larger than that, only the last `SCRATCH` bytes of the
/// torn sector keep (part of) their old contents and the rest is erased. The tests use
/// sectors that fit.
///
/// Deterministic: the same plan and the same operations give the same flash contents.
#[derive(Debug)]
pub struct FaultyFlash<F, const SCRATCH: usize = 4096> {
    inner: F,
    plan: FaultPlan,
    rng: u64,
    mutations: u64,
    writes: u64,
    erases: u64,
    dead: bool,
}

impl<F: NorFlash, const SCRATCH: usize> FaultyFlash<F, SCRATCH> {
    /// Wraps `inner` with `plan`.
    pub fn new(inner: F, plan: FaultPlan) -> Self {
        Self {
            inner,
            plan,
            rng: plan.seed ^ 0x9E37_79B9_7F4A_7C15,
            mutations: 0,
            writes: 0,
            erases: 0,
            dead: false,
        }
    }

    /// Mutating operations attempted so far (the cut one included).
    pub fn mutations(&self) -> u64 {
        self.mutations
    }

    /// Whether power has been lost.
    pub fn is_cut(&self) -> bool {
        self.dead
    }

    /// The wrapped flash, read-only, for inspection.
    pub fn inner(&self) -> &F {
        &self.inner
    }

    /// The wrapped flash, writable past the fault plan (for factory programming or for
    /// corrupting it on purpose in tests).
    pub fn inner_mut(&mut self) -> &mut F {
        &mut self.inner
    }

    /// Gives the wrapped flash back, as power loss left it.
    pub fn into_inner(self) -> F {
        self.inner
    }

    /// splitmix64: small, good enough to pick positions, and the same on every platform.
    fn next(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    /// Numbers a mutating operation; true when power is lost during it.
    fn begin_mutation(&mut self) -> Result<bool, FaultyError<F::Error>> {
        if self.dead {
            return Err(FaultyError::PowerLoss);
        }
        let k = self.mutations;
        self.mutations += 1;
        Ok(self.plan.cut_at == Some(k))
    }

    fn torn_write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), F::Error> {
        let word = F::WRITE_SIZE;
        let words = bytes.len() / word.max(1);
        if words == 0 || word > SCRATCH {
            return Ok(());
        }
        let whole = self.below(words);
        let (done, rest) = bytes.split_at(whole * word);
        if !done.is_empty() {
            self.inner.write(offset, done)?;
        }
        let garbage = self.plan.tear == Tear::Garbage;
        let mut mixed = [0xFFu8; SCRATCH];
        let mut bits = self.next();
        for (i, (m, &new)) in mixed.iter_mut().zip(rest.iter().take(word)).enumerate() {
            if i % 64 == 0 && i > 0 {
                bits = self.next();
            }
            *m = if garbage {
                // A program only clears bits: the word lands between 0xFF and the new value.
                new | (self.next() as u8)
            } else if (bits >> (i % 64)) & 1 == 1 {
                new
            } else {
                0xFF
            };
        }
        if let Some(w) = mixed.get(..word) {
            self.inner.write(offset + (whole * word) as u32, w)?;
        }
        Ok(())
    }

    fn torn_erase(&mut self, from: u32, to: u32) -> Result<(), F::Error> {
        let sector = F::ERASE_SIZE as u32;
        let sectors = (to - from) / sector;
        if sectors == 0 {
            return Ok(());
        }
        let torn = self.below(sectors as usize) as u32;
        let start = from + torn * sector;
        if torn > 0 {
            self.inner.erase(from, start)?;
        }
        // Save what the torn sector keeps: its tail, at most SCRATCH bytes of it.
        let keep_len = (sector as usize).min(SCRATCH);
        let keep_at = start + sector - keep_len as u32;
        let mut saved = [0u8; SCRATCH];
        let saved = saved.get_mut(..keep_len).unwrap_or_default();
        self.inner.read(keep_at, saved)?;
        self.inner.erase(start, start + sector)?;
        let word = F::WRITE_SIZE.max(1);
        match self.plan.tear {
            Tear::Garbage => {
                // An erase only sets bits: each byte lands between the old value and 0xFF.
                for b in saved.iter_mut() {
                    *b |= self.next() as u8;
                }
                self.inner.write(keep_at, saved)?;
            }
            _ => {
                // The leading part got erased; the rest still holds the old words.
                let words = keep_len / word;
                let erased_words = 1 + self.below(words.saturating_sub(1).max(1));
                let skip = (erased_words * word).min(keep_len);
                if let Some(old) = saved.get(skip..) {
                    if !old.is_empty() {
                        self.inner.write(keep_at + skip as u32, old)?;
                    }
                }
            }
        }
        Ok(())
    }
}

impl<F: NorFlash, const SCRATCH: usize> ErrorType for FaultyFlash<F, SCRATCH> {
    type Error = FaultyError<F::Error>;
}

impl<F: NorFlash, const SCRATCH: usize> ReadNorFlash for FaultyFlash<F, SCRATCH> {
    const READ_SIZE: usize = F::READ_SIZE;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        if self.dead {
            return Err(FaultyError::PowerLoss);
        }
        self.inner.read(offset, bytes).map_err(FaultyError::Flash)
    }

    fn capacity(&self) -> usize {
        self.inner.capacity()
    }
}

impl<F: NorFlash, const SCRATCH: usize> NorFlash for FaultyFlash<F, SCRATCH> {
    const WRITE_SIZE: usize = F::WRITE_SIZE;
    const ERASE_SIZE: usize = F::ERASE_SIZE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        let cut = self.begin_mutation()?;
        let n = self.erases;
        self.erases += 1;
        if cut {
            self.dead = true;
            // Only a well-formed request tears; a malformed one would have been refused.
            embedded_storage::nor_flash::check_erase(self, from, to)
                .map_err(|_| FaultyError::PowerLoss)?;
            let _ = match self.plan.tear {
                Tear::NotStarted => Ok(()),
                Tear::Completed => self.inner.erase(from, to),
                Tear::Partial | Tear::Garbage => self.torn_erase(from, to),
            };
            return Err(FaultyError::PowerLoss);
        }
        if self.plan.fail_erase == Some(n) {
            return Err(FaultyError::Injected);
        }
        self.inner.erase(from, to).map_err(FaultyError::Flash)
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        let cut = self.begin_mutation()?;
        let n = self.writes;
        self.writes += 1;
        if cut {
            self.dead = true;
            embedded_storage::nor_flash::check_write(self, offset, bytes.len())
                .map_err(|_| FaultyError::PowerLoss)?;
            let _ = match self.plan.tear {
                Tear::NotStarted => Ok(()),
                Tear::Completed => self.inner.write(offset, bytes),
                Tear::Partial | Tear::Garbage => self.torn_write(offset, bytes),
            };
            return Err(FaultyError::PowerLoss);
        }
        if self.plan.fail_write == Some(n) {
            return Err(FaultyError::Injected);
        }
        self.inner.write(offset, bytes).map_err(FaultyError::Flash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flash::MemFlash;

    type Mem = MemFlash<[u8; 256], 64, 8>;

    fn blank() -> Mem {
        let mut m = MemFlash::new([0u8; 256]);
        m.erase_all();
        m
    }

    #[test]
    fn after_a_cut_everything_fails() {
        let mut f: FaultyFlash<Mem, 64> =
            FaultyFlash::new(blank(), FaultPlan::cut_at(1, Tear::Completed));
        f.write(0, &[0; 8]).unwrap();
        assert_eq!(f.write(8, &[1; 8]), Err(FaultyError::PowerLoss));
        assert_eq!(f.erase(0, 64), Err(FaultyError::PowerLoss));
        assert_eq!(f.read(0, &mut [0; 8]), Err(FaultyError::PowerLoss));
        assert!(f.is_cut());
        let m = f.into_inner();
        assert_eq!(m.as_bytes()[8..16], [1; 8]);
    }

    #[test]
    fn not_started_leaves_the_flash_alone() {
        let mut f: FaultyFlash<Mem, 64> =
            FaultyFlash::new(blank(), FaultPlan::cut_at(0, Tear::NotStarted));
        assert_eq!(f.write(0, &[0; 16]), Err(FaultyError::PowerLoss));
        assert!(f.into_inner().as_bytes().iter().all(|&b| b == 0xFF));
    }

    #[test]
    fn partial_write_leaves_one_word_half_programmed() {
        let mut seen_split_word = false;
        for seed in 0..32 {
            let plan = FaultPlan::cut_at(0, Tear::Partial).with_seed(seed);
            let mut f: FaultyFlash<Mem, 64> = FaultyFlash::new(blank(), plan);
            let data = [0u8; 32];
            assert_eq!(f.write(0, &data), Err(FaultyError::PowerLoss));
            let m = f.into_inner();
            let bytes = &m.as_bytes()[..32];
            // Whole words first, then one mixed word, then erased words.
            let programmed = bytes.iter().filter(|&&b| b == 0).count();
            assert!(programmed < 32, "a torn write must not complete");
            let mixed = bytes
                .chunks(8)
                .filter(|w| w.contains(&0) && w.contains(&0xFF))
                .count();
            assert!(mixed <= 1);
            seen_split_word |= mixed == 1;
        }
        assert!(seen_split_word);
    }

    #[test]
    fn partial_erase_keeps_part_of_the_sector() {
        let mut m = blank();
        m.write(64, &[0u8; 64]).unwrap();
        let mut f: FaultyFlash<Mem, 64> =
            FaultyFlash::new(m, FaultPlan::cut_at(0, Tear::Partial).with_seed(3));
        assert_eq!(f.erase(64, 128), Err(FaultyError::PowerLoss));
        let m = f.into_inner();
        let s = &m.as_bytes()[64..128];
        assert_eq!(s[0], 0xFF, "the leading part is erased");
        assert_eq!(s[63], 0x00, "the tail keeps its old contents");
    }

    #[test]
    fn garbage_erase_sets_bits_only() {
        let mut m = blank();
        m.write(0, &[0u8; 64]).unwrap();
        let mut f: FaultyFlash<Mem, 64> =
            FaultyFlash::new(m, FaultPlan::cut_at(0, Tear::Garbage).with_seed(9));
        assert_eq!(f.erase(0, 64), Err(FaultyError::PowerLoss));
        let m = f.into_inner();
        let s = &m.as_bytes()[..64];
        assert!(s.iter().any(|&b| b != 0xFF) && s.iter().any(|&b| b != 0));
    }

    #[test]
    fn plain_failures_change_nothing_and_do_not_cut() {
        let mut f: FaultyFlash<Mem, 64> =
            FaultyFlash::new(blank(), FaultPlan::none().fail_write(1).fail_erase(0));
        f.write(0, &[0; 8]).unwrap();
        assert_eq!(f.write(8, &[0; 8]), Err(FaultyError::Injected));
        assert_eq!(f.erase(64, 128), Err(FaultyError::Injected));
        f.write(8, &[0; 8]).unwrap();
        assert!(!f.is_cut());
        assert_eq!(f.mutations(), 4);
    }

    #[test]
    fn same_seed_same_tear() {
        let run = |seed| {
            let plan = FaultPlan::cut_at(0, Tear::Garbage).with_seed(seed);
            let mut f: FaultyFlash<Mem, 64> = FaultyFlash::new(blank(), plan);
            let _ = f.write(0, &[0x5A; 64]);
            f.into_inner().as_bytes().to_vec()
        };
        assert_eq!(run(7), run(7));
    }
}
