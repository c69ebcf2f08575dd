//! `iotadm device`: a simulated handset on the host. Its management tree lives in a
//! file-backed flash image under `--state DIR`, so it keeps its accounts, nonces and values
//! from one run to the next as a handset keeps them across power cycles.

use std::fs;
use std::path::{Path, PathBuf};

use iotadm::codec::Encoding;
use iotadm::session::{
    accept_notification, apply_bootstrap, BootstrapSource, ClientError, Config, DefaultAnswers,
    DeviceInfo, Env, Initiation, Trigger,
};
use iotadm::tree::{NoHandlers, Principal, Tree, TreeStorage, UriLimits};
use iotadm_host::sim::{self, SeededRng, SystemClock};
use iotadm_host::FileFlash;
use iotadm_host::{HttpConfig, HttpTransport, TlsIdentity};

/// The flash image: 256 KiB in 4 KiB sectors.
const FLASH_BYTES: usize = 256 * 1024;

type Flash = FileFlash<4096, 8>;
/// The handset's tree memory: 512 entries, 64 KiB of names and values, values up to a
/// little under 1 KiB.
type Storage = TreeStorage<512, 65_536, 1024>;
type DeviceTree<'s> = Tree<'s, Flash, NoHandlers>;

/// Arguments of `iotadm device`.
#[derive(clap::Args, Debug, Clone)]
#[command(group(clap::ArgGroup::new("action").required(true).args(["bootstrap", "connect", "notify"])))]
pub(crate) struct DeviceArgs {
    /// Directory holding the handset's flash image (created if missing).
    #[arg(long)]
    state: PathBuf,
    /// Provision the handset from a bootstrap: a DM message (XML or WBXML) adding a DMAcc
    /// account, or a TNDS document (`<MgmtTree>`) of one.
    #[arg(long, value_name = "FILE")]
    bootstrap: Option<PathBuf>,
    /// Run a client-initiated session with the account's server.
    #[arg(long)]
    connect: bool,
    /// Verify a package 0 (raw or WAP Push) and run the session it asks for.
    #[arg(long, value_name = "FILE")]
    notify: Option<PathBuf>,
    /// The account (`./DMAcc/<NAME>`) to connect with; the only one if not given.
    #[arg(long)]
    account: Option<String>,
    /// Encoding of package 1.
    #[arg(long, value_parser = ["wbxml", "xml"], default_value = "wbxml")]
    encoding: String,
    /// A directory of vendor DDF documents (`*.xml`) whose objects the handset also has,
    /// compiled with the standard ones; their values are kept in the handset's state like
    /// any node's. May be given more than once; give the same ones at every run.
    #[arg(long = "ddf", value_name = "DIR")]
    ddf: Vec<PathBuf>,
    /// A CA certificate (PEM) to trust, besides the platform's roots, when the account's
    /// address is `https://`. May be given more than once.
    #[arg(long = "ca", value_name = "FILE")]
    ca: Vec<PathBuf>,
    /// A client certificate (PEM, then any intermediates) to show an `https://` server
    /// that asks for one (mutual TLS).
    #[arg(long, value_name = "FILE", requires = "client_key")]
    client_cert: Option<PathBuf>,
    /// The private key (PEM) of `--client-cert`.
    #[arg(long, value_name = "FILE", requires = "client_cert")]
    client_key: Option<PathBuf>,
    #[command(flatten)]
    info: InfoArgs,
}

/// What the handset reports in `./DevInfo` and `./DevDetail`. Each value given is stored at
/// this run; one not given keeps what the state holds, or the simulated handset's default
/// when the state is new.
#[derive(clap::Args, Debug, Clone, Default)]
struct InfoArgs {
    /// `DevInfo/DevId`, a URN [default: IMEI:490154203237518]
    #[arg(long)]
    dev_id: Option<String>,
    /// `DevInfo/Man` [default: iotadm]
    #[arg(long)]
    man: Option<String>,
    /// `DevInfo/Mod` [default: iotadm-sim]
    #[arg(long)]
    model: Option<String>,
    /// `DevInfo/DmV` [default: 1.2]
    #[arg(long)]
    dm_version: Option<String>,
    /// `DevInfo/Lang` [default: en-US]
    #[arg(long)]
    lang: Option<String>,
    /// `DevDetail/DevTyp` [default: phone]
    #[arg(long)]
    dev_type: Option<String>,
    /// `DevDetail/OEM` [default: iotadm]
    #[arg(long)]
    oem: Option<String>,
    /// `DevDetail/FwV` [default: sim-VERSION]
    #[arg(long)]
    fw_version: Option<String>,
    /// `DevDetail/SwV` [default: this tool's version]
    #[arg(long)]
    sw_version: Option<String>,
    /// `DevDetail/HwV` [default: host]
    #[arg(long)]
    hw_version: Option<String>,
}

