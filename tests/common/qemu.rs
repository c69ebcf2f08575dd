//! What the QEMU image tests share (`tests/qemu.rs` for the Rust image, `tests/qemu_c.rs`
//! for the C one): finding the tools, building the Rust image (whose bootloader both
//! run under), measuring an ELF with the Arm binutils, update packages, the UART bridge
//! to the test server, QEMU itself, and the checks on a device's life.
//!
//! Both images speak the framing of `examples/qemu-cortex-m/src/link.rs` (docs/qemu.md)
//! over UART0, use the same emulated NOR map and the same model, hardware id and package
//! key, so one bridge, one server script and one set of assertions serve both.
#![allow(dead_code)]

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use iotadm::auth::AuthScheme;
use iotadm::codec::Encoding;
use iotadm::firmware::PackageBuilder;
use iotadm::transport::{Request, Transport};
use iotadm_host::sim::{AccountSpec, CredSpec};
use iotadm_host::testserver::{
    Account, Cmd, Script, ServerOptions, SessionState, TestServer, Transcript, Value,
};
use iotadm_host::{HttpError, HttpTransport};

// What both images are built with (`examples/qemu-cortex-m/src/app.rs`,
// `examples/c-firmware/main.c`). A package that does not match is refused by the device,
// and the test fails.
pub const MODEL: &str = "iotadm-qemu";
pub const HARDWARE_ID: &str = "mps2-an386";
/// The C image's package key (HMAC-SHA256: the C interface takes an HMAC key).
pub const PACKAGE_KEY: &[u8] = b"iotadm-qemu example package key";
/// The seed of the Ed25519 key the Rust image's packages are signed with; the image holds
/// the public half (`PACKAGE_PUBLIC_KEY`).
pub const PACKAGE_SIGNING_SEED: [u8; 32] = *b"iotadm-qemu example signing key!";
pub const DEV_ID: &str = "MEID:A0000049015420";

pub const SERVER_ID: &str = "dm.iotadm.example";
pub const CLIENT_NAME: &str = "meid-a0000049015420";
pub const CLIENT_SECRET: &str = "client-secret-7f3a";
pub const SERVER_SECRET: &str = "server-secret-c21e";

/// 4 KiB messages both ways.
pub const MSG: usize = 4096;

pub const BUILD_TIMEOUT: Duration = Duration::from_secs(900);
pub const RUN_TIMEOUT: Duration = Duration::from_secs(120);

pub const ALERT_UPDATE: &str = "org.openmobilealliance.dm.firmwareupdate.update";

// ---- tools ------------------------------------------------------------------------------

pub fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/qemu-cortex-m")
}

pub fn works(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

pub fn rust_target_installed() -> bool {
    Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .is_some_and(|root| root.join("lib/rustlib/thumbv7em-none-eabihf").is_dir())
}

/// Whether everything the tests need is here, with the `extra` programs (each run with
/// `--version`, and what to install for it); explains what is missing.
pub fn peers_available(extra: &[(&str, &str)]) -> bool {
    let mut missing = Vec::new();
    for &(program, hint) in extra {
        if !works(program, &["--version"]) {
            missing.push(hint);
        }
    }
    if !works("qemu-system-arm", &["--version"]) {
        missing.push("qemu-system-arm (apt-get install qemu-system-arm)");
    }
    for tool in [
        "arm-none-eabi-nm",
        "arm-none-eabi-objcopy",
        "arm-none-eabi-size",
    ] {
        if !works(tool, &["--version"]) {
            missing.push("the Arm binutils (apt-get install binutils-arm-none-eabi)");
            break;
        }
    }
    if !rust_target_installed() {
        missing.push("the thumbv7em-none-eabihf target (rustup target add thumbv7em-none-eabihf)");
    }
    if missing.is_empty() {
        return true;
    }
    let what = missing.join(", ");
    if std::env::var_os("IOTADM_ALLOW_MISSING_PEERS").is_none() {
        panic!(
            "the QEMU image tests need {what} (./scripts/test.sh installs them; set \
             IOTADM_ALLOW_MISSING_PEERS=1 to run without them)"
        );
    }
    eprintln!("skipped (IOTADM_ALLOW_MISSING_PEERS is set): the QEMU image tests need {what}");
    false
}

/// Runs `cmd` to its end within `timeout`: its status and output (stdout, stderr).
pub fn run_bounded(mut cmd: Command, timeout: Duration) -> Result<(ExitStatus, String), String> {
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{what}: {e}"))?;
    let collect = |r: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut s = String::new();
            if let Some(mut r) = r {
                let _ = r.read_to_string(&mut s);
            }
            s
        })
    };
    let out = collect(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let err = collect(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{what}: still running after {timeout:?}; killed"));
        }
        thread::sleep(Duration::from_millis(50));
    };
    let text = format!(
        "{}{}",
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default()
    );
    Ok((status, text))
}

