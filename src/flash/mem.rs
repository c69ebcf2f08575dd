//! A NOR flash simulated in RAM, with the rules of a real part and operation counters.

use embedded_storage::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};

/// Why a [`MemFlash`] (or, with the `std` feature, a `FileFlash`) refused an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum MemFlashError {
    /// The range reaches past the end of the flash.
    OutOfBounds,
    /// The offset or length is not a multiple of the write or erase size.
    NotAligned,
    /// A write targeted a word that is not erased. A controller with ECC refuses to program
    /// a word twice, so the simulation does too.
    NotErased,
}

impl core::fmt::Display for MemFlashError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::OutOfBounds => "flash range out of bounds",
            Self::NotAligned => "flash range not aligned",
            Self::NotErased => "write to a word that is not erased",
        })
    }
}

impl core::error::Error for MemFlashError {}

impl NorFlashError for MemFlashError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            Self::OutOfBounds => NorFlashErrorKind::OutOfBounds,
            Self::NotAligned => NorFlashErrorKind::NotAligned,
            Self::NotErased => NorFlashErrorKind::Other,
        }
    }
}

/// Operation counters of a simulated flash.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FlashStats {
    /// Read calls that succeeded.
    pub reads: u64,
    /// Bytes read.
    pub bytes_read: u64,
    /// Write calls that succeeded.
    pub writes: u64,
    /// Bytes programmed.
    pub bytes_written: u64,
    /// Sectors erased (an erase call over three sectors counts three).
    pub erases: u64,
}

/// A NOR flash in RAM with the semantics of a real part.
///
/// - `ERASE` is the sector size: an erase sets whole sectors to `0xFF`.
/// - `WRITE` is the program unit: a write must start and end on a `WRITE` boundary and may
///   only program words that are fully erased, like a controller with ECC. Anything else is
///   an error, never a panic.
/// - The storage `S` is any byte buffer: a `Vec<u8>` on a host, a `static` array on a
///   target. Its length, rounded down to whole sectors, is the capacity.
/// - `C` optionally holds one erase counter per sector (see
///   [`with_erase_counters`](Self::with_erase_counters)); the default keeps totals only, so
///   the flash needs no memory beyond its storage.
#[derive(Debug)]
pub struct MemFlash<S, const ERASE: usize, const WRITE: usize, C = [u32; 0]> {
    mem: S,
    erase_counts: C,
    stats: FlashStats,
}

impl<S, const ERASE: usize, const WRITE: usize> MemFlash<S, ERASE, WRITE>
where
    S: AsRef<[u8]> + AsMut<[u8]>,
{
    /// Wraps `mem` as flash contents as they are (call [`erase_all`](Self::erase_all) for a
    /// blank part). Only totals are counted.
    pub fn new(mem: S) -> Self {
        Self::with_erase_counters(mem, [])
    }
}

impl<S, const ERASE: usize, const WRITE: usize, C> MemFlash<S, ERASE, WRITE, C>
where
    S: AsRef<[u8]> + AsMut<[u8]>,
    C: AsRef<[u32]> + AsMut<[u32]>,
{
    /// Wraps `mem` and counts erases per sector in `counters` (one entry per sector; sectors
    /// beyond its length are counted in the totals only).
    pub fn with_erase_counters(mem: S, counters: C) -> Self {
        const {
            assert!(WRITE > 0 && ERASE > 0, "sizes must be positive");
            assert!(
                ERASE.is_multiple_of(WRITE),
                "ERASE must be a multiple of WRITE"
            );
        }
        Self {
            mem,
            erase_counts: counters,
            stats: FlashStats::default(),
        }
    }

    /// Sets the whole flash to `0xFF` without counting it as erases (a factory-blank part).
    pub fn erase_all(&mut self) {
        self.mem.as_mut().fill(0xFF);
    }

    /// The raw contents, for inspection by tests and benches.
    pub fn as_bytes(&self) -> &[u8] {
        let len = self.capacity();
        self.mem.as_ref().get(..len).unwrap_or_default()
    }

    /// The raw contents, writable without any flash rule: for factory programming and for
    /// injecting bit flips in tests.
    pub fn as_bytes_mut(&mut self) -> &mut [u8] {
        let len = self.capacity();
        self.mem.as_mut().get_mut(..len).unwrap_or_default()
    }

    /// Operation totals since creation or the last [`reset_stats`](Self::reset_stats).
    pub fn stats(&self) -> FlashStats {
        self.stats
    }

    /// Erases per sector since creation or the last reset (empty when not tracked).
    pub fn erase_counts(&self) -> &[u32] {
        self.erase_counts.as_ref()
    }

    /// The highest per-sector erase count in `sectors` (a range of sector indices).
    pub fn max_erases_in(&self, sectors: core::ops::Range<usize>) -> u32 {
        self.erase_counts
            .as_ref()
            .get(sectors)
            .and_then(|c| c.iter().copied().max())
            .unwrap_or(0)
    }

    /// Clears the counters.
    pub fn reset_stats(&mut self) {
        self.stats = FlashStats::default();
        self.erase_counts.as_mut().fill(0);
    }

    /// Gives the storage back.
    pub fn into_inner(self) -> S {
        self.mem
    }

    fn range(&self, offset: u32, len: usize) -> Result<core::ops::Range<usize>, MemFlashError> {
        let start = usize::try_from(offset).map_err(|_| MemFlashError::OutOfBounds)?;
        let end = start.checked_add(len).ok_or(MemFlashError::OutOfBounds)?;
        if end > self.capacity() {
            return Err(MemFlashError::OutOfBounds);
        }
        Ok(start..end)
    }
}