/// The default device id of a new state.
const DEFAULT_DEV_ID: &str = "IMEI:490154203237518";

impl InfoArgs {
    /// Stores what was given, what the state has, or the defaults.
    fn store(&self, tree: &mut DeviceTree) -> Result<(), String> {
        let defaults = sim::device_info(DEFAULT_DEV_ID);
        let given = [
            &self.dev_id,
            &self.man,
            &self.model,
            &self.dm_version,
            &self.lang,
            &self.dev_type,
            &self.oem,
            &self.fw_version,
            &self.sw_version,
            &self.hw_version,
        ];
        let fallback = defaults.values();
        let mut values: Vec<String> = Vec::new();
        for ((arg, default), leaf) in given.into_iter().zip(fallback).zip(DeviceInfo::LEAVES) {
            let stored = {
                let mut buf = [0u8; 256];
                tree.get(Principal::Device, leaf, 0, &mut buf)
                    .ok()
                    .map(|r| String::from_utf8_lossy(&buf[..r.len]).into_owned())
                    .filter(|s| !s.is_empty())
            };
            values.push(
                arg.clone()
                    .or(stored)
                    .unwrap_or_else(|| default.to_string()),
            );
        }
        DeviceInfo::from_values(std::array::from_fn(|i| values[i].as_str()))
            .store(tree)
            .map_err(|e| format!("device information: {e}"))
    }
}

pub(crate) fn run(args: DeviceArgs) -> Result<(), String> {
    fs::create_dir_all(&args.state).map_err(|e| format!("{}: {e}", args.state.display()))?;
    let image = args.state.join("tree.flash");
    let flash =
        Flash::open(&image, FLASH_BYTES).map_err(|e| format!("{}: {e:?}", image.display()))?;
    let mut storage = Box::new(Storage::new());
    let schema = crate::tree::schema(&args.ddf)?;
    let mut tree: DeviceTree =
        Tree::mount(&mut storage, schema, flash, NoHandlers, UriLimits::DEFAULT)
            .map_err(|e| format!("{}: {e}", image.display()))?;
    args.info.store(&mut tree)?;
    if let Some(file) = &args.bootstrap {
        return bootstrap(&mut tree, file);
    }
    let (account, initiation) = match &args.notify {
        Some(file) => {
            let bytes = fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
            let Trigger {
                account,
                initiation,
                ui_mode,
                ..
            } = accept_notification(&mut tree, &mut DefaultAnswers, &bytes)
                .map_err(|e| format!("{}: {e}", file.display()))?;
            println!("package 0 verified: account {account}, UI mode {ui_mode:?}");
            (account.to_string(), initiation)
        }
        None => (
            only_account(&mut tree, args.account.as_deref())?,
            Initiation::Client,
        ),
    };
    let cfg = Config {
        encoding: if args.encoding == "xml" {
            Encoding::Xml
        } else {
            Encoding::Wbxml
        },
        max_msg_size: 16 * 1024,
        ..Config::default()
    };
    let transport = transport(&args)?;
    let (mut ui, mut rng, clock) = (DefaultAnswers, SeededRng::from_host(), SystemClock);
    let mut env = Env {
        tree: &mut tree,
        ui: &mut ui,
        rng: &mut rng,
        clock: &clock,
        alerts: &[],
    };
    let outcome = sim::run_session(&mut env, cfg, &account, initiation, transport, |event| {
        println!("\n== {}", sim::describe(&event));
        let body = match event {
            iotadm::session::Event::Sent { body, .. }
            | iotadm::session::Event::Received { body } => body,
        };
        println!("{}", sim::readable(body));
    })
    .map_err(|e| match e {
        // The transport's own words: a TLS refusal says why.
        ClientError::Transport(e) => format!("transport: {e}"),
        other => other.to_string(),
    })?;
    println!(
        "\nsession ended: {} messages sent{}",
        outcome.messages_sent,
        if outcome.aborted_by_server {
            ", aborted by the server"
        } else {
            ""
        }
    );
    Ok(())
}

