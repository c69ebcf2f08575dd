//! The emulated NOR flash part: SSRAM1 outside every linker script, behaving as NOR does.
//!
//! QEMU models no flash on the MPS2 boards; their code memory is plain RAM. This driver
//! gives a window of it NOR semantics for `embedded-storage`: an erase sets a whole 4 KiB
//! sector to `0xFF`, and programming can only clear bits (the stored byte becomes
//! `old & new`), so a write over unerased data shows the corruption real NOR would. A
//! guest reset (`SCB::sys_reset`) keeps the contents; only the regions QEMU loaded from an
//! ELF (the bootloader, and the factory image in slot A) are reloaded.
//!
//! QEMU starts SSRAM1 zeroed, where a new NOR part is erased: [`power_on`] (run by the
//! bootloader) erases the part once per QEMU run and marks it so. The driver touches only
//! the window of its [`Nor`]; the parts of the map are handed out once, by [`Parts::take`].

use core::sync::atomic::{AtomicBool, Ordering};

use embedded_storage::nor_flash::{
    check_erase, check_read, check_write, ErrorType, NorFlash, NorFlashErrorKind, ReadNorFlash,
};

use crate::layout::{self, Region, ERASED_MARK, IMAGE_OFFSET, SECTOR, WORD};

/// The value at [`ERASED_MARK`] once the part is in its erased state.
const MARK: u32 = 0x4E4F_5246; // "NORF"

/// One region of the NOR part, addressed from 0.
#[derive(Debug)]
pub struct Nor {
    region: Region,
}

/// Every region of the part, each handed out once.
#[derive(Debug)]
pub struct Parts {
    /// The installer's state log.
    pub state: Nor,
    /// The FUMO record log.
    pub fumo: Nor,
    /// The management tree's store.
    pub tree: Nor,
    /// The CDMA service programming lock's log.
    pub lock: Nor,
    /// The CDMA roaming lists.
    pub prl: Nor,
    /// Firmware slot A.
    pub slot_a: Nor,
    /// Firmware slot B.
    pub slot_b: Nor,
}

static TAKEN: AtomicBool = AtomicBool::new(false);

impl Parts {
    /// The regions, the first time only: each region has one owner.
    pub fn take() -> Option<Parts> {
        if TAKEN.swap(true, Ordering::AcqRel) {
            return None;
        }
        Some(Parts {
            state: Nor::new(layout::STATE),
            fumo: Nor::new(layout::FUMO),
            tree: Nor::new(layout::TREE),
            lock: Nor::new(layout::LOCK),
            prl: Nor::new(layout::PRL),
            slot_a: Nor::new(layout::SLOT_A),
            slot_b: Nor::new(layout::SLOT_B),
        })
    }
}

impl Nor {
    const fn new(region: Region) -> Self {
        Nor { region }
    }

    /// The region's first address.
    pub fn base(&self) -> u32 {
        self.region.base
    }

    fn addr(&self, offset: u32) -> usize {
        (self.region.base + offset) as usize
    }
}

impl ErrorType for Nor {
    type Error = NorFlashErrorKind;
}

impl ReadNorFlash for Nor {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        check_read(self, offset, bytes.len())?;
        let from = self.addr(offset);
        for (i, b) in bytes.iter_mut().enumerate() {
            // SAFETY: `check_read` kept the range inside this region, which belongs to this
            // `Nor` alone (`Parts::take`) and lies in SSRAM1 outside anything linked.
            *b = unsafe { core::ptr::read_volatile((from + i) as *const u8) };
        }
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.region.len as usize
    }
}

impl NorFlash for Nor {
    const WRITE_SIZE: usize = WORD as usize;
    const ERASE_SIZE: usize = SECTOR as usize;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        check_erase(self, from, to)?;
        // SAFETY: as in `read`; the range is whole words of this region.
        unsafe { fill(self.addr(from), (to - from) as usize) };
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        check_write(self, offset, bytes.len())?;
        let to = self.addr(offset);
        for (i, b) in bytes.iter().enumerate() {
            let p = (to + i) as *mut u8;
            // SAFETY: as in `read`. Programming clears bits and never sets one.
            unsafe { core::ptr::write_volatile(p, core::ptr::read_volatile(p) & *b) };
        }
        Ok(())
    }
}

/// Sets `len` bytes (whole words) from `addr` to `0xFF`.
///
/// # Safety
///
/// The range must be memory no program uses for anything else.
unsafe fn fill(addr: usize, len: usize) {
    for w in (addr..addr + len).step_by(WORD as usize) {
        unsafe { core::ptr::write_volatile(w as *mut u32, u32::MAX) };
    }
}

/// Brings the part to the state a new NOR part ships in, once per QEMU run: every region
/// erased, except the image QEMU loaded into slot A (the factory programming). Returns
/// whether it did (a cold start) or found it done (a reset since).
///
/// Call it before anything reads the part, while nothing else runs.
pub fn power_on() -> bool {
    // SAFETY: the mark and the regions lie in SSRAM1 outside every linker script; only
    // the bootloader calls this, before handing any region out.
    unsafe {
        if core::ptr::read_volatile(ERASED_MARK as *const u32) == MARK {
            return false;
        }
        for r in [
            layout::STATE,
            layout::FUMO,
            layout::TREE,
            layout::LOCK,
            layout::PRL,
            layout::SLOT_B,
        ] {
            fill(r.base as usize, r.len as usize);
        }
        // Slot A's header area: the factory image has no package header.
        fill(layout::SLOT_A.base as usize, IMAGE_OFFSET as usize);
        core::ptr::write_volatile(ERASED_MARK as *mut u32, MARK);
    }
    true
}