/// The programs of an image: the bootloader, and the DM client for each slot.
#[derive(Debug, Clone)]
pub struct Images {
    /// The bootloader's ELF, which QEMU loads with `-kernel`.
    pub boot: PathBuf,
    /// The DM client linked for slot A (the factory image).
    pub slot_a: PathBuf,
    /// Slot A's image as flash holds it, and the address QEMU loads it at: the factory
    /// programming of the part.
    pub slot_a_flat: (PathBuf, u32),
    /// The DM client linked for slot B, as the flat image an update package carries.
    pub slot_b_flat: Vec<u8>,
}

/// The Rust image (`examples/qemu-cortex-m`), built once for all tests.
pub fn rust_images() -> &'static Images {
    static IMAGES: OnceLock<Result<Images, String>> = OnceLock::new();
    match IMAGES.get_or_init(build_rust_images) {
        Ok(images) => images,
        Err(e) => panic!("building the image failed:\n{e}"),
    }
}

/// Builds the example's programs with `args` added to `cargo build --release`.
fn build_example(args: &[&str]) -> Result<(), String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(example_dir())
        .args(["build", "--release"])
        .args(args)
        // The image has its own target and flags (its .cargo/config.toml); flags meant for
        // the host build must not reach it.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET_DIR");
    let (status, output) = run_bounded(cmd, BUILD_TIMEOUT)?;
    if status.success() {
        Ok(())
    } else {
        Err(output)
    }
}

/// The example's DM client linked with every feature of iotadm (its default) rather than
/// the handset profile the example names: the image the all-features budget is about.
/// Built in a target directory of its own, so the profile's images stay as they are.
pub fn all_features_image() -> PathBuf {
    build_example(&[
        "--bin",
        "iotadm-qemu",
        "--features",
        "all-features",
        "--target-dir",
        "target/all-features",
    ])
    .unwrap_or_else(|e| panic!("building the all-features image failed:\n{e}"));
    example_dir().join("target/all-features/thumbv7em-none-eabihf/release/iotadm-qemu")
}

fn build_rust_images() -> Result<Images, String> {
    let dir = example_dir();
    build_example(&["--bins"])?;
    let out = dir.join("target/thumbv7em-none-eabihf/release");
    let slot_a = out.join("iotadm-qemu");
    // Loaded raw rather than as an ELF: QEMU would also load the image's zero-filled RAM
    // segments, which overlap the bootloader's.
    let (bytes, base) = flat_binary(&slot_a, RUST_VECTOR_TABLE);
    let flat = out.join("iotadm-qemu.bin");
    std::fs::write(&flat, bytes).map_err(|e| format!("{}: {e}", flat.display()))?;
    let (slot_b_flat, _) = flat_binary(&out.join("iotadm-qemu-slot-b"), RUST_VECTOR_TABLE);
    Ok(Images {
        boot: out.join("boot"),
        slot_a,
        slot_a_flat: (flat, base),
        slot_b_flat,
    })
}

/// The vector table's symbol in the Rust image (cortex-m-rt's).
const RUST_VECTOR_TABLE: &str = "__vector_table";

/// A program as the flat binary flash holds (what `objcopy -O binary` gives), and the
/// address it starts at: its vector table, the symbol `table`.
pub fn flat_binary(elf: &Path, table: &str) -> (Vec<u8>, u32) {
    let bin = std::env::temp_dir().join(format!(
        "iotadm-qemu-{}-{}.bin",
        elf.file_name().and_then(|n| n.to_str()).unwrap_or("image"),
        std::process::id()
    ));
    let status = Command::new("arm-none-eabi-objcopy")
        .args(["-O", "binary"])
        .arg(elf)
        .arg(&bin)
        .status()
        .expect("run arm-none-eabi-objcopy");
    assert!(status.success(), "objcopy failed");
    let bytes = std::fs::read(&bin).expect("read the flat image");
    let _ = std::fs::remove_file(&bin);
    let base = symbols(elf)
        .into_iter()
        .find(|s| s.name == table)
        .map(|s| s.addr)
        .expect("the image has a vector table");
    (bytes, base)
}

