//! UART0 of the MPS2 board, an Arm CMSDK APB UART, polled; and a millisecond deadline on
//! SysTick for waiting on it.
//!
//! QEMU connects the UART to a host socket (`-serial tcp:...`) and applies back-pressure,
//! so polling loses no byte. Nothing here knows what the bytes mean.

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::SYST;

/// UART0's registers.
const BASE: usize = 0x4000_4000;
const DATA: usize = BASE;
const STATE: usize = BASE + 0x04;
const CTRL: usize = BASE + 0x08;
const BAUDDIV: usize = BASE + 0x10;

const STATE_TX_FULL: u32 = 1 << 0;
const STATE_RX_FULL: u32 = 1 << 1;
const CTRL_TX_EN: u32 = 1 << 0;
const CTRL_RX_EN: u32 = 1 << 1;

/// The board's system clock, which SysTick counts with the processor clock source.
const SYSCLK_HZ: u32 = 25_000_000;
const SYST_MAX: u32 = 0x00FF_FFFF;

fn reg_read(addr: usize) -> u32 {
    // SAFETY: `addr` is one of UART0's registers, always mapped on this board.
    unsafe { core::ptr::read_volatile(addr as *const u32) }
}

fn reg_write(addr: usize, value: u32) {
    // SAFETY: as in `reg_read`.
    unsafe { core::ptr::write_volatile(addr as *mut u32, value) }
}

/// UART0, owned.
pub struct Uart {
    timer: SYST,
}

impl core::fmt::Debug for Uart {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Uart")
    }
}

impl Uart {
    /// Enables UART0 (QEMU ignores a UART whose divider is below 16) and starts SysTick
    /// free-running for deadlines. Takes SysTick to prove nothing else uses it.
    pub fn new(mut timer: SYST) -> Self {
        reg_write(BAUDDIV, 16);
        reg_write(CTRL, CTRL_TX_EN | CTRL_RX_EN);
        timer.set_clock_source(SystClkSource::Core);
        timer.set_reload(SYST_MAX);
        timer.clear_current();
        timer.enable_counter();
        Uart { timer }
    }

    /// Sends `bytes`, waiting for room as needed.
    pub fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            while reg_read(STATE) & STATE_TX_FULL != 0 {}
            reg_write(DATA, u32::from(b));
        }
    }

    /// The next received byte, if one is waiting.
    pub fn try_read(&mut self) -> Option<u8> {
        (reg_read(STATE) & STATE_RX_FULL != 0).then(|| reg_read(DATA) as u8)
    }

    /// A deadline `ms` milliseconds from now.
    pub fn deadline(&self, ms: u32) -> Deadline {
        Deadline {
            last: SYST::get_current(),
            left: u64::from(ms) * u64::from(SYSCLK_HZ / 1000),
        }
    }

    /// The next byte, or `None` once `deadline` passes.
    pub fn read(&mut self, deadline: &mut Deadline) -> Option<u8> {
        loop {
            if let Some(b) = self.try_read() {
                return Some(b);
            }
            if deadline.expired() {
                return None;
            }
        }
    }

    /// Gives SysTick back.
    pub fn free(self) -> SYST {
        self.timer
    }
}

/// A point in time ahead, counted down on SysTick. It must be polled at least once per
/// SysTick period (0.67 s): a wait loop does.
#[derive(Debug, Clone)]
pub struct Deadline {
    last: u32,
    left: u64,
}

impl Deadline {
    /// Whether the deadline has passed.
    pub fn expired(&mut self) -> bool {
        let now = SYST::get_current();
        // SysTick counts down and wraps at its reload value.
        let elapsed = self.last.wrapping_sub(now) & SYST_MAX;
        self.last = now;
        self.left = self.left.saturating_sub(u64::from(elapsed));
        self.left == 0
    }
}
