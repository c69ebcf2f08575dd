//! The simulated handset the session tests drive: a management tree on RAM flash with
//! DevInfo and DM accounts provisioned by a trusted bootstrap, a platform handler that keeps
//! large values and runs `Exec`, a user who answers alerts from a script, and a driver that
//! runs one session of the real engine over HTTP against the test server.

use std::collections::{HashMap, VecDeque};

use iotadm::auth::AuthScheme;
use iotadm::codes::StatusCode;
use iotadm::flash::MemFlash;
use iotadm::platform::NoClock;
use iotadm::schema::Format;
use iotadm::session::{
    Buffers, Choices, Client, ClientError, Config, DefaultAnswers, DeviceInfo, Env,
    Error as SessionError, Event, GenericAlert, Initiation, Outcome, Session, UiAnswer, UiKind,
    UiRequest, UserInteraction,
};
use iotadm::tree::{
    ExecOutcome, Handlers, NoHandlers, NodeHandler, NodeRef, Principal, Tree, TreeStorage,
    UriLimits,
};
use iotadm::ui::{EchoType, InputType};
use iotadm_host::sim::{AccountSpec, CredSpec, SeededRng};
use iotadm_host::{HttpError, HttpTransport};

/// The handset's `DevInfo/DevId`, its `Source/LocURI` in every message.
pub const DEVICE: &str = "IMEI:490154203237518";

/// RAM flash with 4 KiB sectors.
pub type Flash = MemFlash<Vec<u8>, 4096, 8>;

/// The handset's tree storage: 256 entries, 16 KiB of names and values, values the tree
/// keeps up to a little under 512 bytes (larger ones belong to a [`Platform`] handler).
pub type Storage = TreeStorage<256, 16_384, 512>;

/// The handset's tree.
pub type DmTree<H = NoHandlers> = Tree<'static, Flash, H>;

/// Storage for one tree that lives as long as the test process (a test handset is
/// mounted a few times per test).
pub fn storage() -> &'static mut Storage {
    Box::leak(Box::new(Storage::new()))
}

/// What a failed session run returns.
pub type RunError = ClientError<HttpError>;

/// 1 MiB of erased RAM flash.
pub fn blank_flash() -> Flash {
    let mut f = MemFlash::new(vec![0u8; 1 << 20]);
    f.erase_all();
    f
}

/// Mounts a tree on `flash` (a blank one, or the bytes of an earlier tree: a restart).
pub fn mount<H: Handlers>(flash: Flash, handlers: H) -> DmTree<H> {
    Tree::mount(
        storage(),
        super::test_schema(),
        flash,
        handlers,
        UriLimits::DEFAULT,
    )
    .expect("tree mounts")
}

/// What the test handset reports in DevInfo and DevDetail.
pub fn device_info() -> DeviceInfo<'static> {
    DeviceInfo {
        model: "test-handset",
        ..iotadm_host::sim::device_info(DEVICE)
    }
}

/// A factory-fresh handset: its DevInfo and no account.
pub fn handset<H: Handlers>(handlers: H) -> DmTree<H> {
    let mut tree = mount(blank_flash(), handlers);
    device_info()
        .store(&mut tree)
        .expect("device information stored");
    tree
}

/// One direction's credentials.
pub fn cred<'a>(
    scheme: AuthScheme,
    name: &'a str,
    secret: &'a str,
    nonce: &'a [u8],
) -> CredSpec<'a> {
    CredSpec {
        scheme,
        name,
        secret,
        nonce,
    }
}

/// An account at `./DMAcc/<server_id>` whose ACL gives its server every command there.
pub fn account<'a>(
    server_id: &'a str,
    addr: &'a str,
    client: Option<CredSpec<'a>>,
    server: Option<CredSpec<'a>>,
) -> AccountSpec<'a> {
    AccountSpec {
        node: server_id,
        server_id,
        addr,
        client,
        server,
        acl: None,
    }
}

/// Provisions `spec` as the factory does (a trusted bootstrap).
pub fn provision<H: Handlers>(tree: &mut DmTree<H>, spec: &AccountSpec<'_>) {
    spec.provision(tree).expect("bootstrap applies");
}

/// A handset with the one account `srv1` at `addr`.
pub fn device(addr: &str, client: CredSpec<'_>, server: Option<CredSpec<'_>>) -> DmTree {
    let mut tree = handset(NoHandlers);
    provision(&mut tree, &account("srv1", addr, Some(client), server));
    tree
}

/// Reads a value as the device (no ACL applies); `None` when the node does not exist.
pub fn value<H: Handlers>(tree: &mut DmTree<H>, uri: &str) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 64 * 1024];
    match tree.get(Principal::Device, uri, 0, &mut buf) {
        Ok(r) => {
            buf.truncate(r.len);
            Some(buf)
        }
        Err(StatusCode::NotFound) => None,
        Err(e) => panic!("reading {uri}: {e:?}"),
    }
}