/// A defined symbol of an ELF, as `arm-none-eabi-nm -S -C` lists it.
#[derive(Debug, Clone)]
pub struct Symbol {
    pub addr: u32,
    pub size: u32,
    /// nm's type letter: `t`/`T` code, `r`/`R` read-only data, `b`/`B`, `d`/`D` RAM.
    pub kind: char,
    pub name: String,
}

pub fn symbols(elf: &Path) -> Vec<Symbol> {
    let out = Command::new("arm-none-eabi-nm")
        .args(["-S", "-C", "--defined-only"])
        .arg(elf)
        .output()
        .expect("run arm-none-eabi-nm");
    assert!(out.status.success(), "nm failed on {}", elf.display());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let mut f = line.splitn(4, ' ');
            let addr = u32::from_str_radix(f.next()?, 16).ok()?;
            let second = f.next()?;
            // Symbols without a size have three fields.
            let (size, kind, name) = match u32::from_str_radix(second, 16) {
                Ok(size) if second.len() == 8 => {
                    (size, f.next()?.chars().next()?, f.next()?.to_string())
                }
                _ => {
                    let rest: Vec<&str> = f.collect();
                    (0, second.chars().next()?, rest.join(" "))
                }
            };
            Some(Symbol {
                addr,
                size,
                kind,
                name,
            })
        })
        .collect()
}

/// An ELF's sections and their sizes, as `arm-none-eabi-size -A` lists them.
pub fn sections(elf: &Path) -> Vec<(String, u64)> {
    let out = Command::new("arm-none-eabi-size")
        .arg("-A")
        .arg(elf)
        .output()
        .expect("run arm-none-eabi-size");
    assert!(out.status.success(), "size failed on {}", elf.display());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let name = f.next()?.to_string();
            let size = f.next()?.parse().ok()?;
            Some((name, size))
        })
        .collect()
}

/// Crates linked only because iotadm uses them: their code counts as iotadm's.
pub const IOTADM_CRATES: &[&str] = &[
    "iotadm",
    "iotadm_ffi",
    "base64",
    "block_buffer",
    "crc",
    "crc_catalog",
    "crypto_common",
    "digest",
    "embedded_storage",
    "heapless",
    "hmac",
    "hybrid_array",
    "md5",
    "memchr",
    "nom",
    "postcard",
    "serde",
    "sha1",
    "sha2",
    "subtle",
];

/// The Rust firmware around the library: drivers, runtime start-up, semihosting.
pub const BOARD_CRATES: &[&str] = &[
    "iotadm_qemu",
    "cortex_m",
    "cortex_m_rt",
    "cortex_m_semihosting",
    "critical_section",
];

/// The module of the image that drives iotadm (tree, session, FUMO, CDMA wiring). LTO
/// inlines library code into its functions, so they count as iotadm's: an upper bound.
pub const GLUE: &str = "iotadm_qemu::app::";

/// The crate a demangled symbol's code belongs to: the first path segment, or for
/// `<T as Trait>::f` the type's crate (the trait's when the type is a generic parameter
/// or a primitive).
pub fn crate_of(name: &str) -> &str {
    let first = |path: &str| -> String {
        path.trim_start_matches(['&', '*', '[', '(', '<'])
            .trim_start_matches("mut ")
            .trim_start_matches("const ")
            .split("::")
            .next()
            .unwrap_or("")
            .to_string()
    };
    let Some(inner) = name.strip_prefix('<') else {
        return name.split("::").next().unwrap_or("");
    };
    let (ty, tr) = match inner.split_once(" as ") {
        Some((ty, tr)) => (ty, Some(tr)),
        None => (inner, None),
    };
    let ty_crate = first(ty);
    let known = |c: &str| IOTADM_CRATES.contains(&c) || BOARD_CRATES.contains(&c) || c == "core";
    let pick = if known(&ty_crate) {
        ty_crate
    } else {
        tr.map(first).unwrap_or(ty_crate)
    };
    // Borrow from `name` so the caller gets a `&str` of the right lifetime.
    IOTADM_CRATES
        .iter()
        .chain(BOARD_CRATES)
        .chain(["core", "compiler_builtins"].iter())
        .find(|c| **c == pick)
        .copied()
        .unwrap_or("")
}

/// Who a symbol's bytes are counted for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// The library, with what only it brings in and the memory it is given.
    Iotadm,
    /// The firmware around it: drivers, start-up, vector table.
    Board,
    /// `core`, the compiler's runtime, and whatever is neither's.
    Runtime,
}

