//! The test server's record of a run: every message both ways, kept as sent and decoded on
//! demand, and what the server made of the client's messages: the statuses it gave each
//! server command, its results, its alerts, and every rule it broke.

use std::fmt::Write as _;
use std::string::{String, ToString};
use std::vec::Vec;

use iotadm::codec::{self, Data, DecodeError, Encoding, Item, Message, Text, XmlEvent};

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the client (device) to the server.
    ClientToServer,
    /// From the server to the client.
    ServerToClient,
}

/// One message as it travelled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Which way it went.
    pub direction: Direction,
    /// The session it belongs to (index into [`Transcript::sessions`]).
    pub session: usize,
    /// The package number (1, 3, 5... from the client; 2, 4, 6... from the server). A
    /// client that resends package 1 after a challenge starts again at 1.
    pub package: u32,
    /// The message's `MsgID`.
    pub msg_id: u32,
    /// Its encoding.
    pub encoding: Encoding,
    /// The HTTP body, exactly as sent.
    pub body: Vec<u8>,
    /// The `x-syncml-hmac` header, if any.
    pub hmac: Option<String>,
    /// The request path the client posted to (the same for the server's reply).
    pub path: String,
}

impl Record {
    /// The message, decoded.
    pub fn message(&self) -> Result<Message<'_>, DecodeError> {
        codec::parse(&self.body)
    }

    /// The message as indented XML, for people: see [`crate::sim::readable`].
    pub fn to_xml(&self) -> String {
        crate::sim::readable(&self.body)
    }
}

/// An item the client sent (in a `Status`, `Results`, `Alert` or `Replace`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceivedItem {
    /// `Source/LocURI`.
    pub source: Option<String>,
    /// `Target/LocURI`.
    pub target: Option<String>,
    /// `Meta/Format`.
    pub format: Option<String>,
    /// `Meta/Type`.
    pub type_: Option<String>,
    /// `Meta/Mark`.
    pub mark: Option<String>,
    /// `Meta/Size`.
    pub size: Option<String>,
    /// The data, decoded (for a large object, every chunk joined); empty without `Data`.
    pub data: Vec<u8>,
    /// Embedded XML data (TNDS), rendered as XML text.
    pub xml: Option<String>,
    /// `MoreData` was set (only on items of a large object being received).
    pub more_data: bool,
}

impl ReceivedItem {
    /// The data as text (lossy for bytes that are not UTF-8).
    pub fn data_str(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.data)
    }
}

/// A command the server sent, and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentCommand {
    /// The session.
    pub session: usize,
    /// The server package it went in.
    pub package: u32,
    /// `(MsgID, CmdID)` of each time it went out: one for an ordinary command, one per
    /// chunk for a large object.
    pub sends: Vec<(u32, u32)>,
    /// The element name: `Get`, `Replace`, ...
    pub name: &'static str,
    /// The alert code, for an `Alert`.
    pub alert: Option<u16>,
    /// The label given with [`Cmd::label`](super::Cmd::label).
    pub label: Option<String>,
    /// The items' `Target/LocURI`s.
    pub targets: Vec<String>,
    /// Every status code the client gave it, in order (a large object gets 213 per chunk,
    /// then the final status).
    pub statuses: Vec<u16>,
    /// The `Atomic`/`Sequence` it was in (index into [`Transcript::commands`]).
    pub parent: Option<usize>,
    /// `NoResp` was set.
    pub no_resp: bool,
}

impl SentCommand {
    /// The last status the client gave it.
    pub fn status(&self) -> Option<u16> {
        self.statuses.last().copied()
    }
}

/// A `Status` the client sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientStatus {
    /// The session.
    pub session: usize,
    /// The client package.
    pub package: u32,
    /// The client message's `MsgID`.
    pub msg_id: u32,
    /// `MsgRef`.
    pub msg_ref: Option<u32>,
    /// `CmdRef` (0 for the server's `SyncHdr`).
    pub cmd_ref: u32,
    /// `Cmd`.
    pub cmd: String,
    /// The code.
    pub code: u16,
    /// `TargetRef`s.
    pub target_refs: Vec<String>,
    /// `SourceRef`s.
    pub source_refs: Vec<String>,
    /// `Chal` scheme (`Meta/Type`) and `NextNonce`, if the status challenges.
    pub chal: Option<(Option<String>, Option<String>)>,
    /// `Item`s (e.g. what the user typed for a 1102 alert, or picked for 1103/1104).
    pub items: Vec<ReceivedItem>,
    /// The server command it answers (index into [`Transcript::commands`]).
    pub command: Option<usize>,
}

