//! The stack's high-water mark. cortex-m-rt (feature `paint-stack`) fills the stack with
//! `0xCCCC_CCCC` at reset; whatever the program has used since no longer holds the paint.

/// The paint cortex-m-rt applies.
const PAINT: u32 = 0xCCCC_CCCC;

extern "C" {
    /// Top of the stack (it grows down from here), from the linker script.
    static _stack_start: u32;
    /// Lowest address the stack may reach: the end of the statics.
    static _stack_end: u32;
}

/// Bytes of stack used since reset, at most: from the top down to the lowest word that
/// lost its paint. (A frame that happened to store the paint value itself would be missed
/// only at its very edge.)
pub fn peak() -> usize {
    let top = core::ptr::addr_of!(_stack_start) as usize;
    let mut at = core::ptr::addr_of!(_stack_end) as usize;
    while at < top {
        // SAFETY: `at` walks whole words between the linker's two stack symbols: RAM this
        // program owns. The words below the stack pointer are only read.
        if unsafe { core::ptr::read_volatile(at as *const u32) } != PAINT {
            break;
        }
        at += 4;
    }
    top - at
}

/// Bytes the stack may grow to: everything between the statics and the top of RAM.
pub fn capacity() -> usize {
    core::ptr::addr_of!(_stack_start) as usize - core::ptr::addr_of!(_stack_end) as usize
}