/// The owner of a symbol of the Rust image (see docs/qemu.md): iotadm's crates, the
/// glue module, and generics that name an iotadm type; the board's crates and the
/// runtime's start-up symbols.
pub fn rust_owner(sym: &Symbol) -> Owner {
    let krate = crate_of(&sym.name);
    if IOTADM_CRATES.contains(&krate)
        || sym.name.starts_with(GLUE)
        || (!BOARD_CRATES.contains(&krate) && sym.name.contains("iotadm::"))
    {
        Owner::Iotadm
    } else if BOARD_CRATES.contains(&krate)
        || sym.name.starts_with("__")
        || matches!(
            sym.name.as_str(),
            "Reset" | "DefaultHandler" | "HardFault" | "main"
        )
    {
        Owner::Board
    } else {
        Owner::Runtime
    }
}

/// An image's flash (code and read-only data) and static RAM, split by owner with
/// `arm-none-eabi-nm -S` (see docs/qemu.md).
#[derive(Debug, Default)]
pub struct Share {
    pub image_flash: u64,
    pub image_ram: u64,
    pub iotadm_flash: u64,
    pub iotadm_ram: u64,
    pub runtime_flash: u64,
    pub board_flash: u64,
}

impl Share {
    /// Measures `elf`, each symbol counted for the owner `owner` names.
    pub fn of(elf: &Path, owner: impl Fn(&Symbol) -> Owner) -> Share {
        let mut share = Share::default();
        for sym in symbols(elf) {
            let size = u64::from(sym.size);
            let flash = matches!(sym.kind.to_ascii_lowercase(), 't' | 'r');
            let ram = matches!(sym.kind.to_ascii_lowercase(), 'b' | 'd');
            if !flash && !ram {
                continue;
            }
            match (owner(&sym), flash) {
                (Owner::Iotadm, true) => share.iotadm_flash += size,
                (Owner::Board, true) => share.board_flash += size,
                (Owner::Runtime, true) => share.runtime_flash += size,
                (Owner::Iotadm, false) => share.iotadm_ram += size,
                _ => {}
            }
        }
        // The totals come from the sections: constants the compiler merged have no symbol
        // and count as runtime.
        for (section, size) in sections(elf) {
            match section.as_str() {
                ".vector_table" | ".text" | ".rodata" => share.image_flash += size,
                ".data" => {
                    share.image_flash += size;
                    share.image_ram += size;
                }
                ".bss" | ".uninit" => share.image_ram += size,
                _ => {}
            }
        }
        share.runtime_flash = share.image_flash - share.iotadm_flash - share.board_flash;
        share
    }

    /// Prints the figures (the lines docs/qemu.md describes) and checks they add up.
    pub fn report(&self, peak_stack: usize) {
        assert!(self.iotadm_flash > 0 && self.iotadm_ram > 0, "{self:?}");
        assert!(self.iotadm_flash < self.image_flash, "{self:?}");
        assert!(peak_stack > 0, "the guest measured its stack");
        println!(
            "iotadm flash: {} bytes, static RAM: {} bytes, peak stack: {} bytes",
            self.iotadm_flash, self.iotadm_ram, peak_stack
        );
        println!(
            "image flash: {} bytes (iotadm {}, core, compiler runtime and unnamed constants {}, \
             board {}), static RAM: {} bytes",
            self.image_flash,
            self.iotadm_flash,
            self.runtime_flash,
            self.board_flash,
            self.image_ram
        );
    }
}

/// The WBXML form of an XML message: what a handset without the XML codec (the profile
/// of the examples) reads.
fn wbxml(xml: &str) -> Vec<u8> {
    let msg = iotadm::codec::parse(xml.as_bytes()).expect("the bootstrap document decodes");
    let mut buf = vec![0u8; 2 * xml.len()];
    let n = msg
        .encode(Encoding::Wbxml, &mut buf)
        .expect("the bootstrap document encodes");
    buf.truncate(n);
    buf
}

fn to_version_2() -> PackageBuilder<'static> {
    PackageBuilder::new(MODEL, HARDWARE_ID)
        .from_versions(1, 1)
        .to_version(2, "2.0.0")
}

fn signing_key() -> iotadm_host::package::SigningKey {
    iotadm_host::package::SigningKey::Ed25519(ed25519_dalek::SigningKey::from_bytes(
        &PACKAGE_SIGNING_SEED,
    ))
}

