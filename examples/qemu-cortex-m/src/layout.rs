//! The memory map on the MPS2 AN386 board. `build.rs` compiles this same file to write the
//! linker scripts, so the programs and their links agree on every address.
//!
//! SSRAM1 (4 MiB at 0, the board's code memory) holds the bootloader and, left out of
//! every linker script, the emulated NOR part: the installer's state, the FUMO record, the
//! tree store, the CDMA lock and roaming lists, and the two firmware slots. SSRAM2 (at `0x2000_0000`) is RAM.

/// A range of the address space: `len` bytes from `base`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// First address.
    pub base: u32,
    /// Length in bytes.
    pub len: u32,
}

impl Region {
    /// One past the last address.
    pub const fn end(&self) -> u32 {
        self.base + self.len
    }

    /// Whether `addr` lies in the region.
    pub const fn contains(&self, addr: u32) -> bool {
        addr >= self.base && addr < self.end()
    }
}

/// Erase sector of the emulated NOR part.
pub const SECTOR: u32 = 4096;

/// Program word of the emulated NOR part.
pub const WORD: u32 = 4;

/// Where a slot's executable image starts: after the update package header, as
/// `iotadm::firmware::IMAGE_OFFSET` lays a slot out.
pub const IMAGE_OFFSET: u32 = 512;

/// The bootloader: the vector table the CPU starts from at reset.
pub const BOOT: Region = Region {
    base: 0x0000_0000,
    len: 0x0001_0000,
};

/// The installer's state log (two sectors).
pub const STATE: Region = Region {
    base: 0x0001_0000,
    len: 2 * SECTOR,
};

/// The FUMO record log (two sectors).
pub const FUMO: Region = Region {
    base: 0x0001_2000,
    len: 2 * SECTOR,
};

/// The management tree's store (two banks of two sectors).
pub const TREE: Region = Region {
    base: 0x0001_4000,
    len: 4 * SECTOR,
};

/// The CDMA service programming lock's log (two banks of one sector).
pub const LOCK: Region = Region {
    base: 0x0001_8000,
    len: 2 * SECTOR,
};

/// The CDMA roaming lists: one NAM's PRL and extended PRL, two slots each.
pub const PRL: Region = Region {
    base: 0x0001_A000,
    len: 0x0000_6000,
};

/// Firmware slot A: the factory image.
pub const SLOT_A: Region = Region {
    base: 0x0002_0000,
    len: 0x0006_0000,
};

/// Firmware slot B.
pub const SLOT_B: Region = Region {
    base: 0x0008_0000,
    len: 0x0006_0000,
};

/// The whole emulated NOR part: state, FUMO, tree, CDMA and both slots.
pub const NOR: Region = Region {
    base: STATE.base,
    len: SLOT_B.base + SLOT_B.len - STATE.base,
};

/// A word outside the NOR part that says the part has been brought to its erased state
/// (see `nor::power_on`). The end of SSRAM1, which nothing loads or links.
pub const ERASED_MARK: u32 = 0x003F_FFF0;

/// RAM of each program (SSRAM2, from its start): statics and the stack.
pub const RAM: Region = Region {
    base: 0x2000_0000,
    len: 0x0004_0000,
};
