//! NOR flash regions driven by C: `iotadm_flash` and its `embedded_storage` adapter.
//!
//! The core's flash users (the tree store, the installer, the FUMO record log) are generic
//! over `NorFlash`, whose write and erase sizes are compile-time constants. The library is
//! built with one geometry (`IOTADM_FFI_FLASH_WRITE_SIZE`, `IOTADM_FFI_FLASH_ERASE_SIZE`),
//! and a region may have any physical geometry that divides it: a 4 KiB library sector on
//! a part with 1 KiB sectors erases four of them at a time, and an 8-byte library write on
//! a part that programs 4 bytes at a time is two of its words. Every request is checked
//! against the region's bounds and alignment before it reaches C.

use core::ffi::{c_int, c_void};

use embedded_storage::nor_flash::{
    check_erase, check_read, check_write, ErrorType, NorFlash, NorFlashErrorKind, ReadNorFlash,
};

use crate::config::{FLASH_ERASE_SIZE, FLASH_WRITE_SIZE};
use crate::status::{IOTADM_ERR_FLASH_LAYOUT, IOTADM_ERR_INVALID_ARGUMENT};

/// One region of NOR flash, as the C side drives it.
///
/// Offsets are relative to the region's start. The region reads as it was last written;
/// an erase sets bytes to `0xFF`; a write only clears bits of erased bytes. iotadm erases
/// in whole sectors of `iotadm_build_info.flash_erase_size` bytes and writes whole units
/// of `flash_write_size` bytes at offsets aligned to them; `erase_size` and `write_size`
/// describe the part, so that a part whose geometry does not divide the library's is
/// refused when the region is handed over.
///
/// Each callback returns 0 on success and anything else on failure. They are called only
/// from within an iotadm function, on the caller's thread.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Flash {
    /// Handed back to every callback.
    pub user: *mut c_void,
    /// The region's size in bytes: a multiple of the library's erase size.
    pub size: u32,
    /// The part's write unit in bytes: divides the library's write size.
    pub write_size: u32,
    /// The part's erase sector in bytes: divides the library's erase size.
    pub erase_size: u32,
    /// Reads `len` bytes at `offset` into `buf`.
    pub read: Option<
        unsafe extern "C" fn(user: *mut c_void, offset: u32, buf: *mut u8, len: usize) -> c_int,
    >,
    /// Programs the `len` bytes of `data` at `offset` (erased before).
    pub write: Option<
        unsafe extern "C" fn(user: *mut c_void, offset: u32, data: *const u8, len: usize) -> c_int,
    >,
    /// Erases the sectors from `from` up to (not including) `to`.
    pub erase: Option<unsafe extern "C" fn(user: *mut c_void, from: u32, to: u32) -> c_int>,
}

/// An `iotadm_flash` whose callbacks and geometry have been checked.
#[derive(Debug)]
pub(crate) struct CFlash {
    user: *mut c_void,
    size: u32,
    read: unsafe extern "C" fn(*mut c_void, u32, *mut u8, usize) -> c_int,
    write: unsafe extern "C" fn(*mut c_void, u32, *const u8, usize) -> c_int,
    erase: unsafe extern "C" fn(*mut c_void, u32, u32) -> c_int,
}

impl CFlash {
    /// Checks a region: every callback present, and a geometry the library's divides.
    pub(crate) fn new(f: &Flash) -> Result<Self, c_int> {
        let (Some(read), Some(write), Some(erase)) = (f.read, f.write, f.erase) else {
            return Err(IOTADM_ERR_INVALID_ARGUMENT);
        };
        let divides = |part: u32, lib: usize| part != 0 && lib.is_multiple_of(part as usize);
        if f.size == 0
            || !(f.size as usize).is_multiple_of(FLASH_ERASE_SIZE)
            || !divides(f.write_size, FLASH_WRITE_SIZE)
            || !divides(f.erase_size, FLASH_ERASE_SIZE)
        {
            return Err(IOTADM_ERR_FLASH_LAYOUT);
        }
        Ok(CFlash {
            user: f.user,
            size: f.size,
            read,
            write,
            erase,
        })
    }

    fn result(code: c_int) -> Result<(), NorFlashErrorKind> {
        if code == 0 {
            Ok(())
        } else {
            Err(NorFlashErrorKind::Other)
        }
    }
}

impl ErrorType for CFlash {
    type Error = NorFlashErrorKind;
}

impl ReadNorFlash for CFlash {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        check_read(self, offset, bytes.len())?;
        // SAFETY: `bytes` is a valid, exclusive buffer of its length for the call; the
        // range lies inside the region (checked above).
        Self::result(unsafe { (self.read)(self.user, offset, bytes.as_mut_ptr(), bytes.len()) })
    }

    fn capacity(&self) -> usize {
        self.size as usize
    }
}

impl NorFlash for CFlash {
    const WRITE_SIZE: usize = FLASH_WRITE_SIZE;
    const ERASE_SIZE: usize = FLASH_ERASE_SIZE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        check_erase(self, from, to)?;
        // SAFETY: plain integers; the range is inside the region and sector-aligned.
        Self::result(unsafe { (self.erase)(self.user, from, to) })
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        check_write(self, offset, bytes.len())?;
        // SAFETY: `bytes` is valid for reads of its length during the call; the range is
        // inside the region and aligned to whole write units.
        Self::result(unsafe { (self.write)(self.user, offset, bytes.as_ptr(), bytes.len()) })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    //! A NOR part in a `Vec`, driven through the C callbacks, for the tests of every module.