/// An update package to version 2 of the slot B image, for devices running version 1,
/// signed with the Rust image's Ed25519 key.
pub fn package(payload: &[u8]) -> Vec<u8> {
    iotadm_host::package::build_with_key(&to_version_2(), payload, &signing_key())
        .expect("build the package")
}

/// [`package`] for the C image, authenticated with its HMAC key.
pub fn package_hmac(payload: &[u8]) -> Vec<u8> {
    iotadm_host::package::build_hmac(&to_version_2(), payload, PACKAGE_KEY)
        .expect("build the package")
}

/// A delta package to version 2: `patch` turns `base` (the image the device runs) into
/// `target`. Signed as [`package`] is.
pub fn delta_package(base: &[u8], target: &[u8], patch: &[u8]) -> Vec<u8> {
    use iotadm::firmware::package::ImageDigest;
    let builder = to_version_2().delta(
        ImageDigest::of(base).expect("base"),
        ImageDigest::of(target).expect("target"),
    );
    iotadm_host::package::build_with_key(&builder, patch, &signing_key())
        .expect("build the package")
}

// ---- the UART framing (examples/qemu-cortex-m/src/link.rs, docs/qemu.md) ----------------

const SYNC: [u8; 2] = *b"IQ";
const KIND_EXCHANGE: u8 = 0x01;
const KIND_BOOTSTRAP: u8 = 0x02;
const KIND_REPLY: u8 = 0x81;
const KIND_DOCUMENT: u8 = 0x82;
const KIND_FAILURE: u8 = 0xE1;
const NO_HMAC: u16 = 0xFFFF;
const MAX_FRAME: u32 = 1 << 20;

const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

fn read_frame(r: &mut impl Read) -> io::Result<Option<(u8, Vec<u8>)>> {
    let mut prev = None;
    loop {
        let mut b = [0u8; 1];
        if r.read(&mut b)? == 0 {
            return Ok(None);
        }
        if prev == Some(SYNC[0]) && b[0] == SYNC[1] {
            break;
        }
        prev = Some(b[0]);
    }
    let mut head = [0u8; 5];
    r.read_exact(&mut head)?;
    let len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]);
    if len > MAX_FRAME {
        return Err(io::Error::other(format!("frame of {len} bytes")));
    }
    let mut payload = vec![0u8; len as usize];
    r.read_exact(&mut payload)?;
    let mut crc = [0u8; 4];
    r.read_exact(&mut crc)?;
    let mut digest = CRC.digest();
    digest.update(&head);
    digest.update(&payload);
    if digest.finalize() != u32::from_le_bytes(crc) {
        return Err(io::Error::other("frame failed its CRC"));
    }
    Ok(Some((head[0], payload)))
}

fn write_frame(w: &mut impl Write, kind: u8, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len()).map_err(io::Error::other)?;
    let mut head = vec![kind];
    head.extend_from_slice(&len.to_le_bytes());
    let mut digest = CRC.digest();
    digest.update(&head);
    digest.update(payload);
    let mut frame = SYNC.to_vec();
    frame.extend_from_slice(&head);
    frame.extend_from_slice(payload);
    frame.extend_from_slice(&digest.finalize().to_le_bytes());
    w.write_all(&frame)?;
    w.flush()
}

/// A request frame's fields.
struct Exchange<'a> {
    url: &'a str,
    encoding: Encoding,
    hmac: Option<&'a str>,
    body: &'a [u8],
}

fn parse_exchange(p: &[u8]) -> Option<Exchange<'_>> {
    fn take<'a>(p: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (head, rest) = p.split_at_checked(n)?;
        *p = rest;
        Some(head)
    }
    let mut p = p;
    let url_len = take(&mut p, 2).map(|b| u16::from_le_bytes([b[0], b[1]]))?;
    let url = std::str::from_utf8(take(&mut p, url_len.into())?).ok()?;
    let encoding = match take(&mut p, 1)?[0] {
        0 => Encoding::Xml,
        1 => Encoding::Wbxml,
        _ => return None,
    };
    let hmac_len = take(&mut p, 2).map(|b| u16::from_le_bytes([b[0], b[1]]))?;
    let hmac = if hmac_len == NO_HMAC {
        None
    } else {
        Some(std::str::from_utf8(take(&mut p, hmac_len.into())?).ok()?)
    };
    Some(Exchange {
        url,
        encoding,
        hmac,
        body: p,
    })
}

