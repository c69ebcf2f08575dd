//! The firmware of `examples/qemu-cortex-m` on QEMU's MPS2 AN386 board (Cortex-M4F),
//! managed by the scripted DM server over its UART.
//!
//! The test builds the image (the bootloader, the DM client linked for slot A and for
//! slot B) with cargo, makes update packages of the slot B image with the library's
//! package builder and the image's model key, and starts a [`TestServer`] and a bridge on
//! 127.0.0.1: QEMU connects UART0 to the bridge (`-serial tcp:...`), and the bridge relays
//! each framed request to the server over HTTP ([`HttpTransport`]) and the reply back.
//!
//! * An update: the device checks in; the server replaces `./FUMO/fw/Update/PkgData` with
//!   the package as a large object and executes `Update` (202). The device installs it,
//!   resets (`SCB::sys_reset`; the emulated flash keeps its contents), the bootloader
//!   starts slot B on trial, the new image confirms itself and reports result 200 in a
//!   new session (Generic Alert 1226).
//! * A rollback: the same, with a package whose image fails its health check (a marker at
//!   the end of its payload). It never confirms; after three trial boots the bootloader
//!   goes back to slot A, and the old image reports result 410.
//! * A delta update: the same, with a detools patch (made by the test with the `detools`
//!   tool) from the factory image to the slot B image in a format 2 package. The device
//!   applies it from slot A into slot B, boots it on trial, confirms and reports 200. A
//!   patch against another base image is refused (403) and slot A keeps booting.
//! * The budgets: iotadm's share of the image's flash and static RAM, and the peak stack
//!   the guest measured, printed as `iotadm flash: N bytes, static RAM: N bytes, peak
//!   stack: N bytes` (method in `docs/qemu.md`) for the handset profile the example links,
//!   and `iotadm flash (all features): N bytes` for the same firmware linked with every
//!   feature of the library.
//!
//! Without `qemu-system-arm`, the Arm binutils or the `thumbv7em-none-eabihf` target these
//! tests fail, unless `IOTADM_ALLOW_MISSING_PEERS` is set (then they print why and pass).
//! Every wait is bounded; QEMU is killed when a test fails.

#[path = "common/peers.rs"]
mod peers;
#[path = "common/qemu.rs"]
mod rig;

use rig::{check_confirmed, check_update, fota, package, run_device, rust_images, rust_owner};
use rig::{peers_available, Share};

use iotadm_host::testserver::Cmd;

/// The last bytes of an image's payload that make its health check fail
/// (`examples/qemu-cortex-m/src/app.rs`).
const HEALTH_FAIL_MARKER: &[u8; 16] = b"iotadm-qemu:fail";
/// The service programming code the image's factory sets.
const SPC: &str = "246810";

/// The first session of an update to the Rust image: FOTA-2 first (the CDMA service
/// programming lock gates firmware updates; the server unlocks it with the SPC), then the
/// package and its `Exec`.
fn locked_fota(package: Vec<u8>, correlator: &str) -> Vec<Cmd> {
    let mut cmds = vec![
        Cmd::exec("./FUMO/fw/Update")
            .correlator("locked")
            .label("locked"),
        Cmd::exec("./CDMA/SPL/Unlock").data(SPC).label("unlock"),
        Cmd::get("./CDMA/SPL/State").label("spl-state"),
    ];
    cmds.extend(fota(package, correlator));
    cmds
}

/// The FOTA-2 part of a run: refused while locked, unlocked with the SPC.
fn check_unlocked(run: &rig::Run) {
    let t = &run.transcript;
    let ctx = run.context();
    assert_eq!(t.status("locked"), Some(425), "locked by the SPL\n{ctx}");
    assert_eq!(t.status("unlock"), Some(200), "{ctx}");
    assert_eq!(t.status("spl-state"), Some(200), "{ctx}");
    let state = t.results_for("spl-state");
    assert_eq!(state.len(), 1, "{ctx}");
    assert_eq!(state[0].data_str(), "Unlocked", "{ctx}");
}

#[test]
fn an_update_is_installed_confirmed_and_reported() {
    if !peers_available(&[]) {
        return;
    }
    let images = rust_images();
    let run = run_device(images, locked_fota(package(&images.slot_b_flat), "fota-ok"));
    check_confirmed(&run);
    check_unlocked(&run);
    check_update(&run, "fota-ok", "200", None);

    // The budgets, for the image that ran the update.
    if std::env::var_os("IOTADM_QEMU_LOG").is_some() {
        println!("{}", run.lines.join("\n"));
    }
    let profile = Share::of(&images.slot_a, rust_owner);
    profile.report(run.peak_stack());
    let all = Share::of(&rig::all_features_image(), rust_owner);
    println!("iotadm flash (all features): {} bytes", all.iotadm_flash);
    check_budgets(&profile, run.peak_stack(), &all);
    check_no_logging(&images.slot_b_flat);
}

/// The profile has no logging feature, so no log call is compiled in: no literal piece of
/// the library's log texts (one from each layer that logs; a piece is the text between
/// two placeholders, as a formatted message keeps it) is in the image flash holds.
fn check_no_logging(image: &[u8]) {
    for piece in [
        ": package 1 to ",
        "session: stopped, ",
        " refused, ",
        "codec: decode failed at byte ",
        " credentials do not verify, ",
        "transport: exchange failed",
        "installer: trial armed",
        "fumo: download complete",
    ] {
        let found = image.windows(piece.len()).any(|w| w == piece.as_bytes());
        assert!(!found, "a log text is in the image: {piece:?}");
    }
}

