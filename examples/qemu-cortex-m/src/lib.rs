//! An iotadm handset on QEMU's MPS2 AN386 board (Cortex-M4F): the DM client firmware,
//! its bootloader, and the drivers they share.
//!
//! | module | owns |
//! |---|---|
//! | [`layout`] | the memory map: bootloader, emulated NOR regions, slots, RAM |
//! | [`nor`] | the emulated NOR flash part in SSRAM1 |
//! | [`uart`] | UART0 and SysTick deadlines |
//! | [`link`] | DM messages framed over the UART: the session's transport |
//! | [`stack`] | the stack's high-water mark |
//! | [`app`] | the DM client firmware: tree, session, FUMO, installer |
//!
//! The binaries are thin: `boot` (at address 0) picks a slot with the installer's boot
//! decision and jumps into it; `iotadm-qemu` and `iotadm-qemu-slot-b` are the same
//! firmware linked for slot A and slot B. See `docs/qemu.md` in the iotadm repository.
#![no_std]
#![warn(missing_docs, unreachable_pub)]

pub mod app;
pub mod layout;
pub mod link;
pub mod nor;
pub mod stack;
pub mod uart;

/// Writes a line of the firmware's log to the host's standard output over semihosting.
#[macro_export]
macro_rules! log {
    ($($arg:tt)*) => {
        cortex_m_semihosting::hprintln!("dm: {}", format_args!($($arg)*))
    };
}

/// External interrupts of the AN386 (QEMU's `num-irq`).
const INTERRUPTS: usize = 32;

extern "C" {
    fn DefaultHandler();
}

/// The device part of the vector table: none of the board's interrupts is used. Kept to
/// the board's count so the whole table (192 bytes) fits the 512-byte alignment of an
/// image in its slot (`iotadm::firmware::IMAGE_OFFSET`).
#[link_section = ".vector_table.interrupts"]
#[no_mangle]
#[used]
static __INTERRUPTS: [unsafe extern "C" fn(); INTERRUPTS] = [DefaultHandler; INTERRUPTS];

/// Prints the panic and stops QEMU with a failure status.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    cortex_m_semihosting::hprintln!("panic: {}", info);
    cortex_m_semihosting::debug::exit(cortex_m_semihosting::debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}