/// A `Results` the client sent (for a large object: once, with the data joined).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientResults {
    /// The session.
    pub session: usize,
    /// The client package.
    pub package: u32,
    /// The client message's `MsgID` (of the last chunk, for a large object).
    pub msg_id: u32,
    /// `MsgRef`.
    pub msg_ref: Option<u32>,
    /// `CmdRef`: the `Get`'s `CmdID`.
    pub cmd_ref: u32,
    /// The items.
    pub items: Vec<ReceivedItem>,
    /// The `Get` it answers (index into [`Transcript::commands`]).
    pub command: Option<usize>,
}

/// A command other than `Status`/`Results` the client sent: `Alert` (1200, 1201, 1222,
/// 1223, 1226 ...) or `Replace` (DevInfo in package 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCommand {
    /// The session.
    pub session: usize,
    /// The client package.
    pub package: u32,
    /// The client message's `MsgID`.
    pub msg_id: u32,
    /// `CmdID`.
    pub cmd_id: u32,
    /// The element name.
    pub name: String,
    /// The alert code, for an `Alert`.
    pub alert: Option<u16>,
    /// `Correlator`.
    pub correlator: Option<String>,
    /// The items.
    pub items: Vec<ReceivedItem>,
    /// The status the server answered.
    pub answered: u16,
}

/// A rule of OMA DM 1.2 the client broke, as the server saw it, or a scripted command the
/// server could not send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The session.
    pub session: usize,
    /// The client's `MsgID` at the time (0 before any message).
    pub msg_id: u32,
    /// Who is at fault: the client, or the script.
    pub by: Party,
    /// What went wrong.
    pub what: String,
}

/// Who caused a [`Violation`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    /// The client broke a protocol rule.
    Client,
    /// The script asked for something the server cannot send (an `Atomic` larger than a
    /// message, an object larger than the client's MaxObjSize).
    Script,
}

/// How a session ended, as far as the server knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// Still running.
    Open,
    /// The server sent its last package (statuses only, with `Final`).
    Completed,
    /// The client sent Alert 1223.
    AbortedByClient,
    /// The client failed authentication too often.
    AuthFailed,
}

/// One session as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// The account's server id.
    pub server_id: String,
    /// `SessionID`.
    pub session_id: String,
    /// The client's `Source/LocURI` (device id).
    pub device: String,
    /// The client's last `MaxMsgSize`.
    pub max_msg_size: Option<usize>,
    /// The client's last `MaxObjSize`.
    pub max_obj_size: Option<usize>,
    /// How it ended.
    pub state: SessionState,
    /// Whether the client authenticated.
    pub authenticated: bool,
}

/// Everything the server saw and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transcript {
    pub(crate) records: Vec<Record>,
    pub(crate) sessions: Vec<SessionInfo>,
    pub(crate) commands: Vec<SentCommand>,
    pub(crate) statuses: Vec<ClientStatus>,
    pub(crate) results: Vec<ClientResults>,
    pub(crate) client_commands: Vec<ClientCommand>,
    pub(crate) violations: Vec<Violation>,
}

impl Transcript {
    /// Every message both ways, in order.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// The sessions, in the order they started.
    pub fn sessions(&self) -> &[SessionInfo] {
        &self.sessions
    }

    /// Every command the server sent (children of `Atomic`/`Sequence` included).
    pub fn commands(&self) -> &[SentCommand] {
        &self.commands
    }

    /// Every `Status` the client sent.
    pub fn statuses(&self) -> &[ClientStatus] {
        &self.statuses
    }

    /// Every `Results` the client sent.
    pub fn results(&self) -> &[ClientResults] {
        &self.results
    }

    /// Every other command the client sent (alerts, DevInfo).
    pub fn client_commands(&self) -> &[ClientCommand] {
        &self.client_commands
    }

    /// The Generic Alerts (1226) the client sent.
    pub fn generic_alerts(&self) -> impl Iterator<Item = &ClientCommand> {
        self.client_commands
            .iter()
            .filter(|c| c.alert == Some(iotadm::AlertCode::GenericAlert.into()))
    }

    /// Rules the client broke and commands the script could not send.
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// The command labelled `label` (the latest one, if several share it).
    pub fn command(&self, label: &str) -> Option<&SentCommand> {
        self.commands
            .iter()
            .rev()
            .find(|c| c.label.as_deref() == Some(label))
    }

    /// The last status of the command labelled `label`.
    pub fn status(&self, label: &str) -> Option<u16> {
        self.command(label).and_then(SentCommand::status)
    }

    /// The result items for the command labelled `label`.
    pub fn results_for(&self, label: &str) -> Vec<&ReceivedItem> {
        let index = self
            .commands
            .iter()
            .rposition(|c| c.label.as_deref() == Some(label));
        self.results
            .iter()
            .filter(|r| r.command.is_some() && r.command == index)
            .flat_map(|r| r.items.iter())
            .collect()
    }