/// The HTTP transport, trusting the CA certificates of `--ca` besides the platform's and
/// showing the `--client-cert` of `args`.
fn transport(args: &DeviceArgs) -> Result<HttpTransport, String> {
    let read = |file: &PathBuf| fs::read(file).map_err(|e| format!("{}: {e}", file.display()));
    let mut config = HttpConfig::new();
    for file in &args.ca {
        let pem = read(file)?;
        // Each file is checked on its own first, so that a refusal names it.
        let mut alone = HttpConfig::new();
        alone.tls.platform_roots = false;
        alone.tls.extra_roots.push(pem.clone());
        HttpTransport::with_config(alone).map_err(|e| format!("--ca {}: {e}", file.display()))?;
        config.tls.extra_roots.push(pem);
    }
    if let (Some(cert), Some(key)) = (&args.client_cert, &args.client_key) {
        config.tls.client_identity = Some(TlsIdentity {
            chain_pem: read(cert)?,
            key_pem: read(key)?,
        });
    }
    HttpTransport::with_config(config).map_err(|e| format!("--client-cert, --client-key: {e}"))
}

/// Applies a bootstrap file; a bare TNDS document is wrapped in an `Add` at the root.
fn bootstrap(tree: &mut DeviceTree, file: &Path) -> Result<(), String> {
    let bytes = fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let message = match tnds_root(&bytes) {
        Some(doc) => wrap_tnds(doc),
        None => bytes,
    };
    let mut scratch = vec![0u8; 64 * 1024];
    let n = apply_bootstrap(
        tree,
        &message,
        BootstrapSource::Trusted,
        SystemClock.now(),
        &mut scratch,
    )
    .map_err(|e| format!("{}: {e}", file.display()))?;
    println!("bootstrap applied: {n} items");
    Ok(())
}

/// The TNDS document in `bytes` (without an XML declaration), if that is what it holds.
fn tnds_root(bytes: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(bytes)
        .ok()?
        .trim_start_matches('\u{feff}')
        .trim();
    let text = match text.strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>")?.1.trim_start(),
        None => text,
    };
    text.starts_with("<MgmtTree").then_some(text)
}

fn wrap_tnds(doc: &str) -> Vec<u8> {
    format!(
        "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>\
<SessionID>0</SessionID><MsgID>1</MsgID><Target><LocURI>device</LocURI></Target><Source><LocURI>bootstrap</LocURI>\
</Source></SyncHdr><SyncBody><Add><CmdID>1</CmdID><Item><Target><LocURI>.</LocURI></Target><Meta><Type \
xmlns=\"syncml:metinf\">application/vnd.syncml.dmtnds+xml</Type></Meta><Data>{doc}</Data></Item></Add><Final/>\
</SyncBody></SyncML>"
    )
    .into_bytes()
}

/// The account to connect with: `wanted`, or the only one there is.
fn only_account(tree: &mut DeviceTree, wanted: Option<&str>) -> Result<String, String> {
    if let Some(name) = wanted {
        return Ok(name.to_string());
    }
    let mut buf = [0u8; 1024];
    let n = tree
        .get(Principal::Device, "./DMAcc", 0, &mut buf)
        .map_err(|s| format!("./DMAcc: status {}", u16::from(s)))?
        .len;
    let names: Vec<&str> = std::str::from_utf8(&buf[..n])
        .unwrap_or("")
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    match names.as_slice() {
        [one] => Ok((*one).to_string()),
        [] => Err("no account: provision one with --bootstrap".into()),
        many => Err(format!(
            "several accounts ({}): name one with --account",
            many.join(", ")
        )),
    }
}

/// The host clock as the tree wants it.
trait Now {
    fn now(&self) -> Option<u64>;
}

impl Now for SystemClock {
    fn now(&self) -> Option<u64> {
        iotadm::platform::Clock::unix_time(self)
    }
}
