//! The bootloader: at address 0, where the CPU starts. It brings the emulated NOR part up,
//! asks the installer which slot to start (counting a trial boot, or rolling an
//! unconfirmed image back), and jumps into that slot's image.
#![no_std]
#![no_main]

use cortex_m_semihosting::{debug, hprintln};
use iotadm::firmware::{
    self, AuthKind, BootReason, DeviceIdentity, Installer, PackageVerifier, Slot,
};
use iotadm_qemu::app::{HARDWARE_ID, MODEL};
use iotadm_qemu::layout::{self, Region, IMAGE_OFFSET, RAM};
use iotadm_qemu::nor::{self, Parts};

/// The bootloader installs nothing, so it accepts no package.
struct InstallsNothing;

impl PackageVerifier for InstallsNothing {
    fn verify(&self, _kind: AuthKind, _signed: &[u8], _authenticator: &[u8]) -> bool {
        false
    }
}

fn slot_region(slot: Slot) -> Region {
    match slot {
        Slot::A => layout::SLOT_A,
        Slot::B => layout::SLOT_B,
    }
}

/// Whether the image in `slot` starts with a vector table that can run: a stack pointer
/// in RAM and a Thumb reset vector inside the slot.
fn bootable(slot: Slot) -> bool {
    let region = slot_region(slot);
    let table = region.base + IMAGE_OFFSET;
    // SAFETY: the slot lies in SSRAM1, always mapped; only read.
    let (sp, reset) = unsafe {
        (
            core::ptr::read_volatile(table as *const u32),
            core::ptr::read_volatile((table + 4) as *const u32),
        )
    };
    sp > RAM.base && sp <= RAM.end() && sp % 8 == 0 && reset & 1 == 1 && region.contains(reset)
}

fn name(slot: Slot) -> &'static str {
    match slot {
        Slot::A => "A",
        Slot::B => "B",
    }
}

fn fail(what: &str, e: firmware::Error) -> ! {
    hprintln!("boot: {}: {}", what, e);
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}

#[cortex_m_rt::entry]
fn main() -> ! {
    if nor::power_on() {
        hprintln!("boot: cold start, NOR part erased");
    }
    let Some(parts) = Parts::take() else {
        fail("flash", firmware::Error::Layout)
    };
    let Some(device) = DeviceIdentity::new(MODEL, HARDWARE_ID, 0) else {
        fail("identity", firmware::Error::Layout)
    };
    let mut installer = match Installer::new(
        parts.slot_a,
        parts.slot_b,
        parts.state,
        device,
        InstallsNothing,
        firmware::Config::default(),
    ) {
        Ok(i) => i,
        Err(e) => fail("installer", e),
    };
    let mut decision = match installer.boot_decision() {
        Ok(d) => d,
        Err(e) => fail("boot decision", e),
    };
    if !bootable(decision.slot) && matches!(decision.reason, BootReason::Trial { .. }) {
        hprintln!("boot: slot {} holds no runnable image", name(decision.slot));
        match installer.rollback() {
            Ok(slot) => decision.slot = slot,
            Err(e) => fail("rollback", e),
        }
    }
    match decision.reason {
        BootReason::Trial { attempt } => hprintln!(
            "boot: slot {} (trial boot {})",
            name(decision.slot),
            attempt
        ),
        BootReason::RolledBack => {
            hprintln!("boot: slot {} (rolled back)", name(decision.slot))
        }
        _ => hprintln!("boot: slot {}", name(decision.slot)),
    }
    if !bootable(decision.slot) {
        fail("start", firmware::Error::Layout);
    }
    let table = slot_region(decision.slot).base + IMAGE_OFFSET;
    // SAFETY: `bootable` checked the vector table; the image owns the machine from here
    // (it sets VTOR itself, and its reset handler initialises RAM).
    unsafe { cortex_m::asm::bootload(table as *const u32) }
}
