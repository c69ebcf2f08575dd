//! `iotadm`: the host tool. Converts SyncML DM messages between XML and WBXML (with the
//! same command-line shape as libwbxml's `xml2wbxml` and `wbxml2xml`), summarises a
//! message for a person to read, prints the compiled management tree, checks DDF files,
//! builds update packages, applies delta patches, runs a simulated handset and serves
//! scripted DM sessions to a handset under test.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod delta;
mod device;
mod package;
mod raw;
mod serve;
mod tree;
use iotadm::codec::{self, Command, Data, EncodeError, EncodeOptions, Encoding, Item, Message};

#[derive(Parser)]
#[command(name = "iotadm", version, about = "OMA DM 1.2 (SyncML DM) host tool")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Convert a WBXML message to XML.
    Wbxml2xml {
        /// Output file (`-` for standard output).
        #[arg(short, default_value = "-")]
        o: PathBuf,
        /// Write everything on one line instead of one element a line.
        #[arg(long)]
        compact: bool,
        /// Convert token by token, without checking the message against the SyncML DTD:
        /// a message that lacks a required element, or has one out of place, converts
        /// too. Tokens no SyncML code page defines are written as `<unknown-PAGE-TOKEN>`.
        #[arg(long)]
        raw: bool,
        /// Input file (`-` for standard input).
        input: PathBuf,
    },
    /// Convert an XML message to WBXML.
    Xml2wbxml {
        /// Output file (`-` for standard output).
        #[arg(short, default_value = "-")]
        o: PathBuf,
        /// WBXML version of the output: 1.1, 1.2 or 1.3.
        #[arg(short, default_value = "1.2")]
        v: String,
        /// Input file (`-` for standard input).
        input: PathBuf,
    },
    /// Summarise a message: header, then each command with its target and data size.
    Inspect {
        /// Input file (`-` for standard input), XML or WBXML.
        input: PathBuf,
    },
    /// Print the management tree's schema: `URI FORMAT ACCESS`, one node a line.
    Tree {
        /// A directory of vendor DDF documents (`*.xml`) to compile with the standard
        /// objects, as a vendor's build would; may be given more than once.
        #[arg(long = "ddf", value_name = "DIR")]
        ddf: Vec<PathBuf>,
    },
    /// Print the build's limits (`src/limits.rs`): `VARIABLE VALUE`, one a line.
    Limits {
        /// Print them as C macros (`#define IOTADM_URI_LEN 512`) for `iotadm.h`.
        #[arg(long)]
        c: bool,
    },
    /// Build a firmware update package (see docs/update-package.md), or with `verify`
    /// check a package or an MCUboot image under a key.
    Package(package::PackageCommand),
    /// A simulated handset: provision it, connect to its server, or answer a package 0.
    Device(Box<device::DeviceArgs>),
    /// The scripted test server: serve the sessions of a script file to a handset under
    /// test, then judge what it answered (see docs/serve.md).
    Serve(serve::ServeArgs),
    /// Device Description Framework documents.
    Ddf {
        #[command(subcommand)]
        command: DdfCmd,
    },
    /// Delta updates: detools sequential patches.
    Delta {
        #[command(subcommand)]
        command: DeltaCmd,
    },
}

#[derive(Subcommand)]
enum DeltaCmd {
    /// Apply a patch to an old image, as the device would; the new image is written only
    /// when it hashes to the given SHA-256.
    Apply(delta::ApplyArgs),
}

#[derive(Subcommand)]
enum DdfCmd {
    /// Check a DDF document as the build would compile it.
    Check {
        /// The DDF file.
        file: PathBuf,
    },
}

fn read_input(path: &Path) -> Result<Vec<u8>, String> {
    if path == Path::new("-") {
        let mut buf = Vec::new();
        io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| format!("standard input: {e}"))?;
        Ok(buf)
    } else {
        fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
    }
}

fn write_output(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if path == Path::new("-") {
        let mut out = io::stdout().lock();
        out.write_all(bytes)
            .and_then(|()| out.flush())
            .map_err(|e| format!("standard output: {e}"))
    } else {
        fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
    }
}

fn parse<'a>(
    bytes: &'a [u8],
    path: &Path,
    expect: Option<Encoding>,
) -> Result<Message<'a>, String> {
    let result = match expect {
        Some(Encoding::Wbxml) => codec::parse_wbxml(bytes),
        Some(Encoding::Xml) => codec::parse_xml(bytes),
        None => codec::parse(bytes),
    };
    result.map_err(|e| format!("{}: {e}", path.display()))
}

