//! A simulated handset for the host (feature `std`): randomness and time from the host, a
//! DevInfo, DM accounts provisioned by bootstrap messages, and readable transcripts. The
//! demo, `iotadm device`, the tests, benchmarks and fuzz targets build their device from
//! these parts, so that each of them runs the same code a firmware runs.

use std::string::String;
use std::vec::Vec;

use embedded_storage::nor_flash::NorFlash;

use core::fmt::Write as _;
use iotadm::auth::AuthScheme;

use iotadm::codec::{self, Data, EncodeOptions, Encoding, Item, Message, Text};
use iotadm::platform::{Clock, Rng};
use iotadm::session::{
    self, apply_bootstrap, BootstrapSource, Buffers, Client, ClientError, Config, DeviceInfo, Env,
    Event, Initiation, Outcome, Session,
};
use iotadm::transport::Transport;
use iotadm::tree::{Handlers, Tree};

/// A deterministic generator (SplitMix64): the same seed gives the same nonces and session
/// ids, so runs repeat.
#[derive(Debug, Clone)]
pub struct SeededRng(u64);

impl SeededRng {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        SeededRng(seed)
    }

    /// A generator seeded from the host (the time and the process's hash keys).
    pub fn from_host() -> Self {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        SeededRng(h.finish())
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl Rng for SeededRng {
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let bytes = self.next().to_le_bytes();
            chunk.copy_from_slice(bytes.get(..chunk.len()).unwrap_or(&[]));
        }
    }
}

/// The host's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn unix_time(&self) -> Option<u64> {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .map(|d| d.as_secs())
    }
}

/// The simulated handset's device information, with `dev_id` as its `DevId`: what the
/// demo, the `iotadm device` command and the tests set up a handset with.
pub fn device_info(dev_id: &str) -> DeviceInfo<'_> {
    DeviceInfo {
        dev_id,
        man: "iotadm",
        model: "iotadm-sim",
        dm_version: "1.2",
        lang: "en-US",
        dev_type: "phone",
        oem: "iotadm",
        fw_version: concat!("sim-", env!("CARGO_PKG_VERSION")),
        sw_version: env!("CARGO_PKG_VERSION"),
        hw_version: "host",
    }
}

/// One direction's credentials of an account (`AppAuth/<x>`).
#[derive(Debug, Clone, Copy)]
pub struct CredSpec<'a> {
    /// The scheme.
    pub scheme: AuthScheme,
    /// `AAuthName`.
    pub name: &'a str,
    /// `AAuthSecret`.
    pub secret: &'a str,
    /// `AAuthData`: the first nonce.
    pub nonce: &'a [u8],
}

/// A DM account, as a bootstrap provisions it.
#[derive(Debug, Clone, Copy)]
pub struct AccountSpec<'a> {
    /// The node name: `./DMAcc/<node>`.
    pub node: &'a str,
    /// `ServerID`.
    pub server_id: &'a str,
    /// The server's address.
    pub addr: &'a str,
    /// The client's credentials (`CLCRED`).
    pub client: Option<CredSpec<'a>>,
    /// The server's credentials (`SRVCRED`).
    pub server: Option<CredSpec<'a>>,
    /// The ACL of the account's subtree; `None` gives the server every command on it.
    pub acl: Option<&'a str>,
}