/// How to run one session.
pub struct Run<'a> {
    /// The session's settings.
    pub cfg: Config,
    /// The account: `./DMAcc/<account>`.
    pub account: &'a str,
    /// Who started it.
    pub initiation: Initiation,
    /// Generic Alerts for package 1.
    pub alerts: &'a [GenericAlert<'a>],
    /// Seed of the handset's random numbers (session id, nonces).
    pub seed: u64,
}

impl Default for Run<'_> {
    fn default() -> Self {
        Run {
            cfg: Config::default(),
            account: "srv1",
            initiation: Initiation::Client,
            alerts: &[],
            seed: 7,
        }
    }
}

/// Runs a client-initiated session of account `srv1` whose alerts get their default answer.
pub fn run<H: Handlers>(
    tree: &mut DmTree<H>,
    cfg: Config,
    initiation: Initiation,
) -> Result<Outcome, RunError> {
    run_with(
        tree,
        &mut DefaultAnswers,
        Run {
            cfg,
            initiation,
            ..Run::default()
        },
    )
}

/// Runs one session to its end over HTTP, with buffers as small as a handset's: a receive
/// buffer of the client's MaxMsgSize and a small one for acknowledgements.
pub fn run_with<H: Handlers>(
    tree: &mut DmTree<H>,
    ui: &mut dyn UserInteraction,
    run: Run<'_>,
) -> Result<Outcome, RunError> {
    with_session(tree, ui, run, |session, env, bufs| {
        let mut client = Client::new(HttpTransport::new(), bufs);
        counting(|observe| client.run(session, env, observe))
    })
    .unwrap_or_else(|e| Err(ClientError::Session(e)))
}