/// One line per frame, for the failure report.
pub type Log = Arc<Mutex<Vec<String>>>;

/// The device's network: takes QEMU's UART connection and relays each request to the DM
/// server (loopback only) with the HTTP binding; answers a bootstrap request with
/// `bootstrap`.
pub struct Bridge {
    port: u16,
    log: Log,
    thread: Option<JoinHandle<Result<(), String>>>,
}

impl Bridge {
    fn start(bootstrap: Vec<u8>) -> Bridge {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the bridge");
        let port = listener.local_addr().expect("bridge address").port();
        let log: Log = Arc::default();
        let thread = {
            let log = log.clone();
            thread::spawn(move || relay(listener, &bootstrap, &log))
        };
        Bridge {
            port,
            log,
            thread: Some(thread),
        }
    }

    /// Waits for the bridge to end (QEMU closed its end): its outcome.
    fn finish(mut self) -> Result<(), String> {
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err("the bridge panicked".into()),
            None => Ok(()),
        }
    }
}

fn relay(listener: TcpListener, bootstrap: &[u8], log: &Log) -> Result<(), String> {
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let start = Instant::now();
    let stream: TcpStream = loop {
        match listener.accept() {
            Ok((s, _)) => break s,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if start.elapsed() > RUN_TIMEOUT {
                    return Err("QEMU never connected to the bridge".into());
                }
                thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(e.to_string()),
        }
    };
    stream.set_nonblocking(false).map_err(|e| e.to_string())?;
    // QEMU closes the connection when it exits; a read that waits longer is a hang.
    stream
        .set_read_timeout(Some(RUN_TIMEOUT))
        .map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(stream.try_clone().map_err(|e| e.to_string())?);
    let mut writer = stream;
    let mut http = HttpTransport::new();
    let mut rx = vec![0u8; 64 * 1024];
    let mut hmac = vec![0u8; 512];
    let note = |line: String| log.lock().unwrap().push(line);
    loop {
        let Some((kind, payload)) = read_frame(&mut reader).map_err(|e| e.to_string())? else {
            return Ok(());
        };
        match kind {
            KIND_BOOTSTRAP => {
                note(format!(
                    "device asks for its bootstrap: {} bytes",
                    bootstrap.len()
                ));
                write_frame(&mut writer, KIND_DOCUMENT, bootstrap).map_err(|e| e.to_string())?;
            }
            KIND_EXCHANGE => {
                let ex = parse_exchange(&payload).ok_or("malformed exchange frame")?;
                if !ex.url.starts_with("http://127.0.0.1:") {
                    return Err(format!("the device posted to {}, not to loopback", ex.url));
                }
                let request = Request {
                    url: ex.url,
                    encoding: ex.encoding,
                    hmac: ex.hmac,
                    body: ex.body,
                };
                let frame = match http.exchange(&request, &mut rx, &mut hmac) {
                    Ok(reply) => {
                        note(format!(
                            "device -> server {} bytes, server -> device {} bytes",
                            ex.body.len(),
                            reply.len
                        ));
                        let mut p = vec![match reply.encoding {
                            Some(Encoding::Xml) => 0,
                            Some(Encoding::Wbxml) => 1,
                            None => 0xFF,
                        }];
                        match reply.hmac_len {
                            Some(n) => {
                                p.extend_from_slice(&(n as u16).to_le_bytes());
                                p.extend_from_slice(&hmac[..n]);
                            }
                            None => p.extend_from_slice(&NO_HMAC.to_le_bytes()),
                        }
                        p.extend_from_slice(&rx[..reply.len]);
                        (KIND_REPLY, p)
                    }
                    Err(e) => {
                        note(format!("device -> server failed: {e}"));
                        let status = match e {
                            HttpError::Status(s) => s,
                            _ => 0,
                        };
                        let mut p = status.to_le_bytes().to_vec();
                        p.extend_from_slice(e.to_string().as_bytes());
                        (KIND_FAILURE, p)
                    }
                };
                write_frame(&mut writer, frame.0, &frame.1).map_err(|e| e.to_string())?;
            }
            other => return Err(format!("unexpected frame kind {other:#04x}")),
        }
    }
}

// ---- QEMU -------------------------------------------------------------------------------

/// A QEMU process, killed if dropped before it exits.
pub struct Qemu {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    reader: Option<JoinHandle<()>>,
}