/// Encodes into a buffer sized from the input, which is nearly always enough; when it is
/// not, the encoder has counted what it needs and a second pass writes it. (Asking for the
/// exact length first would cost a whole extra pass every time.)
fn encode(msg: &Message<'_>, options: &EncodeOptions, input_len: usize) -> Result<Vec<u8>, String> {
    let guess = match options.encoding {
        // Indented XML from WBXML: tags grow from one byte to two names.
        Encoding::Xml => input_len.saturating_mul(3),
        Encoding::Wbxml => input_len,
    };
    let mut out = vec![0; guess.saturating_add(4096)];
    let n = match msg.encode_with(options, &mut out) {
        Err(EncodeError::BufferTooSmall { required }) => {
            out.resize(required, 0);
            msg.encode_with(options, &mut out)
        }
        written => written,
    }
    .map_err(|e| e.to_string())?;
    out.truncate(n);
    Ok(out)
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Cmd::Wbxml2xml {
            o,
            compact,
            raw: true,
            input,
        } => {
            let bytes = read_input(&input)?;
            let xml = raw::wbxml_to_xml(&bytes, !compact)
                .map_err(|e| format!("{}: {e}", input.display()))?;
            write_output(&o, xml.as_bytes())
        }
        Cmd::Wbxml2xml {
            o,
            compact,
            raw: false,
            input,
        } => {
            let bytes = read_input(&input)?;
            let msg = parse(&bytes, &input, Some(Encoding::Wbxml))?;
            let options = EncodeOptions {
                indent: !compact,
                ..EncodeOptions::new(Encoding::Xml)
            };
            write_output(&o, &encode(&msg, &options, bytes.len())?)
        }
        Cmd::Xml2wbxml { o, v, input } => {
            let wbxml_version = match v.as_str() {
                "1.1" => 0x01,
                "1.2" => 0x02,
                "1.3" => 0x03,
                other => {
                    return Err(format!(
                        "unsupported WBXML version {other:?} (use 1.1, 1.2 or 1.3)"
                    ))
                }
            };
            let bytes = read_input(&input)?;
            let msg = parse(&bytes, &input, Some(Encoding::Xml))?;
            let options = EncodeOptions {
                wbxml_version,
                ..EncodeOptions::new(Encoding::Wbxml)
            };
            write_output(&o, &encode(&msg, &options, bytes.len())?)
        }
        Cmd::Package(args) => package::run(args),
        Cmd::Delta {
            command: DeltaCmd::Apply(args),
        } => delta::run(args),
        Cmd::Device(args) => device::run(*args),
        Cmd::Serve(args) => serve::run(args),
        Cmd::Limits { c } => {
            let mut text = String::new();
            for s in iotadm::limits::SETTINGS {
                if c {
                    text.push_str(&format!(
                        "/** {} */\n#define {} {}\n",
                        s.doc, s.var, s.value
                    ));
                } else {
                    text.push_str(&format!("{} {}\n", s.var, s.value));
                }
            }
            write_output(Path::new("-"), text.as_bytes())
        }
        Cmd::Tree { ddf } => {
            let schema = tree::schema(&ddf)?;
            tree::print_tree(schema, &mut io::stdout().lock())
                .map_err(|e| format!("standard output: {e}"))
        }
        Cmd::Ddf {
            command: DdfCmd::Check { file },
        } => {
            let summary = tree::ddf_check(&file)?;
            println!("{summary}");
            Ok(())
        }
        Cmd::Inspect { input } => {
            let bytes = read_input(&input)?;
            let msg = parse(&bytes, &input, None)?;
            let mut out = String::new();
            describe_encoding(&bytes, &mut out);
            describe(&msg, &mut out);
            write_output(Path::new("-"), out.as_bytes())
        }
    }
}

fn describe_encoding(bytes: &[u8], out: &mut String) {
    use std::fmt::Write as _;
    match codec::detect(bytes) {
        Some(Encoding::Wbxml) => {
            if let Ok(info) = codec::wbxml_info(bytes) {
                let _ = write!(out, "encoding: WBXML 1.{}", info.version);
                match info.literal_public_id {
                    Some(fpi) => {
                        let _ = write!(out, ", public id {fpi:?}");
                    }
                    None => {
                        let _ = write!(out, ", public id 0x{:04X}", info.public_id);
                    }
                }
                let _ = writeln!(out, ", string table {} bytes", info.string_table_len);
            }
        }
        _ => out.push_str("encoding: XML\n"),
    }
}