/// Sets up one session as [`run_with`] runs it (its environment, and buffers as small as a
/// handset's) and hands it to `drive`, which runs it with a client of its choice.
pub fn with_session<H: Handlers, R>(
    tree: &mut DmTree<H>,
    ui: &mut dyn UserInteraction,
    run: Run<'_>,
    drive: impl FnOnce(&mut Session, &mut Env<'_, 'static, Flash, H>, Buffers<'_>) -> R,
) -> Result<R, SessionError> {
    let cfg = run.cfg;
    let (mut rx, mut aux, mut tx, mut scratch, mut hmac) = (
        vec![0u8; cfg.max_msg_size as usize],
        vec![0u8; 2048],
        vec![0u8; 64 * 1024],
        vec![0u8; 4096],
        vec![0u8; 256],
    );
    let mut rng = SeededRng::new(run.seed);
    let clock = NoClock;
    let mut env = Env {
        tree,
        ui,
        rng: &mut rng,
        clock: &clock,
        alerts: run.alerts,
    };
    let mut session = Session::new(&mut env, cfg, run.account, run.initiation)?;
    let bufs = Buffers {
        rx: &mut rx,
        aux: &mut aux,
        tx: &mut tx,
        scratch: &mut scratch,
        hmac: &mut hmac,
    };
    Ok(drive(&mut session, &mut env, bufs))
}

/// Runs a session with `run`, which gets an observer counting the messages sent, and checks
/// that a session that ends counts as many in its outcome.
pub fn counting<E>(
    run: impl FnOnce(&mut dyn FnMut(Event<'_>)) -> Result<Outcome, ClientError<E>>,
) -> Result<Outcome, ClientError<E>> {
    let mut sent = 0;
    let outcome = run(&mut |e| {
        if let Event::Sent { .. } = e {
            sent += 1;
        }
    });
    if let Ok(o) = &outcome {
        assert_eq!(
            o.messages_sent, sent,
            "the outcome counts every message sent"
        );
    }
    outcome
}

/// The static node at `uri`, `<x>` standing for a placeholder: where a handler binds.
pub fn node_id(uri: &str) -> u16 {
    super::test_schema()
        .find(uri)
        .unwrap_or_else(|| panic!("no node {uri}"))
}

/// The platform's side of a subtree: it keeps the values of its leaves (written whole or in
/// chunks), executes its nodes (`…/Update` is accepted to run later, 202; anything else
/// runs at once, 200) and records what happened.
#[derive(Debug, Default)]
pub struct Platform {
    /// Values kept, by path (without `./`).
    pub values: HashMap<String, Vec<u8>>,
    /// A streamed write in progress: its path and the bytes so far.
    pub streaming: Option<(String, Vec<u8>)>,
    /// `write_chunk` calls.
    pub chunks: usize,
    /// Streamed writes dropped (not committed).
    pub dropped: usize,
    /// Every `Exec`: path, data, correlator.
    pub execs: Vec<(String, Vec<u8>, Option<String>)>,
    /// `session_ended` calls.
    pub sessions_ended: usize,
}

impl NodeHandler for Platform {
    fn stores_values(&self, _: &NodeRef<'_>) -> bool {
        true
    }

    fn read(
        &mut self,
        node: &NodeRef<'_>,
        offset: usize,
        out: &mut [u8],
    ) -> Result<(usize, usize), StatusCode> {
        let v = self.values.get(node.path).ok_or(StatusCode::NotFound)?;
        let from = v.get(offset..).unwrap_or(&[]);
        let n = from.len().min(out.len());
        out[..n].copy_from_slice(&from[..n]);
        Ok((n, v.len()))
    }

    fn begin_write(&mut self, node: &NodeRef<'_>, _: Option<u64>) -> Result<(), StatusCode> {
        self.streaming = Some((node.path.to_string(), Vec::new()));
        Ok(())
    }

    fn write_chunk(
        &mut self,
        node: &NodeRef<'_>,
        offset: u64,
        chunk: &[u8],
    ) -> Result<(), StatusCode> {
        let (path, bytes) = self.streaming.as_mut().ok_or(StatusCode::CommandFailed)?;
        assert_eq!(path, node.path, "chunks go to the node being written");
        assert_eq!(offset as usize, bytes.len(), "chunks come in order");
        bytes.extend_from_slice(chunk);
        self.chunks += 1;
        Ok(())
    }

    fn end_write(&mut self, _: &NodeRef<'_>, commit: bool) -> Result<(), StatusCode> {
        let (path, bytes) = self.streaming.take().ok_or(StatusCode::CommandFailed)?;
        if commit {
            self.values.insert(path, bytes);
        } else {
            self.dropped += 1;
        }
        Ok(())
    }

    fn exec(
        &mut self,
        node: &NodeRef<'_>,
        data: &[u8],
        correlator: Option<&str>,
    ) -> Result<ExecOutcome, StatusCode> {
        self.execs.push((
            node.path.to_string(),
            data.to_vec(),
            correlator.map(str::to_string),
        ));
        Ok(if node.path.ends_with("/Update") {
            ExecOutcome::Accepted
        } else {
            ExecOutcome::Done
        })
    }

    fn session_ended(&mut self) {
        self.sessions_ended += 1;
    }
}

/// Creates the FUMO object `./FUMO/<name>` as the device does when it can take an update.
pub fn add_fumo<H: Handlers>(tree: &mut DmTree<H>, name: &str) {
    tree.add(
        Principal::Device,
        &format!("./FUMO/{name}"),
        None,
        Some(Format::Node),
        None,
    )
    .expect("FUMO object added");
}

/// One answer of a [`ScriptedUser`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Shown, or Yes.
    Ok,
    /// No.
    No,
    /// This text typed.
    Text(String),
    /// These choices picked.
    Choices(Vec<u8>),
    /// Cancelled.
    Cancel,
    /// No answer in time.
    Timeout,
}

/// What the user was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asked {
    pub kind: UiKind,
    pub text: String,
    pub choices: Vec<String>,
    pub min_display: Option<u32>,
    pub max_display: Option<u32>,
    pub default_response: Option<String>,
    pub max_len: Option<u32>,
    pub input_type: InputType,
    pub echo_type: EchoType,
}

/// A user who answers alerts from a script, in order, and decides on sessions a
/// notification asks for.
#[derive(Debug, Default)]
pub struct ScriptedUser {
    pub replies: VecDeque<Reply>,
    pub asked: Vec<Asked>,
    /// Refuse sessions (UI mode "user interaction").
    pub refuse_sessions: bool,
    /// Servers whose sessions the user was asked about.
    pub consulted: Vec<String>,
    /// Servers whose sessions the user was told about.
    pub informed: Vec<String>,
}

impl ScriptedUser {
    pub fn answering(replies: impl IntoIterator<Item = Reply>) -> Self {
        ScriptedUser {
            replies: replies.into_iter().collect(),
            ..ScriptedUser::default()
        }
    }
}

fn text_of(t: &iotadm::codec::Text<'_>) -> String {
    let mut v = Vec::new();
    for c in t.chunks() {
        v.extend_from_slice(c.as_bytes());
    }
    String::from_utf8(v).expect("UTF-8 alert text")
}

impl UserInteraction for ScriptedUser {
    fn ask<'s>(&mut self, request: &UiRequest<'_>, scratch: &'s mut [u8]) -> UiAnswer<'s> {
        let o = request.options;
        self.asked.push(Asked {
            kind: request.kind,
            text: text_of(&request.text),
            choices: request.choices.iter().map(text_of).collect(),
            min_display: o.min_display_secs,
            max_display: o.max_display_secs,
            default_response: o.default_response.map(str::to_string),
            max_len: o.max_len,
            input_type: o.input_type,
            echo_type: o.echo_type,
        });
        match self.replies.pop_front().expect("the script has an answer") {
            Reply::Ok => UiAnswer::Ok,
            Reply::No => UiAnswer::No,
            Reply::Text(t) => {
                let n = t.len();
                scratch[..n].copy_from_slice(t.as_bytes());
                UiAnswer::Text(std::str::from_utf8(&scratch[..n]).expect("UTF-8"))
            }
            Reply::Choices(c) => {
                UiAnswer::Choices(c.into_iter().fold(Choices::NONE, Choices::with))
            }
            Reply::Cancel => UiAnswer::Cancelled,
            Reply::Timeout => UiAnswer::Timeout,
        }
    }

    fn inform_session(&mut self, server: &str) {
        self.informed.push(server.to_string());
    }

    fn allow_session(&mut self, server: &str) -> bool {
        self.consulted.push(server.to_string());
        !self.refuse_sessions
    }
}
