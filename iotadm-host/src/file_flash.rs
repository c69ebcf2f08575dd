//! A NOR flash kept in a host file, for the host demo: contents survive the process.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use embedded_storage::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};

use iotadm::flash::{FlashStats, MemFlashError};

/// An error from a [`FileFlash`].
#[derive(Debug)]
#[non_exhaustive]
pub enum FileFlashError {
    /// The operation broke a flash rule (same rules as [`MemFlash`](iotadm::flash::MemFlash)).
    Rule(MemFlashError),
    /// The file could not be read or written.
    Io(std::io::Error),
}

impl core::fmt::Display for FileFlashError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Rule(e) => e.fmt(f),
            Self::Io(e) => write!(f, "flash file: {e}"),
        }
    }
}

impl std::error::Error for FileFlashError {}

impl NorFlashError for FileFlashError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            Self::Rule(e) => e.kind(),
            Self::Io(_) => NorFlashErrorKind::Other,
        }
    }
}

impl From<std::io::Error> for FileFlashError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

/// A NOR flash of a fixed capacity backed by a file, with the semantics of
/// [`MemFlash`](iotadm::flash::MemFlash): erase to `0xFF`, `WRITE`-aligned writes to erased words
/// only.
#[derive(Debug)]
pub struct FileFlash<const ERASE: usize, const WRITE: usize> {
    file: File,
    capacity: usize,
    stats: FlashStats,
}

impl<const ERASE: usize, const WRITE: usize> FileFlash<ERASE, WRITE> {
    /// Opens (or creates) the file at `path` as a flash of `capacity` bytes, which must be
    /// whole sectors. A new or short file is extended with erased (`0xFF`) bytes.
    pub fn open(path: impl AsRef<Path>, capacity: usize) -> Result<Self, FileFlashError> {
        const {
            assert!(WRITE > 0 && ERASE > 0 && ERASE.is_multiple_of(WRITE));
        }
        if !capacity.is_multiple_of(ERASE) {
            return Err(FileFlashError::Rule(MemFlashError::NotAligned));
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let len = file.metadata()?.len() as usize;
        if len < capacity {
            file.seek(SeekFrom::Start(len as u64))?;
            let blank = [0xFFu8; 4096];
            let mut left = capacity - len;
            while left > 0 {
                let n = left.min(blank.len());
                file.write_all(blank.get(..n).unwrap_or_default())?;
                left -= n;
            }
            file.flush()?;
        }
        Ok(Self {
            file,
            capacity,
            stats: FlashStats::default(),
        })
    }

    /// Operation totals since the flash was opened.
    pub fn stats(&self) -> FlashStats {
        self.stats
    }

    fn check(&self, offset: u32, len: usize) -> Result<u64, FileFlashError> {
        let end = (offset as usize)
            .checked_add(len)
            .ok_or(FileFlashError::Rule(MemFlashError::OutOfBounds))?;
        if end > self.capacity {
            return Err(FileFlashError::Rule(MemFlashError::OutOfBounds));
        }
        Ok(u64::from(offset))
    }
}

impl<const ERASE: usize, const WRITE: usize> ErrorType for FileFlash<ERASE, WRITE> {
    type Error = FileFlashError;
}

impl<const ERASE: usize, const WRITE: usize> ReadNorFlash for FileFlash<ERASE, WRITE> {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        let at = self.check(offset, bytes.len())?;
        self.file.seek(SeekFrom::Start(at))?;
        self.file.read_exact(bytes)?;
        self.stats.reads += 1;
        self.stats.bytes_read += bytes.len() as u64;
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.capacity
    }
}

impl<const ERASE: usize, const WRITE: usize> NorFlash for FileFlash<ERASE, WRITE> {
    const WRITE_SIZE: usize = WRITE;
    const ERASE_SIZE: usize = ERASE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        let len = to
            .checked_sub(from)
            .ok_or(FileFlashError::Rule(MemFlashError::OutOfBounds))? as usize;
        let at = self.check(from, len)?;
        if !(from as usize).is_multiple_of(ERASE) || !len.is_multiple_of(ERASE) {
            return Err(FileFlashError::Rule(MemFlashError::NotAligned));
        }
        let blank = [0xFFu8; ERASE];
        self.file.seek(SeekFrom::Start(at))?;
        for _ in 0..len / ERASE {
            self.file.write_all(&blank)?;
        }
        self.file.flush()?;
        self.stats.erases += (len / ERASE) as u64;
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        let at = self.check(offset, bytes.len())?;
        if !(offset as usize).is_multiple_of(WRITE) || !bytes.len().is_multiple_of(WRITE) {
            return Err(FileFlashError::Rule(MemFlashError::NotAligned));
        }
        let mut current = std::vec![0u8; bytes.len()];
        self.file.seek(SeekFrom::Start(at))?;
        self.file.read_exact(&mut current)?;
        if current.iter().any(|&b| b != 0xFF) {
            return Err(FileFlashError::Rule(MemFlashError::NotErased));
        }
        self.file.seek(SeekFrom::Start(at))?;
        self.file.write_all(bytes)?;
        self.file.flush()?;
        self.stats.writes += 1;
        self.stats.bytes_written += bytes.len() as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persists_across_reopen_with_nor_rules() {
        let path =
            std::env::temp_dir().join(std::format!("iotadm-fileflash-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        {
            let mut f = FileFlash::<256, 4>::open(&path, 1024).unwrap();
            let mut out = [0u8; 4];
            f.read(1020, &mut out).unwrap();
            assert_eq!(out, [0xFF; 4]);
            f.write(4, &[1, 2, 3, 4]).unwrap();
            assert!(matches!(
                f.write(4, &[0; 4]),
                Err(FileFlashError::Rule(MemFlashError::NotErased))
            ));
            assert!(matches!(
                f.write(2, &[0; 4]),
                Err(FileFlashError::Rule(MemFlashError::NotAligned))
            ));
            assert!(matches!(
                f.erase(0, 100),
                Err(FileFlashError::Rule(MemFlashError::NotAligned))
            ));
            assert!(matches!(
                f.read(1022, &mut out),
                Err(FileFlashError::Rule(MemFlashError::OutOfBounds))
            ));
        }
        let mut f = FileFlash::<256, 4>::open(&path, 1024).unwrap();
        let mut out = [0u8; 4];
        f.read(4, &mut out).unwrap();
        assert_eq!(out, [1, 2, 3, 4]);
        f.erase(0, 256).unwrap();
        f.read(4, &mut out).unwrap();
        assert_eq!(out, [0xFF; 4]);
        let _ = std::fs::remove_file(&path);
    }
}
