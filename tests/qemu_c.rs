//! The C firmware of `examples/c-firmware` on QEMU's MPS2 AN386 board (Cortex-M4F): the
//! DM client written in C against `ffi/include/iotadm.h` alone, linked with the static
//! library built for `thumbv7em-none-eabihf`, managed by the scripted DM server over its
//! UART.
//!
//! The test builds the C image for slot A and for slot B with its Makefile
//! (`arm-none-eabi-gcc`), and the Rust image's bootloader, which starts the C image as it
//! starts the Rust one. Then the same update as `tests/qemu.rs`: the device bootstraps
//! and checks in; the server replaces `./FUMO/fw/Update/PkgData` with the package as a
//! large object and executes `Update` (202); the device installs it and resets, the
//! bootloader starts slot B on trial, and the new image confirms itself and reports result
//! 200 in a new session. The C interface has no CDMA object, so nothing gates the update.
//!
//! It prints the C image's flash and static RAM, whole and iotadm's share, and its peak
//! stack (method in `docs/qemu.md`).
//!
//! Without `qemu-system-arm`, the Arm binutils and C compiler, `make` or the
//! `thumbv7em-none-eabihf` target the test fails, unless `IOTADM_ALLOW_MISSING_PEERS` is
//! set (then it prints why and passes).

#[path = "common/qemu.rs"]
mod rig;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use rig::{check_confirmed, check_update, flat_binary, fota, package_hmac, peers_available};
use rig::{crate_of, run_bounded, run_device, rust_images, symbols, Images, Owner, Share};
use rig::{Symbol, BUILD_TIMEOUT, IOTADM_CRATES};

/// The C image's vector table (`examples/c-firmware/startup.c`).
const VECTOR_TABLE: &str = "vector_table";
/// The static the C firmware hands the library all its memory in: the device's storage and
/// the session buffers (`examples/c-firmware/main.c`).
const LIBRARY_MEMORY: &str = "dm_memory";

fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/c-firmware")
}

/// Builds the C image for both slots (and the static library under it) with make.
fn build_c_images() -> Images {
    let dir = example_dir();
    let mut cmd = Command::new("make");
    cmd.current_dir(&dir)
        .arg("--quiet")
        // The library has its own target and flags; flags meant for the host build must
        // not reach it.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET_DIR");
    if let Some(cargo) = std::env::var_os("CARGO") {
        cmd.env("CARGO", cargo);
    }
    match run_bounded(cmd, BUILD_TIMEOUT) {
        Ok((status, _)) if status.success() => {}
        Ok((status, output)) => panic!("building the C image failed ({status}):\n{output}"),
        Err(e) => panic!("building the C image failed: {e}"),
    }
    let out = dir.join("build");
    let slot_a = out.join("iotadm-c-slot-a.elf");
    let (bytes, base) = flat_binary(&slot_a, VECTOR_TABLE);
    let flat = out.join("iotadm-c-slot-a.bin");
    std::fs::write(&flat, bytes).expect("write the flat image");
    let (slot_b_flat, _) = flat_binary(&out.join("iotadm-c-slot-b.elf"), VECTOR_TABLE);
    Images {
        // The Rust image's bootloader starts whatever image its slot holds.
        boot: rust_images().boot.clone(),
        slot_a,
        slot_a_flat: (flat, base),
        slot_b_flat,
    }
}

/// The symbols the C firmware's own objects define (slot A's build).
fn firmware_symbols() -> HashSet<String> {
    let objects = example_dir().join("build/a");
    let mut names = HashSet::new();
    for entry in std::fs::read_dir(&objects).expect("the C objects") {
        let path = entry.expect("a C object").path();
        if path.extension().is_some_and(|e| e == "o") {
            names.extend(symbols(&path).into_iter().map(|s| s.name));
        }
    }
    names
}

/// The owner of a symbol of the C image: the library's code (the C interface, iotadm and
/// the crates only it brings in) and the memory it is given are iotadm's; what the C
/// objects define is the board's; the rest (`core`, the compiler's runtime, libgcc) is
/// the runtime's.
fn c_owner(firmware: &HashSet<String>) -> impl Fn(&Symbol) -> Owner + '_ {
    move |sym| {
        if sym.name == LIBRARY_MEMORY
            || sym.name.starts_with("iotadm_")
            || IOTADM_CRATES.contains(&crate_of(&sym.name))
            || sym.name.contains("iotadm::")
        {
            Owner::Iotadm
        } else if firmware.contains(&sym.name) {
            Owner::Board
        } else {
            Owner::Runtime
        }
    }
}

#[test]
fn the_c_firmware_installs_confirms_and_reports_an_update() {
    let tools = [
        (
            "arm-none-eabi-gcc",
            "the Arm C compiler (apt-get install gcc-arm-none-eabi)",
        ),
        ("make", "make (apt-get install make)"),
    ];
    if !peers_available(&tools) {
        return;
    }
    let images = build_c_images();
    let run = run_device(&images, fota(package_hmac(&images.slot_b_flat), "fota-c"));
    check_confirmed(&run);
    check_update(&run, "fota-c", "200", None);
    let ctx = run.context();
    assert!(
        run.lines
            .iter()
            .any(|l| l.starts_with("dm: bootstrapped: ")),
        "the factory bootstrap came over the link\n{ctx}"
    );

    // The budgets, for the image that ran the update: the device's storage is part of the
    // static RAM given to the library.
    let storage = run
        .lines
        .iter()
        .find(|l| l.starts_with("dm: device storage: "))
        .expect("the guest printed the device's size");
    println!("{}", storage.trim_start_matches("dm: "));
    let firmware = firmware_symbols();
    assert!(firmware.contains("main"), "{firmware:?}");
    Share::of(&images.slot_a, c_owner(&firmware)).report(run.peak_stack());
}