fn describe(msg: &Message<'_>, out: &mut String) {
    use std::fmt::Write as _;
    let h = &msg.header;
    let _ = writeln!(
        out,
        "header: VerDTD {} VerProto {} SessionID {} MsgID {}",
        h.ver_dtd, h.ver_proto, h.session_id, h.msg_id
    );
    let _ = write!(out, "  target: {}", h.target.uri);
    if let Some(name) = h.target.name {
        let _ = write!(out, " ({name})");
    }
    let _ = write!(out, "\n  source: {}", h.source.uri);
    if let Some(name) = h.source.name {
        let _ = write!(out, " ({name})");
    }
    out.push('\n');
    if let Some(uri) = h.resp_uri {
        let _ = writeln!(out, "  resp-uri: {uri}");
    }
    if let Some(cred) = h.cred {
        let kind = cred.meta.and_then(|m| m.type_()).map(|t| t.to_string());
        let _ = writeln!(
            out,
            "  cred: {} ({} bytes)",
            kind.as_deref().unwrap_or("syncml:auth-basic"),
            cred.data.len()
        );
    }
    if let Some(meta) = h.meta {
        if let Some(v) = meta.max_msg_size() {
            let _ = writeln!(out, "  max-msg-size: {v}");
        }
        if let Some(v) = meta.max_obj_size() {
            let _ = writeln!(out, "  max-obj-size: {v}");
        }
    }
    let _ = writeln!(
        out,
        "body: {} command(s){}",
        msg.body.commands.len(),
        if msg.body.is_final { ", final" } else { "" }
    );
    for cmd in msg.body.commands {
        describe_command(&cmd, 1, out);
    }
}

fn describe_command(cmd: &Command<'_>, depth: usize, out: &mut String) {
    use std::fmt::Write as _;
    let pad = "  ".repeat(depth);
    let _ = write!(out, "{pad}{} {}", cmd.cmd_id(), cmd.name());
    match cmd {
        Command::Alert(a) => {
            if let Some(code) = a.data {
                let _ = write!(out, " {code}");
            }
            if let Some(c) = a.correlator {
                let _ = write!(out, " correlator {c}");
            }
            out.push('\n');
            describe_items(a.items, depth + 1, out);
        }
        Command::Status(s) => {
            let _ = writeln!(
                out,
                " {} for {} {} (msg {})",
                s.data.map(|d| d.to_string()).unwrap_or_default(),
                s.cmd.map(|d| d.to_string()).unwrap_or_default(),
                s.cmd_ref.map(|d| d.to_string()).unwrap_or_default(),
                s.msg_ref.map(|d| d.to_string()).unwrap_or_default()
            );
            for t in s.target_refs {
                let _ = writeln!(out, "{pad}  target-ref {t}");
            }
            if s.chal.is_some() {
                let _ = writeln!(out, "{pad}  chal");
            }
        }
        Command::Atomic(c) | Command::Sequence(c) => {
            out.push('\n');
            for inner in c.commands {
                describe_command(&inner, depth + 1, out);
            }
        }
        Command::Sync(c) => {
            out.push('\n');
            for inner in c.commands {
                describe_command(&inner, depth + 1, out);
            }
        }
        Command::Exec(c) => {
            if let Some(corr) = c.correlator {
                let _ = write!(out, " correlator {corr}");
            }
            out.push('\n');
            describe_items(c.items, depth + 1, out);
        }
        Command::Results(c) => {
            out.push('\n');
            describe_items(c.items, depth + 1, out);
        }
        Command::Add(c)
        | Command::Copy(c)
        | Command::Delete(c)
        | Command::Get(c)
        | Command::Replace(c) => {
            out.push('\n');
            describe_items(c.items, depth + 1, out);
        }
        _ => out.push('\n'),
    }
}

fn describe_items<'a>(items: codec::List<'a, Item<'a>>, depth: usize, out: &mut String) {
    use std::fmt::Write as _;
    let pad = "  ".repeat(depth);
    for item in items {
        let uri = item
            .target
            .or(item.source)
            .map(|l| l.uri.to_string())
            .unwrap_or_else(|| "-".into());
        let _ = write!(out, "{pad}{uri}");
        if let Some(format) = item.meta.and_then(|m| m.format()) {
            let _ = write!(out, " format {format}");
        }
        match item.data {
            Some(Data::Text(t)) => {
                let _ = write!(out, " data {} bytes", t.len());
            }
            Some(Data::Opaque(t)) => {
                let _ = write!(out, " opaque {} bytes", t.len());
            }
            Some(Data::Xml(x)) => {
                let _ = write!(out, " xml {} events", x.events().count());
            }
            None => {}
        }
        if item.more_data {
            out.push_str(" (more data follows)");
        }
        out.push('\n');
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let name = match &cli.command {
        Cmd::Wbxml2xml { .. } => "wbxml2xml",
        Cmd::Xml2wbxml { .. } => "xml2wbxml",
        Cmd::Inspect { .. } => "inspect",
        Cmd::Tree { .. } => "tree",
        Cmd::Limits { .. } => "limits",
        Cmd::Package(p) if p.command.is_some() => "package verify",
        Cmd::Package(_) => "package",
        Cmd::Device(_) => "device",
        Cmd::Serve(_) => "serve",
        Cmd::Ddf { .. } => "ddf check",
        Cmd::Delta { .. } => "delta apply",
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("iotadm {name}: {reason}");
            ExitCode::FAILURE
        }
    }
}