impl Qemu {
    fn start(images: &Images, port: u16) -> Qemu {
        let mut child = Command::new("qemu-system-arm")
            .args([
                "-machine",
                "mps2-an386",
                "-display",
                "none",
                "-monitor",
                "none",
            ])
            .args(["-semihosting-config", "enable=on,target=native"])
            .arg("-serial")
            .arg(format!("tcp:127.0.0.1:{port}"))
            .arg("-kernel")
            .arg(&images.boot)
            .arg("-device")
            .arg(format!(
                "loader,file={},addr={:#x},force-raw=on",
                images.slot_a_flat.0.display(),
                images.slot_a_flat.1
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start qemu-system-arm");
        let lines: Arc<Mutex<Vec<String>>> = Arc::default();
        let reader = {
            let lines = lines.clone();
            let stdout = child.stdout.take().expect("QEMU's stdout");
            let stderr = child.stderr.take().expect("QEMU's stderr");
            thread::spawn(move || {
                let err_lines = lines.clone();
                let err = thread::spawn(move || {
                    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                        err_lines
                            .lock()
                            .unwrap()
                            .push(format!("qemu stderr: {line}"));
                    }
                });
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    lines.lock().unwrap().push(line);
                }
                let _ = err.join();
            })
        };
        Qemu {
            child,
            lines,
            reader: Some(reader),
        }
    }

    /// Waits for the guest to stop QEMU: the exit status and everything it printed.
    fn wait(mut self) -> Result<(ExitStatus, Vec<String>), Vec<String>> {
        let start = Instant::now();
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if start.elapsed() < RUN_TIMEOUT => {
                    thread::sleep(Duration::from_millis(50))
                }
                _ => break None,
            }
        };
        if status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        let mut lines = std::mem::take(&mut *self.lines.lock().unwrap());
        match status {
            Some(s) => Ok((s, lines)),
            None => {
                lines.push(format!("(QEMU killed after {RUN_TIMEOUT:?})"));
                Err(lines)
            }
        }
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

// ---- one device's life ------------------------------------------------------------------

/// What a QEMU run left behind.
pub struct Run {
    /// The server's record of the sessions.
    pub transcript: Transcript,
    /// Everything the guest printed (the bootloader's and the firmware's log).
    pub lines: Vec<String>,
    /// What the bridge relayed.
    pub bridge: Vec<String>,
}

impl Run {
    /// Everything, for a failure message.
    pub fn context(&self) -> String {
        format!(
            "--- guest\n{}\n--- bridge\n{}\n--- server\n{}",
            self.lines.join("\n"),
            self.bridge.join("\n"),
            self.transcript.render()
        )
    }

    /// Whether the guest printed `line`.
    pub fn has(&self, line: &str) -> bool {
        self.lines.iter().any(|l| l == line)
    }

    /// Checks that the guest printed each of `lines`.
    pub fn check_lines(&self, lines: &[&str]) {
        for line in lines {
            assert!(self.has(line), "missing {line:?}\n{}", self.context());
        }
    }

    /// The highest stack mark any boot reported.
    pub fn peak_stack(&self) -> usize {
        self.lines
            .iter()
            .filter_map(|l| l.strip_prefix("dm: stack: peak "))
            .filter_map(|l| l.split(' ').next()?.parse().ok())
            .max()
            .unwrap_or(0)
    }
}

/// What the server sends in the device's first session for an update: `package` as a
/// large object into `PkgData` (label `package`), then `Exec` of `Update` with
/// `correlator` (label `update`).
pub fn fota(package: Vec<u8>, correlator: &str) -> [Cmd; 2] {
    [
        Cmd::replace_value("./FUMO/fw/Update/PkgData", Value::Bytes(package))
            .format("bin")
            .mime("application/octet-stream")
            .label("package"),
        Cmd::exec("./FUMO/fw/Update")
            .correlator(correlator)
            .label("update"),
    ]
}

