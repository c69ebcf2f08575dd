//! Build script:
//!
//! - the limits (`src/limits.rs`): every capacity a build may change, each from its
//!   `IOTADM_*` environment variable or its default, checked against its bounds, written
//!   to `$OUT_DIR/limits.rs`;
//! - the standard management objects' DDF documents (DevInfo, DevDetail, DMAcc, FUMO and
//!   CDMA, which ship with `iotadm-ddf`) compiled into the ready schema `schema::STANDARD`
//!   (`$OUT_DIR/standard_schema.rs`). A vendor composes its own schema, the standard objects
//!   plus its DDF documents, with the same `iotadm_ddf::Builder` in its own build script.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process;

use iotadm_ddf::compiler::{standard_documents, Builder, Generate};

/// One limit a build may set: its constant, default, bounds and what it limits. The
/// variable is `IOTADM_` and the constant's name.
struct Limit {
    name: &'static str,
    default: u64,
    min: u64,
    max: u64,
    doc: &'static str,
}

const fn limit(name: &'static str, default: u64, min: u64, max: u64, doc: &'static str) -> Limit {
    Limit {
        name,
        default,
        min,
        max,
        doc,
    }
}

/// Every limit a build may set, in the order `limits.rs` documents them.
const LIMITS: &[Limit] = &[
    limit(
        "TREE_ENTRIES",
        128,
        1,
        65_535,
        "Run-time tree entries of `tree::DefaultTreeStorage`: one per node created at run time and one per node whose value or properties changed.",
    ),
    limit(
        "TREE_ARENA",
        8192,
        64,
        1 << 24,
        "Arena bytes of `tree::DefaultTreeStorage`: the names, ACLs, titles and values of the entries.",
    ),
    limit(
        "TREE_RECORD",
        512,
        96,
        65_535,
        "Record buffer bytes of `tree::DefaultTreeStorage`: a value the tree keeps itself is a little shorter.",
    ),
    limit(
        "TREE_DEPTH",
        24,
        4,
        64,
        "Deepest node the tree resolves, walks and serializes, in URI segments below the root; a schema deeper than this is refused at mount. The DDF compiler allows 24.",
    ),
    limit(
        "URI_LEN",
        512,
        128,
        8192,
        "Longest URI (a command's target or source, a TNDS node's path), in bytes; a longer one is answered 414.",
    ),
    limit(
        "XML_DEPTH",
        64,
        16,
        255,
        "Deepest element nesting the codec reads (it keeps a stack entry per level); a message's own `Limits::max_depth` is capped by it.",
    ),
    limit(
        "NESTED_COMMANDS",
        8,
        1,
        64,
        "Deepest nesting of Atomic, Sequence and Sync inside one another.",
    ),
    limit(
        "QUEUE_LEN",
        32,
        8,
        1024,
        "Replies (statuses, results, alerts) a session holds while they wait for room in a message.",
    ),
    limit(
        "QUEUE_ARENA",
        768,
        256,
        65_535,
        "Bytes for the references and URIs of the replies a session holds.",
    ),
    limit(
        "ALERTS",
        8,
        1,
        64,
        "Generic Alerts (1226) one session carries; more are not sent.",
    ),
    limit(
        "UI_MAX_CHOICES",
        16,
        2,
        255,
        "Choices of a user-interaction alert (1103, 1104) the user is offered.",
    ),
    limit(
        "UI_OPTIONS_LEN",
        128,
        32,
        4096,
        "Longest options string (`MINDT=10&MAXDT=30&...`) of a user-interaction alert, in bytes.",
    ),
    limit(
        "SERVER_ID_LEN",
        64,
        8,
        1024,
        "Longest `ServerID` or device id a session keeps, in bytes.",
    ),
    limit(
        "ACCOUNT_NAME_LEN",
        24,
        4,
        255,
        "Longest DM account node name (`./DMAcc/<name>`), in bytes.",
    ),
    limit(
        "SERVER_ADDR_LEN",
        256,
        32,
        4096,
        "Longest server address (the account's `Addr`, or a `RespURI`), in bytes.",
    ),
    limit(
        "SECRET_LEN",
        64,
        8,
        1024,
        "Longest authentication name or secret of an account, in bytes.",
    ),
    limit(
        "NONCE_LEN",
        64,
        16,
        1024,
        "Longest nonce kept or sent, in bytes.",
    ),
    limit(
        "LO_PATH_LEN",
        256,
        64,
        4096,
        "Longest URI of a large object being received (kept across messages), in bytes.",
    ),
];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let Some(out_dir) = env::var_os("OUT_DIR").map(PathBuf::from) else {
        eprintln!("error: OUT_DIR is not set");
        process::exit(1);
    };
    if let Err(message) = write_limits(&out_dir).and_then(|()| write_schema(&out_dir)) {
        eprintln!("error: {message}");
        process::exit(1);
    }
}

/// `$OUT_DIR/limits.rs`: a documented `pub const` per limit.
fn write_limits(out_dir: &Path) -> Result<(), String> {
    let mut out = String::from("// @generated by build.rs from the IOTADM_* variables.\n");
    for l in LIMITS {
        let var = format!("IOTADM_{}", l.name);
        println!("cargo:rerun-if-env-changed={var}");
        let value = match env::var(&var) {
            Err(env::VarError::NotPresent) => l.default,
            Ok(text) => text
                .trim()
                .replace('_', "")
                .parse::<u64>()
                .ok()
                .filter(|v| (l.min..=l.max).contains(v))
                .ok_or(format!(
                    "{var} must be a number from {} to {}, not {text:?}",
                    l.min, l.max
                ))?,
            Err(env::VarError::NotUnicode(_)) => return Err(format!("{var} must be a number")),
        };
        writeln!(
            out,
            "\n/// {}\n///\n/// `{var}`, default {}, from {} to {}; this build: {value}.\npub const {}: usize = {value};",
            l.doc, l.default, l.min, l.max, l.name
        )
        .map_err(|e| e.to_string())?;
    }
    out.push_str(
        "\n/// Every limit the build sets, with the environment variable that sets it: for a\n\
         /// firmware that logs its configuration, and for the C header's macros.\n\
         pub const SETTINGS: &[Setting] = &[\n",
    );
    for l in LIMITS {
        writeln!(
            out,
            "    Setting {{ var: \"IOTADM_{0}\", value: {0}, doc: {1:?} }},",
            l.name, l.doc
        )
        .map_err(|e| e.to_string())?;
    }
    out.push_str("];\n");
    let path = out_dir.join("limits.rs");
    if fs::read_to_string(&path).ok().as_deref() != Some(out.as_str()) {
        fs::write(&path, out).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

/// `$OUT_DIR/standard_schema.rs`: `schema::STANDARD`, of the standard documents the
/// build's features take (the CDMA object only with `cdma`), with titles and descriptions
/// only with `ddf-descriptions`.
fn write_schema(out_dir: &Path) -> Result<(), String> {
    let generate = Generate {
        runtime_path: "crate::schema".to_owned(),
        schema_name: "STANDARD".to_owned(),
        nodes_module: None,
    };
    let feature = |name: &str| env::var_os(format!("CARGO_FEATURE_{name}")).is_some();
    let builder = standard_documents()
        .iter()
        .filter(|(file, _)| feature("CDMA") || !file.ends_with("/CDMA.xml"))
        .fold(Builder::new().without_standard(), |b, (file, text)| {
            b.document(*file, *text)
        });
    builder
        .descriptions(feature("DDF_DESCRIPTIONS"))
        .generate(generate)
        .write(out_dir.join("standard_schema.rs"))
}