impl AccountSpec<'_> {
    /// Provisions the account into `tree` as the factory does: its bootstrap message,
    /// applied as trusted. The number of nodes it set.
    pub fn provision<F: NorFlash, H: Handlers>(
        &self,
        tree: &mut Tree<'_, F, H>,
    ) -> Result<usize, session::Error> {
        let mut scratch = std::vec![0u8; 4096];
        apply_bootstrap(
            tree,
            self.bootstrap_message().as_bytes(),
            BootstrapSource::Trusted,
            None,
            &mut scratch,
        )
    }

    /// The bootstrap message that provisions the account: a DM message with one `Add` of
    /// its nodes and a `Replace` of its ACL.
    pub fn bootstrap_message(&self) -> String {
        use base64::Engine as _;
        let esc = |s: &str| {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
        };
        let root = std::format!("./DMAcc/{}", self.node);
        let mut items: Vec<(String, String, &str)> = std::vec![
            (std::format!("{root}/ServerID"), esc(self.server_id), "chr"),
            (std::format!("{root}/AppID"), "w7".into(), "chr"),
            (std::format!("{root}/AppAddr/1/Addr"), esc(self.addr), "chr"),
            (
                std::format!("{root}/AppAddr/1/AddrType"),
                "URI".into(),
                "chr"
            ),
        ];
        let mut pref = None;
        for (entry, level, spec) in [
            ("Client", "CLCRED", self.client),
            ("Server", "SRVCRED", self.server),
        ] {
            let Some(c) = spec else { continue };
            let Some(kind) = c.scheme.aauth_type() else {
                continue;
            };
            if level == "CLCRED" {
                pref = Some(kind.as_str());
            }
            let base = std::format!("{root}/AppAuth/{entry}");
            items.push((std::format!("{base}/AAuthLevel"), level.into(), "chr"));
            items.push((
                std::format!("{base}/AAuthType"),
                kind.as_str().into(),
                "chr",
            ));
            items.push((std::format!("{base}/AAuthName"), esc(c.name), "chr"));
            items.push((std::format!("{base}/AAuthSecret"), esc(c.secret), "chr"));
            if !c.nonce.is_empty() {
                let mut buf = std::vec![0u8; c.nonce.len().div_ceil(3) * 4];
                let n = base64::engine::general_purpose::STANDARD
                    .encode_slice(c.nonce, &mut buf)
                    .unwrap_or(0);
                let b64 = String::from_utf8_lossy(buf.get(..n).unwrap_or(&[])).into_owned();
                items.push((std::format!("{base}/AAuthData"), b64, "b64"));
            }
        }
        if let Some(p) = pref {
            items.push((std::format!("{root}/AAuthPref"), p.into(), "chr"));
        }
        let acl = match self.acl {
            Some(acl) => esc(acl),
            None => {
                let s = esc(self.server_id);
                std::format!("Get={s}&amp;Replace={s}&amp;Add={s}&amp;Delete={s}")
            }
        };
        let mut body = String::from("<Add><CmdID>1</CmdID>");
        for (uri, value, format) in &items {
            body.push_str(&std::format!(
                "<Item><Target><LocURI>{uri}</LocURI></Target><Meta><Format xmlns=\"syncml:metinf\">{format}</Format></Meta><Data>{value}</Data></Item>"
            ));
        }
        body.push_str("</Add>");
        body.push_str(&std::format!(
            "<Replace><CmdID>2</CmdID><Item><Target><LocURI>{root}?prop=ACL</LocURI></Target><Data>{acl}</Data></Item></Replace>"
        ));
        std::format!(
            "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>\
<SessionID>0</SessionID><MsgID>1</MsgID><Target><LocURI>device</LocURI></Target>\
<Source><LocURI>bootstrap</LocURI></Source></SyncHdr><SyncBody>{body}<Final/></SyncBody></SyncML>"
        )
    }
}

/// Buffers for a session on the host, sized from its configuration.
#[derive(Debug, Clone)]
pub struct HostBuffers {
    rx: Vec<u8>,
    aux: Vec<u8>,
    tx: Vec<u8>,
    scratch: Vec<u8>,
    hmac: Vec<u8>,
}

impl HostBuffers {
    /// Buffers for `cfg`: receive buffers of its MaxMsgSize, a transmit buffer that takes
    /// any server's MaxMsgSize up to 64 KiB, and 4 KiB of scratch.
    pub fn new(cfg: &Config) -> Self {
        let rx = cfg.max_msg_size as usize;
        HostBuffers {
            rx: std::vec![0; rx],
            aux: std::vec![0; rx],
            tx: std::vec![0; 64 * 1024],
            scratch: std::vec![0; 4096],
            hmac: std::vec![0; 256],
        }
    }

    /// The buffers, lent to a [`Client`].
    pub fn lend(&mut self) -> Buffers<'_> {
        Buffers {
            rx: &mut self.rx,
            aux: &mut self.aux,
            tx: &mut self.tx,
            scratch: &mut self.scratch,
            hmac: &mut self.hmac,
        }
    }
}