    use super::*;
    use core::cell::{Cell, RefCell};
    use std::vec::Vec;

    /// A simulated part: erase to 0xFF, writes only clear bits, and a switch to fail. The
    /// callbacks reach it through a shared reference, so tests may look at it meanwhile.
    pub(crate) struct Part {
        pub(crate) bytes: RefCell<Vec<u8>>,
        pub(crate) fail: Cell<bool>,
        pub(crate) ops: RefCell<Vec<(char, u32, u32)>>,
    }

    fn part<'a>(user: *mut c_void) -> &'a Part {
        // SAFETY: every region made by `Part::region` hands back a pointer to a live Part.
        unsafe { &*user.cast::<Part>() }
    }

    unsafe extern "C" fn read(user: *mut c_void, offset: u32, buf: *mut u8, len: usize) -> c_int {
        let part = part(user);
        part.ops.borrow_mut().push(('r', offset, len as u32));
        let bytes = part.bytes.borrow();
        let src = &bytes[offset as usize..offset as usize + len];
        unsafe { core::ptr::copy_nonoverlapping(src.as_ptr(), buf, len) };
        -c_int::from(part.fail.get())
    }

    unsafe extern "C" fn write(
        user: *mut c_void,
        offset: u32,
        data: *const u8,
        len: usize,
    ) -> c_int {
        let part = part(user);
        part.ops.borrow_mut().push(('w', offset, len as u32));
        if part.fail.get() {
            return -1;
        }
        let data = unsafe { core::slice::from_raw_parts(data, len) };
        for (b, d) in part.bytes.borrow_mut()[offset as usize..]
            .iter_mut()
            .zip(data)
        {
            *b &= *d;
        }
        0
    }

    unsafe extern "C" fn erase(user: *mut c_void, from: u32, to: u32) -> c_int {
        let part = part(user);
        part.ops.borrow_mut().push(('e', from, to));
        if part.fail.get() {
            return -1;
        }
        part.bytes.borrow_mut()[from as usize..to as usize].fill(0xFF);
        0
    }

    impl Part {
        /// An erased part of `sectors` library sectors.
        pub(crate) fn new(sectors: usize) -> Self {
            Part {
                bytes: RefCell::new(std::vec![0xFF; sectors * FLASH_ERASE_SIZE]),
                fail: Cell::new(false),
                ops: RefCell::new(Vec::new()),
            }
        }

        /// The region as C describes it; the part must outlive its use.
        pub(crate) fn region(&self) -> Flash {
            Flash {
                user: (self as *const Part).cast_mut().cast(),
                size: self.bytes.borrow().len() as u32,
                write_size: FLASH_WRITE_SIZE as u32,
                erase_size: FLASH_ERASE_SIZE as u32,
                read: Some(read),
                write: Some(write),
                erase: Some(erase),
            }
        }
    }

    #[test]
    fn regions_are_checked_when_handed_over() {
        let part = Part::new(2);
        let good = part.region();
        assert!(CFlash::new(&good).is_ok());
        // A finer part geometry that divides the library's is fine.
        let finer = Flash {
            write_size: 1,
            erase_size: FLASH_ERASE_SIZE as u32 / 4,
            ..good
        };
        assert!(CFlash::new(&finer).is_ok());
        for bad in [
            Flash { size: 0, ..good },
            Flash {
                size: good.size + 1,
                ..good
            },
            Flash {
                write_size: FLASH_WRITE_SIZE as u32 * 2,
                ..good
            },
            Flash {
                write_size: 0,
                ..good
            },
            Flash {
                erase_size: FLASH_ERASE_SIZE as u32 * 2,
                ..good
            },
        ] {
            assert_eq!(CFlash::new(&bad).err(), Some(IOTADM_ERR_FLASH_LAYOUT));
        }
        let no_erase = Flash {
            erase: None,
            ..good
        };
        assert_eq!(
            CFlash::new(&no_erase).err(),
            Some(IOTADM_ERR_INVALID_ARGUMENT)
        );
    }

    #[test]
    fn requests_out_of_bounds_or_misaligned_never_reach_c() {
        let part = Part::new(2);
        let mut f = CFlash::new(&part.region()).unwrap();
        let (sector, word) = (FLASH_ERASE_SIZE as u32, FLASH_WRITE_SIZE as u32);
        let end = 2 * sector;
        let mut buf = [0u8; 4];
        assert_eq!(
            f.read(end - 2, &mut buf),
            Err(NorFlashErrorKind::OutOfBounds)
        );
        assert_eq!(
            f.write(1, &[0; FLASH_WRITE_SIZE]),
            Err(NorFlashErrorKind::NotAligned)
        );
        assert_eq!(f.erase(0, 1), Err(NorFlashErrorKind::NotAligned));
        assert_eq!(
            f.erase(0, end + sector),
            Err(NorFlashErrorKind::OutOfBounds)
        );
        assert!(part.ops.borrow().is_empty());
        f.write(word, &[0x5A; FLASH_WRITE_SIZE]).unwrap();
        f.read(word, &mut buf).unwrap();
        assert_eq!(buf, [0x5A; 4]);
        f.erase(0, sector).unwrap();
        f.read(word, &mut buf).unwrap();
        assert_eq!(buf, [0xFF; 4]);
        part.fail.set(true);
        assert_eq!(f.read(0, &mut buf), Err(NorFlashErrorKind::Other));
        assert_eq!(part.ops.borrow()[0], ('w', word, word));
        assert_eq!(part.ops.borrow()[2], ('e', 0, sector));
    }
}