/// Runs a factory-fresh device of `images` against a server that sends `first` in the
/// first session (the update, [`fota`]), then accepts the device's report in a second.
pub fn run_device(images: &Images, first: impl IntoIterator<Item = Cmd>) -> Run {
    let account = Account::new(SERVER_ID)
        .client_hmac(CLIENT_NAME, CLIENT_SECRET, b"client-nonce-0")
        .server_cred(
            AuthScheme::Hmac,
            SERVER_ID,
            SERVER_SECRET,
            b"server-nonce-0",
        );
    let script = Script::new().package(first).next_session();
    let options = ServerOptions {
        max_msg_size: Some(MSG),
        ..ServerOptions::default()
    };
    let server = TestServer::start_with(vec![account], script, options).expect("start the server");
    let url = server.url(SERVER_ID);
    let bootstrap = AccountSpec {
        node: "operator",
        server_id: SERVER_ID,
        addr: &url,
        client: Some(CredSpec {
            scheme: AuthScheme::Hmac,
            name: CLIENT_NAME,
            secret: CLIENT_SECRET,
            nonce: b"client-nonce-0",
        }),
        server: Some(CredSpec {
            scheme: AuthScheme::Hmac,
            name: SERVER_ID,
            secret: SERVER_SECRET,
            nonce: b"server-nonce-0",
        }),
        acl: None,
    }
    .bootstrap_message();
    let bridge = Bridge::start(wbxml(&bootstrap));
    let qemu = Qemu::start(images, bridge.port);
    let outcome = qemu.wait();
    let bridge_log = bridge.log.lock().unwrap().clone();
    let bridged = bridge.finish();
    let transcript = server.finish();
    let (status, lines) = match outcome {
        Ok(r) => r,
        Err(lines) => panic!(
            "QEMU did not stop in time\n{}",
            Run {
                transcript,
                lines,
                bridge: bridge_log
            }
            .context()
        ),
    };
    let run = Run {
        transcript,
        lines,
        bridge: bridge_log,
    };
    assert!(
        status.success(),
        "the guest stopped with {status}\n{}",
        run.context()
    );
    assert_eq!(bridged, Ok(()), "{}", run.context());
    run
}

/// Checks the server's view of a device's life: the package and its Exec in session 1,
/// the device's report in session 2, nothing the server could fault.
pub fn check_update(run: &Run, correlator: &str, result: &str, mark: Option<&str>) {
    let t = &run.transcript;
    let ctx = run.context();
    assert!(t.violations().is_empty(), "{:#?}\n{ctx}", t.violations());
    assert_eq!(t.sessions().len(), 2, "{ctx}");
    for s in t.sessions() {
        assert_eq!(s.state, SessionState::Completed, "{ctx}");
        assert!(s.authenticated, "{ctx}");
        assert_eq!(s.device, DEV_ID, "{ctx}");
        assert_eq!(s.max_msg_size, Some(MSG), "{ctx}");
    }
    let package = t.command("package").expect("the package was sent");
    assert_eq!(package.session, 0, "{ctx}");
    // A full image takes dozens of 4 KiB messages, a delta package two or more.
    assert!(
        package.sends.len() >= 2,
        "the package went as a large object over several messages: {}\n{ctx}",
        package.sends.len()
    );
    let (last, chunks) = package.statuses.split_last().expect("statuses");
    assert!(chunks.iter().all(|&s| s == 213), "{chunks:?}\n{ctx}");
    assert_eq!(*last, 200, "{ctx}");
    assert_eq!(t.status("update"), Some(202), "{ctx}");
    let alerts: Vec<_> = t.generic_alerts().collect();
    assert_eq!(alerts.len(), 1, "{ctx}");
    let alert = alerts[0];
    assert_eq!(alert.session, 1, "the report opens a new session\n{ctx}");
    assert_eq!(alert.correlator.as_deref(), Some(correlator), "{ctx}");
    assert_eq!(alert.answered, 200, "{ctx}");
    let item = &alert.items[0];
    assert_eq!(item.source.as_deref(), Some("./FUMO/fw"), "{ctx}");
    assert_eq!(item.type_.as_deref(), Some(ALERT_UPDATE), "{ctx}");
    assert_eq!(item.format.as_deref(), Some("int"), "{ctx}");
    assert_eq!(item.mark.as_deref(), mark, "{ctx}");
    assert_eq!(item.data_str(), result, "{ctx}");
}

/// Checks the guest's log of an update that was installed, booted on trial, confirmed and
/// reported, all within one QEMU run (the flash kept across the reset).
pub fn check_confirmed(run: &Run) {
    run.check_lines(&[
        "boot: cold start, NOR part erased",
        "dm: image 1.0.0 (version 1) in slot A",
        "boot: slot B (trial boot 1)",
        "dm: image 2.0.0 (version 2) in slot B",
        "dm: update confirmed",
        "dm: reporting result 200",
        "dm: done",
    ]);
    let ctx = run.context();
    let cold = run
        .lines
        .iter()
        .filter(|l| l.starts_with("boot: cold"))
        .count();
    assert_eq!(cold, 1, "the flash survives the reset\n{ctx}");
}