/// Runs one session with the account at `./DMAcc/<account>` over `transport`, start to
/// end, with the environment's alerts; `observe` sees each message.
pub fn run_session<F, H, T>(
    env: &mut Env<'_, '_, F, H>,
    cfg: Config,
    account: &str,
    initiation: Initiation,
    transport: T,
    observe: impl FnMut(Event<'_>),
) -> Result<Outcome, ClientError<T::Error>>
where
    F: NorFlash,
    H: Handlers,
    T: Transport,
{
    let mut session = Session::new(env, cfg, account, initiation)?;
    let mut buffers = HostBuffers::new(&cfg);
    let mut client = Client::new(transport, buffers.lend());
    client.run(&mut session, env, observe)
}

/// A line naming a message on the wire and what it is, for transcripts.
pub fn describe(event: &Event<'_>) -> String {
    match event {
        Event::Sent {
            body,
            encoding,
            url,
        } => std::format!(
            "client -> server  {} bytes {:?} to {url}",
            body.len(),
            encoding
        ),
        Event::Received { body } => std::format!(
            "server -> client  {} bytes {}",
            body.len(),
            match codec::detect(body) {
                Some(e) => std::format!("{e:?}"),
                None => "(unknown encoding)".into(),
            }
        ),
    }
}

/// A message as indented XML, whatever its encoding: for transcripts people read. Binary
/// data, which XML cannot carry, is shown as a note of its length and first bytes in hex;
/// a message that does not decode is shown as the error and its first bytes.
pub fn readable(message: &[u8]) -> String {
    let parsed = match codec::parse(message) {
        Ok(m) => m,
        Err(e) => {
            let head: Vec<String> = message
                .iter()
                .take(32)
                .map(|b| std::format!("{b:02x}"))
                .collect();
            return std::format!("(undecodable: {e}; starts {})", head.join(" "));
        }
    };
    let bump = bumpalo::Bump::new();
    let shown = Message {
        header: parsed.header,
        body: codec::SyncBody {
            commands: readable_list(&bump, parsed.body.commands),
            is_final: parsed.body.is_final,
        },
    };
    let options = EncodeOptions {
        indent: true,
        xml_declaration: false,
        ..EncodeOptions::new(Encoding::Xml)
    };
    let encoded = shown.encoded_len_with(&options).and_then(|len| {
        let mut buf = std::vec![0u8; len];
        shown.encode_with(&options, &mut buf).map(|n| {
            buf.truncate(n);
            buf
        })
    });
    match encoded {
        Ok(buf) => String::from_utf8_lossy(&buf).into_owned(),
        Err(e) => std::format!("(cannot show as XML: {e})"),
    }
}

/// `commands` with every binary data replaced by a readable note.
fn readable_list<'b>(
    bump: &'b bumpalo::Bump,
    commands: codec::List<'b, codec::Command<'b>>,
) -> codec::List<'b, codec::Command<'b>> {
    use codec::Command as C;
    let out: Vec<C<'b>> = commands
        .iter()
        .map(|c| match c {
            C::Add(ic) => C::Add(readable_ic(bump, ic)),
            C::Copy(ic) => C::Copy(readable_ic(bump, ic)),
            C::Delete(ic) => C::Delete(readable_ic(bump, ic)),
            C::Get(ic) => C::Get(readable_ic(bump, ic)),
            C::Replace(ic) => C::Replace(readable_ic(bump, ic)),
            C::Alert(a) => C::Alert(codec::Alert {
                items: readable_items(bump, a.items),
                ..a
            }),
            C::Exec(e) => C::Exec(codec::Exec {
                items: readable_items(bump, e.items),
                ..e
            }),
            C::Results(r) => C::Results(codec::Results {
                items: readable_items(bump, r.items),
                ..r
            }),
            C::Status(st) => C::Status(codec::Status {
                items: readable_items(bump, st.items),
                ..st
            }),
            C::Atomic(k) => C::Atomic(codec::Container {
                commands: readable_list(bump, k.commands),
                ..k
            }),
            C::Sequence(k) => C::Sequence(codec::Container {
                commands: readable_list(bump, k.commands),
                ..k
            }),
            other => other,
        })
        .collect();
    codec::List::new(bump.alloc_slice_copy(&out))
}

fn readable_ic<'b>(bump: &'b bumpalo::Bump, ic: codec::ItemCommand<'b>) -> codec::ItemCommand<'b> {
    codec::ItemCommand {
        items: readable_items(bump, ic.items),
        ..ic
    }
}

fn readable_items<'b>(
    bump: &'b bumpalo::Bump,
    items: codec::List<'b, Item<'b>>,
) -> codec::List<'b, Item<'b>> {
    let out: Vec<Item<'b>> = items
        .iter()
        .map(|item| match item.data {
            Some(Data::Opaque(t) | Data::Text(t)) if !shows_in_xml(&t) => {
                let bytes: Vec<u8> = t.bytes().collect();
                let mut note = std::format!("[{} bytes of binary data: ", bytes.len());
                for b in bytes.iter().take(16) {
                    let _ = write!(note, "{b:02x}");
                }
                note.push_str(if bytes.len() > 16 { "...]" } else { "]" });
                Item {
                    data: Some(Data::Text(Text::new(bump.alloc_str(&note)))),
                    ..item
                }
            }
            _ => item,
        })
        .collect();
    codec::List::new(bump.alloc_slice_copy(&out))
}

/// Whether text can stand in XML character data: UTF-8 without control characters other
/// than tab, line feed and carriage return.
fn shows_in_xml(t: &Text<'_>) -> bool {
    let bytes: Vec<u8> = t.bytes().collect();
    std::str::from_utf8(&bytes).is_ok_and(|s| {
        !s.chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_generators_repeat_and_differ_by_seed() {
        let (mut a, mut b, mut c) = (SeededRng::new(7), SeededRng::new(7), SeededRng::new(8));
        let (mut x, mut y, mut z) = ([0u8; 13], [0u8; 13], [0u8; 13]);
        a.fill_bytes(&mut x);
        b.fill_bytes(&mut y);
        c.fill_bytes(&mut z);
        assert_eq!(x, y);
        assert_ne!(x, z);
    }

    #[test]
    fn bootstrap_messages_decode_and_escape_their_values() {
        let spec = AccountSpec {
            node: "srv",
            server_id: "a&b",
            addr: "http://127.0.0.1:1/dm?x=<1>",
            client: Some(CredSpec {
                scheme: AuthScheme::Md5Digest,
                name: "dev",
                secret: "pw",
                nonce: b"\x00\xff",
            }),
            server: None,
            acl: None,
        };
        let xml = spec.bootstrap_message();
        let msg = codec::parse(xml.as_bytes()).unwrap();
        assert_eq!(msg.body.commands.len(), 2);
        assert!(xml.contains("<Data>AP8=</Data>"), "nonce as b64");
        assert!(xml.contains("<Data>DIGEST</Data>"));
        assert!(readable(xml.as_bytes()).contains("  <SyncHdr>"));
    }
}