impl<S, const ERASE: usize, const WRITE: usize, C> ErrorType for MemFlash<S, ERASE, WRITE, C> {
    type Error = MemFlashError;
}

impl<S, const ERASE: usize, const WRITE: usize, C> ReadNorFlash for MemFlash<S, ERASE, WRITE, C>
where
    S: AsRef<[u8]> + AsMut<[u8]>,
    C: AsRef<[u32]> + AsMut<[u32]>,
{
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        let range = self.range(offset, bytes.len())?;
        let src = self
            .mem
            .as_ref()
            .get(range)
            .ok_or(MemFlashError::OutOfBounds)?;
        bytes.copy_from_slice(src);
        self.stats.reads += 1;
        self.stats.bytes_read += bytes.len() as u64;
        Ok(())
    }

    fn capacity(&self) -> usize {
        let len = self.mem.as_ref().len();
        len - len % ERASE
    }
}

impl<S, const ERASE: usize, const WRITE: usize, C> NorFlash for MemFlash<S, ERASE, WRITE, C>
where
    S: AsRef<[u8]> + AsMut<[u8]>,
    C: AsRef<[u32]> + AsMut<[u32]>,
{
    const WRITE_SIZE: usize = WRITE;
    const ERASE_SIZE: usize = ERASE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        let len = to.checked_sub(from).ok_or(MemFlashError::OutOfBounds)? as usize;
        let range = self.range(from, len)?;
        if range.start % ERASE != 0 || range.end % ERASE != 0 {
            return Err(MemFlashError::NotAligned);
        }
        let first = range.start / ERASE;
        let sectors = len / ERASE;
        self.mem
            .as_mut()
            .get_mut(range)
            .ok_or(MemFlashError::OutOfBounds)?
            .fill(0xFF);
        let counts = self.erase_counts.as_mut();
        for sector in first..first + sectors {
            if let Some(c) = counts.get_mut(sector) {
                *c = c.saturating_add(1);
            }
        }
        self.stats.erases += sectors as u64;
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        let range = self.range(offset, bytes.len())?;
        if range.start % WRITE != 0 || !bytes.len().is_multiple_of(WRITE) {
            return Err(MemFlashError::NotAligned);
        }
        let dst = self
            .mem
            .as_mut()
            .get_mut(range)
            .ok_or(MemFlashError::OutOfBounds)?;
        // Checked as a whole before anything is programmed: a refused write changes nothing.
        // An AND over all bytes (no early exit) vectorises; this check is on the hot path
        // of every simulated write.
        if dst.iter().fold(0xFF, |acc, &b| acc & b) != 0xFF {
            return Err(MemFlashError::NotErased);
        }
        dst.copy_from_slice(bytes);
        self.stats.writes += 1;
        self.stats.bytes_written += bytes.len() as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Flash = MemFlash<[u8; 256], 64, 4, [u32; 4]>;

    fn blank() -> Flash {
        let mut f = MemFlash::with_erase_counters([0u8; 256], [0; 4]);
        f.erase_all();
        f
    }

    #[test]
    fn write_then_read_back() {
        let mut f = blank();
        f.write(8, &[1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
        let mut out = [0u8; 8];
        f.read(8, &mut out).unwrap();
        assert_eq!(out, [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(f.stats().writes, 1);
        assert_eq!(f.stats().bytes_written, 8);
    }

    #[test]
    fn rejects_misaligned_and_out_of_bounds() {
        let mut f = blank();
        assert_eq!(f.write(2, &[0; 4]), Err(MemFlashError::NotAligned));
        assert_eq!(f.write(0, &[0; 3]), Err(MemFlashError::NotAligned));
        assert_eq!(f.write(256, &[0; 4]), Err(MemFlashError::OutOfBounds));
        assert_eq!(f.write(u32::MAX, &[0; 4]), Err(MemFlashError::OutOfBounds));
        assert_eq!(f.erase(0, 32), Err(MemFlashError::NotAligned));
        assert_eq!(f.erase(64, 0), Err(MemFlashError::OutOfBounds));
        assert_eq!(f.erase(0, 320), Err(MemFlashError::OutOfBounds));
        let mut big = [0u8; 8];
        assert_eq!(f.read(252, &mut big), Err(MemFlashError::OutOfBounds));
    }

    #[test]
    fn refuses_to_program_a_word_twice_until_erased() {
        let mut f = blank();
        f.write(0, &[0xF0; 4]).unwrap();
        assert_eq!(f.write(0, &[0x00; 4]), Err(MemFlashError::NotErased));
        // A refused write leaves the neighbours alone.
        assert_eq!(f.write(0, &[0x00; 8]), Err(MemFlashError::NotErased));
        assert_eq!(f.as_bytes()[4..8], [0xFF; 4]);
        f.erase(0, 64).unwrap();
        f.write(0, &[0x00; 4]).unwrap();
        assert_eq!(f.as_bytes()[..4], [0; 4]);
    }

    #[test]
    fn counts_erases_per_sector() {
        let mut f = blank();
        f.erase(0, 128).unwrap();
        f.erase(64, 128).unwrap();
        assert_eq!(f.erase_counts(), &[1, 2, 0, 0]);
        assert_eq!(f.max_erases_in(0..4), 2);
        assert_eq!(f.stats().erases, 3);
        f.reset_stats();
        assert_eq!(f.erase_counts(), &[0; 4]);
    }
}
