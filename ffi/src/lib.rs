//! # iotadm-ffi: iotadm for C firmware
//!
//! A static library (`libiotadm_ffi.a`) and its header, `include/iotadm.h` (generated from
//! this crate by cbindgen), through which C firmware runs the iotadm OMA DM client without
//! writing Rust. `docs/c-api.md` is the integration guide; `examples/c-host/` is a whole
//! C program using every part.
//!
//! | C | what | Rust it wraps |
//! |---|---|---|
//! | `iotadm_device_open`, `_close` | a device: the management tree on a flash region, the node handlers, FUMO, and room for one session, in storage the caller provides | `Tree::mount`, `Fumo::open` |
//! | `iotadm_node_get`, `_replace`, `_add`, `_delete` | the tree, as the device | `Tree::get`, ... with `Principal::Device` |
//! | `iotadm_apply_bootstrap`, `iotadm_accept_notification` | provisioning and package 0 | `session::apply_bootstrap`, `session::accept_notification` |
//! | `iotadm_session_run` | one session, start to end, over the C transport | `Session`, `Client::run` |
//! | `iotadm_fumo_poll`, `_confirm`, `_reject`, `_get_info`, `iotadm_boot_decide` | firmware updates | `Fumo`, `Installer::boot_decision` |
//! | `iotadm_strerror`, `iotadm_get_build_info` | names of results, the build's capacities | |
//!
//! Every function returns an `int`: `IOTADM_OK` (0), a negative `IOTADM_ERR_*`, or for
//! operations the tree refuses the positive DM status code it answers a server with (404,
//! 405, ...). The C side supplies its platform as structs of function pointers, each with
//! a `void *user` handed back on every call: flash regions, randomness and time, the user
//! interface, the transport, node handlers and the firmware downloader.
//!
//! This crate owns the C boundary only: it checks every pointer and length the C side
//! hands over, turns C callbacks into the core's traits, and maps errors to integers. It
//! has no logic of its own beyond that, holds no global state, and never allocates. Rust
//! types never appear in the header; structs that cross are `#[repr(C)]` and opaque ones
//! are only ever seen through pointers.
//!
//! Nothing unwinds across the boundary: the profiles abort on panic, and the library's
//! panic handler (feature `panic-handler`, on by default) executes an undefined
//! instruction, a HardFault on Cortex-M and `SIGILL` on a host. The core never panics on
//! any input, so reaching it means a bug.
#![no_std]
#![warn(missing_docs, unreachable_pub)]
#![deny(unsafe_op_in_unsafe_fn)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic,
        clippy::todo,
        clippy::unimplemented
    )
)]

#[cfg(test)]
extern crate std;

mod config {
    include!(concat!(env!("OUT_DIR"), "/config.rs"));
}

/// The device's schema: the standard objects and those of `IOTADM_FFI_DDF_DIRS`.
#[allow(unreachable_pub)]
mod schema {
    include!(concat!(env!("OUT_DIR"), "/schema.rs"));
}

// In the order the header presents them: results, the platform the C side supplies, the
// device, sessions, firmware updates.
mod device;
mod flash;
mod fumo;
mod handlers;
mod platform;
mod session;
mod status;
mod text;

pub use device::*;
pub use flash::*;
pub use fumo::*;
pub use handlers::*;
pub use platform::*;
pub use session::*;
pub use status::*;

/// Ends the program on a panic without unwinding: an undefined instruction traps into the
/// firmware's fault handler (HardFault on Cortex-M) or kills a host process (`SIGILL`).
#[cfg(all(feature = "panic-handler", not(test)))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    trap()
}

/// The unwinder's personality routine, which the prebuilt `core` of hosted targets (Linux,
/// macOS) refers to even when nothing unwinds. The library aborts on panic, so it is never
/// called; it exists so that a host C program links without the Rust standard library.
/// Bare-metal targets' `core` does not refer to it.
#[cfg(all(feature = "panic-handler", not(test), not(target_os = "none")))]
#[no_mangle]
extern "C" fn rust_eh_personality() {}

#[cfg(all(feature = "panic-handler", not(test)))]
fn trap() -> ! {
    // SAFETY: each instruction is architecturally undefined, so it raises the CPU's
    // undefined-instruction exception and never returns; it touches no memory.
    unsafe {
        #[cfg(any(target_arch = "arm", target_arch = "aarch64"))]
        core::arch::asm!("udf #0", options(noreturn, nomem, nostack));
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        core::arch::asm!("ud2", options(noreturn, nomem, nostack));
        #[cfg(any(target_arch = "riscv32", target_arch = "riscv64"))]
        core::arch::asm!("unimp", options(noreturn, nomem, nostack));
    }
    #[allow(unreachable_code)]
    loop {
        core::hint::spin_loop();
    }
}