/// The handset profile's static RAM budget (docs/benchmarks.md, "Budgets"), met.
const STATIC_RAM_BUDGET: u64 = 16 * 1024;
/// The peak stack budget. Not met since packages are checked with Ed25519: the
/// verification alone takes 8,108 bytes of stack (docs/benchmarks.md, "Signature
/// verifiers"), on top of the session's depth where the package arrives. Held under the
/// ceiling instead, as flash is.
const STACK_BUDGET: usize = 8 * 1024;
const STACK_CEILING: usize = 15 * 1024;
/// The flash budgets: the profile in 64 KiB, every feature in 96 KiB.
const FLASH_BUDGET: u64 = 64 * 1024;
const ALL_FEATURES_FLASH_BUDGET: u64 = 96 * 1024;
/// The flash budgets are not met yet (docs/benchmarks.md says by how much). Until they
/// are, flash is held under these ceilings, a little above what was measured when they
/// were last lowered, so that it can only go down; each is lowered as flash comes off.
const FLASH_CEILING: u64 = 126 * 1024 + 512;
const ALL_FEATURES_FLASH_CEILING: u64 = 150 * 1024;

/// Flash and static RAM are deterministic for a toolchain, so they are checked exactly;
/// the stack is the most the guest saw while it ran the update.
fn check_budgets(profile: &Share, peak_stack: usize, all: &Share) {
    assert!(
        profile.iotadm_ram <= STATIC_RAM_BUDGET,
        "static RAM {} over its budget of {STATIC_RAM_BUDGET}",
        profile.iotadm_ram
    );
    assert!(
        peak_stack <= STACK_CEILING,
        "peak stack {peak_stack} over its ceiling of {STACK_CEILING}"
    );
    if peak_stack > STACK_BUDGET {
        println!(
            "peak stack {peak_stack} bytes, {} over the budget of {STACK_BUDGET}",
            peak_stack - STACK_BUDGET
        );
    }
    for (what, flash, budget, ceiling) in [
        ("profile", profile.iotadm_flash, FLASH_BUDGET, FLASH_CEILING),
        (
            "all features",
            all.iotadm_flash,
            ALL_FEATURES_FLASH_BUDGET,
            ALL_FEATURES_FLASH_CEILING,
        ),
    ] {
        assert!(
            flash <= ceiling,
            "{what}: flash {flash} over its ceiling of {ceiling}"
        );
        if flash > budget {
            println!(
                "{what}: flash {flash} bytes, {} over the budget of {budget}",
                flash - budget
            );
        }
    }
}

#[test]
fn an_update_that_is_never_confirmed_rolls_back_and_is_reported() {
    if !peers_available(&[]) {
        return;
    }
    let images = rust_images();
    let mut payload = images.slot_b_flat.clone();
    payload.extend_from_slice(HEALTH_FAIL_MARKER);
    let run = run_device(images, locked_fota(package(&payload), "fota-bad"));
    let ctx = run.context();
    run.check_lines(&[
        "boot: slot B (trial boot 1)",
        "boot: slot B (trial boot 2)",
        "boot: slot B (trial boot 3)",
        "boot: slot A (rolled back)",
        "dm: reporting result 410",
        "dm: done",
    ]);
    let failed = run
        .lines
        .iter()
        .filter(|l| *l == "dm: health check failed: not confirming")
        .count();
    assert_eq!(failed, 3, "{ctx}");
    assert!(!run.has("dm: update confirmed"), "{ctx}");
    check_unlocked(&run);
    check_update(&run, "fota-bad", "410", Some("critical"));
}

/// The factory image (slot A's flat binary) and detools' patch from it to the slot B image.
fn factory_and_patch(images: &rig::Images) -> Option<(Vec<u8>, Vec<u8>)> {
    let base = std::fs::read(&images.slot_a_flat.0).expect("the factory image");
    let patch = peers::detools_patch(&base, &images.slot_b_flat, "heatshrink")?;
    Some((base, patch))
}

#[test]
fn a_delta_update_is_applied_confirmed_and_reported() {
    if !peers_available(&[]) {
        return;
    }
    let images = rust_images();
    let Some((base, patch)) = factory_and_patch(images) else {
        return;
    };
    println!(
        "delta package: patch {} bytes for an image of {} bytes ({:.1}%)",
        patch.len(),
        images.slot_b_flat.len(),
        100.0 * patch.len() as f64 / images.slot_b_flat.len() as f64
    );
    let pkg = rig::delta_package(&base, &images.slot_b_flat, &patch);
    let run = run_device(images, locked_fota(pkg, "fota-delta"));
    check_confirmed(&run);
    check_unlocked(&run);
    check_update(&run, "fota-delta", "200", None);
}

#[test]
fn a_delta_update_for_another_base_is_refused_and_the_old_image_keeps_booting() {
    if !peers_available(&[]) {
        return;
    }
    let images = rust_images();
    let Some((mut base, _)) = factory_and_patch(images) else {
        return;
    };
    // Another build of the factory image: the patch made from it cannot apply here.
    let at = base.len() / 2;
    base[at] ^= 0x01;
    let Some(patch) = peers::detools_patch(&base, &images.slot_b_flat, "heatshrink") else {
        return;
    };
    let pkg = rig::delta_package(&base, &images.slot_b_flat, &patch);
    let run = run_device(images, locked_fota(pkg, "fota-wrong-base"));
    let ctx = run.context();
    assert!(!run.lines.iter().any(|l| l.contains("slot B")), "{ctx}");
    let alerts: Vec<_> = run.transcript.generic_alerts().collect();
    assert_eq!(alerts.len(), 1, "{ctx}");
    assert_eq!(
        alerts[0].correlator.as_deref(),
        Some("fota-wrong-base"),
        "{ctx}"
    );
    assert_eq!(alerts[0].items[0].data_str(), "403", "{ctx}");
}