    /// The statuses the client gave the server's `SyncHdr`s, in order.
    pub fn header_statuses(&self) -> impl Iterator<Item = &ClientStatus> {
        self.statuses.iter().filter(|s| s.cmd_ref == 0)
    }

    /// The whole run as readable text: one heading per message, then the message as
    /// indented XML.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for r in &self.records {
            let arrow = match r.direction {
                Direction::ClientToServer => "client -> server",
                Direction::ServerToClient => "server -> client",
            };
            let _ = writeln!(
                out,
                "=== {arrow}: package {}, message {} ({:?}, {} bytes{}) ===",
                r.package,
                r.msg_id,
                r.encoding,
                r.body.len(),
                if r.hmac.is_some() {
                    ", x-syncml-hmac"
                } else {
                    ""
                }
            );
            out.push_str(&r.to_xml());
        }
        out
    }
}

/// One complete client package, handed to the hook of
/// [`Script::on_package`](super::Script::on_package).
#[derive(Debug, Clone, Copy)]
pub struct ClientPackage<'t> {
    /// The session.
    pub session: usize,
    /// The package number.
    pub number: u32,
    /// Everything so far.
    pub transcript: &'t Transcript,
}

impl<'t> ClientPackage<'t> {
    /// The statuses in this package.
    pub fn statuses(&self) -> impl Iterator<Item = &'t ClientStatus> + '_ {
        self.transcript
            .statuses
            .iter()
            .filter(|s| s.session == self.session && s.package == self.number)
    }

    /// The results in this package.
    pub fn results(&self) -> impl Iterator<Item = &'t ClientResults> + '_ {
        self.transcript
            .results
            .iter()
            .filter(|s| s.session == self.session && s.package == self.number)
    }

    /// The alerts and other commands in this package.
    pub fn commands(&self) -> impl Iterator<Item = &'t ClientCommand> + '_ {
        self.transcript
            .client_commands
            .iter()
            .filter(|s| s.session == self.session && s.package == self.number)
    }
}

/// The decoded content of a text as an owned string (lossy for non-UTF-8).
pub(crate) fn text_string(t: &Text<'_>) -> String {
    String::from_utf8_lossy(&text_bytes(t)).into_owned()
}

/// The decoded content of a text as bytes.
pub(crate) fn text_bytes(t: &Text<'_>) -> Vec<u8> {
    let mut v = Vec::with_capacity(t.len());
    for c in t.chunks() {
        v.extend_from_slice(c.as_bytes());
    }
    v
}

/// Embedded XML as text.
pub(crate) fn xml_string<'a>(events: impl Iterator<Item = XmlEvent<'a>>) -> String {
    let mut out = String::new();
    let mut open: Vec<String> = Vec::new();
    let mut pending = false;
    for e in events {
        match e {
            XmlEvent::Start { name, namespace } => {
                if pending {
                    out.push('>');
                }
                out.push('<');
                out.push_str(name);
                if let Some(ns) = namespace {
                    let _ = write!(out, " xmlns=\"{ns}\"");
                }
                pending = true;
                open.push(name.to_string());
            }
            XmlEvent::Text(t) => {
                if pending {
                    out.push('>');
                    pending = false;
                }
                for ch in text_string(&t).chars() {
                    match ch {
                        '&' => out.push_str("&amp;"),
                        '<' => out.push_str("&lt;"),
                        '>' => out.push_str("&gt;"),
                        c => out.push(c),
                    }
                }
            }
            XmlEvent::End => {
                let name = open.pop().unwrap_or_default();
                if pending {
                    out.push_str("/>");
                    pending = false;
                } else {
                    let _ = write!(out, "</{name}>");
                }
            }
        }
    }
    out
}

/// An item as the transcript keeps it.
pub(crate) fn received_item(item: &Item<'_>) -> ReceivedItem {
    let meta = item.meta.map(|m| m.to_metinf()).unwrap_or_default();
    let (data, xml) = match item.data {
        Some(Data::Text(t) | Data::Opaque(t)) => (text_bytes(&t), None),
        Some(Data::Xml(x)) => (Vec::new(), Some(xml_string(x.events()))),
        None => (Vec::new(), None),
    };
    ReceivedItem {
        source: item.source.map(|l| text_string(&l.uri)),
        target: item.target.map(|l| text_string(&l.uri)),
        format: meta.format.map(|t| text_string(&t)),
        type_: meta.type_.map(|t| text_string(&t)),
        mark: meta.mark.map(|t| text_string(&t)),
        size: meta.size.map(|t| text_string(&t)),
        data,
        xml,
        more_data: item.more_data,
    }
}
