//! A window onto part of a shared flash, so one part can hold slots, state and data.

use core::cell::RefCell;

use embedded_storage::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};

/// An error from a [`Partition`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum PartitionError<E> {
    /// The underlying flash refused the operation.
    Flash(E),
    /// The range reaches past the end of the partition (or, at construction, of the flash).
    OutOfBounds,
    /// The range (or, at construction, the window) is not aligned as the flash requires.
    NotAligned,
    /// The shared flash was already borrowed: two partitions were used at once from
    /// re-entrant code.
    Busy,
}

impl<E: core::fmt::Debug> core::fmt::Display for PartitionError<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Flash(e) => write!(f, "flash error: {e:?}"),
            Self::OutOfBounds => f.write_str("range outside the partition"),
            Self::NotAligned => f.write_str("range not aligned"),
            Self::Busy => f.write_str("flash already in use"),
        }
    }
}

impl<E: core::fmt::Debug> core::error::Error for PartitionError<E> {}

impl<E: NorFlashError> NorFlashError for PartitionError<E> {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            Self::Flash(e) => e.kind(),
            Self::OutOfBounds => NorFlashErrorKind::OutOfBounds,
            Self::NotAligned => NorFlashErrorKind::NotAligned,
            Self::Busy => NorFlashErrorKind::Other,
        }
    }
}

/// The region `offset..offset + size` of a flash shared through a [`RefCell`].
///
/// Offsets given to the partition are relative to its start; ranges are checked against
/// the window before they reach the flash, so one partition can never touch another.
/// Operations borrow the cell only for their own duration.
#[derive(Debug)]
pub struct Partition<'a, F> {
    flash: &'a RefCell<F>,
    offset: u32,
    size: u32,
}

impl<'a, F: NorFlash> Partition<'a, F> {
    /// A window of `size` bytes at `offset`; both must be whole sectors, inside the flash.
    pub fn new(
        flash: &'a RefCell<F>,
        offset: u32,
        size: u32,
    ) -> Result<Self, PartitionError<F::Error>> {
        let erase = F::ERASE_SIZE as u32;
        if erase == 0 || !offset.is_multiple_of(erase) || !size.is_multiple_of(erase) {
            return Err(PartitionError::NotAligned);
        }
        let capacity = flash
            .try_borrow()
            .map_err(|_| PartitionError::Busy)?
            .capacity();
        let end = offset
            .checked_add(size)
            .ok_or(PartitionError::OutOfBounds)?;
        if end as usize > capacity {
            return Err(PartitionError::OutOfBounds);
        }
        Ok(Self {
            flash,
            offset,
            size,
        })
    }

    /// Where the window starts on the flash.
    pub fn offset(&self) -> u32 {
        self.offset
    }

    fn absolute(&self, offset: u32, len: usize) -> Result<u32, PartitionError<F::Error>> {
        let len = u32::try_from(len).map_err(|_| PartitionError::OutOfBounds)?;
        let end = offset.checked_add(len).ok_or(PartitionError::OutOfBounds)?;
        if end > self.size {
            return Err(PartitionError::OutOfBounds);
        }
        Ok(self.offset + offset)
    }
}

impl<F: NorFlash> ErrorType for Partition<'_, F> {
    type Error = PartitionError<F::Error>;
}

impl<F: NorFlash> ReadNorFlash for Partition<'_, F> {
    const READ_SIZE: usize = F::READ_SIZE;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        let at = self.absolute(offset, bytes.len())?;
        let mut flash = self
            .flash
            .try_borrow_mut()
            .map_err(|_| PartitionError::Busy)?;
        flash.read(at, bytes).map_err(PartitionError::Flash)
    }

    fn capacity(&self) -> usize {
        self.size as usize
    }
}

impl<F: NorFlash> NorFlash for Partition<'_, F> {
    const WRITE_SIZE: usize = F::WRITE_SIZE;
    const ERASE_SIZE: usize = F::ERASE_SIZE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        let len = to.checked_sub(from).ok_or(PartitionError::OutOfBounds)?;
        let at = self.absolute(from, len as usize)?;
        if !from.is_multiple_of(F::ERASE_SIZE as u32) || len % F::ERASE_SIZE as u32 != 0 {
            return Err(PartitionError::NotAligned);
        }
        let mut flash = self
            .flash
            .try_borrow_mut()
            .map_err(|_| PartitionError::Busy)?;
        flash.erase(at, at + len).map_err(PartitionError::Flash)
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        let at = self.absolute(offset, bytes.len())?;
        if !(offset as usize).is_multiple_of(F::WRITE_SIZE)
            || !bytes.len().is_multiple_of(F::WRITE_SIZE)
        {
            return Err(PartitionError::NotAligned);
        }
        let mut flash = self
            .flash
            .try_borrow_mut()
            .map_err(|_| PartitionError::Busy)?;
        flash.write(at, bytes).map_err(PartitionError::Flash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flash::MemFlash;

    type Mem = MemFlash<[u8; 512], 64, 4>;

    fn shared() -> RefCell<Mem> {
        let mut m = MemFlash::new([0u8; 512]);
        m.erase_all();
        RefCell::new(m)
    }

    #[test]
    fn construction_checks_alignment_and_bounds() {
        let f = shared();
        assert!(matches!(
            Partition::new(&f, 32, 64),
            Err(PartitionError::NotAligned)
        ));
        assert!(matches!(
            Partition::new(&f, 0, 100),
            Err(PartitionError::NotAligned)
        ));
        assert!(matches!(
            Partition::new(&f, 448, 128),
            Err(PartitionError::OutOfBounds)
        ));
        assert!(matches!(
            Partition::new(&f, u32::MAX - 63, 128),
            Err(PartitionError::OutOfBounds)
        ));
        assert!(Partition::new(&f, 448, 64).is_ok());
    }

    #[test]
    fn windows_are_isolated() {
        let f = shared();
        let mut a = Partition::new(&f, 0, 128).unwrap();
        let mut b = Partition::new(&f, 128, 128).unwrap();
        a.write(0, &[1; 4]).unwrap();
        b.write(0, &[2; 4]).unwrap();
        assert_eq!(a.write(128, &[3; 4]), Err(PartitionError::OutOfBounds));
        assert_eq!(a.erase(64, 192), Err(PartitionError::OutOfBounds));
        assert_eq!(b.erase(0, 32), Err(PartitionError::NotAligned));
        assert_eq!(b.write(2, &[0; 4]), Err(PartitionError::NotAligned));
        b.erase(0, 64).unwrap();
        let mut out = [0u8; 4];
        a.read(0, &mut out).unwrap();
        assert_eq!(out, [1; 4]);
        assert_eq!(f.borrow().as_bytes()[128..132], [0xFF; 4]);
        assert_eq!(a.capacity(), 128);
    }

    #[test]
    fn busy_flash_is_an_error_not_a_panic() {
        let f = shared();
        let mut a = Partition::new(&f, 0, 64).unwrap();
        let _held = f.borrow_mut();
        assert_eq!(a.read(0, &mut [0; 4]), Err(PartitionError::Busy));
    }
}
