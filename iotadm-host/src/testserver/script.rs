//! What the test server sends: commands built from owned values ([`Cmd`]), grouped in
//! packages and sessions ([`Script`]), and the hook that lets a test react to what the
//! client answered ([`Decision`]).

use std::boxed::Box;
use std::collections::VecDeque;
use std::string::{String, ToString};
use std::vec::Vec;

use super::transcript::ClientPackage;
use iotadm::codec::{self, Command, Data, Message, XmlEvent};
use iotadm::AlertCode;

/// MetInf properties of a command or item to send.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetaSpec {
    /// `Format`: `chr`, `int`, `b64`, `bin`, `bool`, `node`, ...
    pub format: Option<String>,
    /// `Type`: a MIME type or an MO identifier.
    pub type_: Option<String>,
    /// `Mark`.
    pub mark: Option<String>,
    /// `Size`; the server sets it itself on the first chunk of a large object.
    pub size: Option<String>,
}

/// One event of embedded XML (a TNDS tree), owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XmlPiece {
    /// An element starts; `namespace` where it enters one (see [`XmlEvent::Start`]).
    Start {
        /// Local name.
        name: String,
        /// Namespace, where it changes.
        namespace: Option<String>,
    },
    /// Character data.
    Text(String),
    /// The most recently started element ends.
    End,
}

/// The content of an item's `Data`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Character data.
    Text(String),
    /// Bytes, sent as WBXML opaque data (in an XML session they must be UTF-8).
    Bytes(Vec<u8>),
    /// Embedded XML, e.g. a TNDS `MgmtTree`.
    Xml(Vec<XmlPiece>),
}

impl Value {
    /// Length in bytes of text or bytes; `None` for embedded XML (never chunked).
    pub(crate) fn byte_len(&self) -> Option<usize> {
        match self {
            Value::Text(t) => Some(t.len()),
            Value::Bytes(b) => Some(b.len()),
            Value::Xml(_) => None,
        }
    }
}

/// One `Item` to send.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemSpec {
    /// `Target/LocURI`.
    pub target: Option<String>,
    /// `Source/LocURI`.
    pub source: Option<String>,
    /// `Meta`.
    pub meta: MetaSpec,
    /// `Data`.
    pub data: Option<Value>,
}

impl ItemSpec {
    /// An item addressing `target`.
    pub fn target(uri: &str) -> Self {
        ItemSpec {
            target: Some(uri.to_string()),
            ..ItemSpec::default()
        }
    }

    /// An item holding only data (as the items of a UI alert do).
    pub fn data(text: &str) -> Self {
        ItemSpec {
            data: Some(Value::Text(text.to_string())),
            ..ItemSpec::default()
        }
    }
}

/// Which command a [`Cmd`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CmdKind {
    /// `Add`.
    Add,
    /// `Alert` with its code.
    Alert(u16),
    /// `Atomic`.
    Atomic,
    /// `Copy`.
    Copy,
    /// `Delete`.
    Delete,
    /// `Exec`.
    Exec,
    /// `Get`.
    Get,
    /// `Replace`.
    Replace,
    /// `Sequence`.
    Sequence,
}

impl CmdKind {
    /// The element name.
    pub fn name(self) -> &'static str {
        match self {
            CmdKind::Add => "Add",
            CmdKind::Alert(_) => "Alert",
            CmdKind::Atomic => "Atomic",
            CmdKind::Copy => "Copy",
            CmdKind::Delete => "Delete",
            CmdKind::Exec => "Exec",
            CmdKind::Get => "Get",
            CmdKind::Replace => "Replace",
            CmdKind::Sequence => "Sequence",
        }
    }

    /// Whether the command holds other commands.
    pub fn is_container(self) -> bool {
        matches!(self, CmdKind::Atomic | CmdKind::Sequence)
    }
}

/// A server command to send, built with the constructors below and refined with the
/// chained setters. The server numbers it (`CmdID`) when it sends it.
///
/// ```
/// use iotadm_host::testserver::Cmd;
///
/// let get = Cmd::get("./DevInfo/Mod").label("model");
/// let set = Cmd::replace("./Vendor/Volume", "7").format("int");
/// let both = Cmd::atomic([get, set]);
/// assert_eq!(both.children().len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cmd {
    pub(crate) kind: CmdKind,
    pub(crate) no_resp: bool,
    pub(crate) meta: MetaSpec,
    pub(crate) correlator: Option<String>,
    pub(crate) items: Vec<ItemSpec>,
    pub(crate) children: Vec<Cmd>,
    pub(crate) label: Option<String>,
}

impl Cmd {
    /// A command of `kind` with these items.
    pub fn new(kind: CmdKind, items: Vec<ItemSpec>) -> Self {
        Cmd {
            kind,
            no_resp: false,
            meta: MetaSpec::default(),
            correlator: None,
            items,
            children: Vec::new(),
            label: None,
        }
    }

    fn one(kind: CmdKind, target: &str, data: Option<Value>) -> Self {
        Cmd::new(
            kind,
            std::vec![ItemSpec {
                data,
                ..ItemSpec::target(target)
            }],
        )
    }

    /// `Get` of one URI (query suffixes such as `?list=Struct` included).
    pub fn get(uri: &str) -> Self {
        Cmd::one(CmdKind::Get, uri, None)
    }

    /// `Get` of several URIs in one command.
    pub fn get_all(uris: &[&str]) -> Self {
        Cmd::new(
            CmdKind::Get,
            uris.iter().map(|u| ItemSpec::target(u)).collect(),
        )
    }

    /// `Replace` of a leaf with text.
    pub fn replace(uri: &str, text: &str) -> Self {
        Cmd::one(CmdKind::Replace, uri, Some(Value::Text(text.to_string())))
    }

    /// `Replace` of a leaf with any value.
    pub fn replace_value(uri: &str, value: Value) -> Self {
        Cmd::one(CmdKind::Replace, uri, Some(value))
    }

    /// `Add` of a leaf with text.
    pub fn add(uri: &str, text: &str) -> Self {
        Cmd::one(CmdKind::Add, uri, Some(Value::Text(text.to_string())))
    }

    /// `Add` of a leaf with any value.
    pub fn add_value(uri: &str, value: Value) -> Self {
        Cmd::one(CmdKind::Add, uri, Some(value))
    }

    /// `Add` of an interior node (`Format` `node`).
    pub fn add_node(uri: &str) -> Self {
        Cmd::one(CmdKind::Add, uri, None).format("node")
    }

    /// `Add` of a subtree given as a TNDS document (`<MgmtTree xmlns="syncml:dmddf1.2">`),
    /// typed `application/vnd.syncml.dmtnds+xml` (in a WBXML session the codec sends it
    /// as a nested WBXML document, as DM servers do). Fails when `tnds` is not well-formed.
    pub fn add_tnds(uri: &str, tnds: &str) -> Result<Self, codec::DecodeError> {
        let pieces = parse_embedded(tnds)?;
        Ok(Cmd::one(CmdKind::Add, uri, Some(Value::Xml(pieces)))
            .format("xml")
            .mime("application/vnd.syncml.dmtnds+xml"))
    }

    /// `Delete` of a node.
    pub fn delete(uri: &str) -> Self {
        Cmd::one(CmdKind::Delete, uri, None)
    }

    /// `Copy` of `source` to `target`.
    pub fn copy(target: &str, source: &str) -> Self {
        Cmd::new(
            CmdKind::Copy,
            std::vec![ItemSpec {
                source: Some(source.to_string()),
                ..ItemSpec::target(target)
            }],
        )
    }

    /// `Exec` of a node; add data with [`Cmd::data`] and a correlator with
    /// [`Cmd::correlator`].
    pub fn exec(uri: &str) -> Self {
        Cmd::one(CmdKind::Exec, uri, None)
    }

    /// An `Alert` with `code` and items holding `texts` as data: for the user-interaction
    /// alerts 1100-1104 the first item is the option string (`MINDT=10&DR=1`, possibly
    /// empty) and the next ones the prompt and the choices.
    pub fn alert(code: u16, texts: &[&str]) -> Self {
        Cmd::new(
            CmdKind::Alert(code),
            texts.iter().map(|t| ItemSpec::data(t)).collect(),
        )
    }

    /// Alert 1100: show `text`.
    pub fn display(options: &str, text: &str) -> Self {
        Cmd::alert(AlertCode::Display.into(), &[options, text])
    }

    /// Alert 1101: ask the user to confirm `text`.
    pub fn confirm(options: &str, text: &str) -> Self {
        Cmd::alert(AlertCode::ConfirmOrReject.into(), &[options, text])
    }

    /// Alert 1102: ask the user for text.
    pub fn text_input(options: &str, prompt: &str) -> Self {
        Cmd::alert(AlertCode::TextInput.into(), &[options, prompt])
    }

    /// Alert 1103: ask the user to pick one of `choices`.
    pub fn single_choice(options: &str, prompt: &str, choices: &[&str]) -> Self {
        Cmd::choice(AlertCode::SingleChoice, options, prompt, choices)
    }

    /// Alert 1104: ask the user to pick any of `choices`.
    pub fn multiple_choice(options: &str, prompt: &str, choices: &[&str]) -> Self {
        Cmd::choice(AlertCode::MultipleChoice, options, prompt, choices)
    }

    fn choice(code: AlertCode, options: &str, prompt: &str, choices: &[&str]) -> Self {
        let mut texts = std::vec![options, prompt];
        texts.extend_from_slice(choices);
        Cmd::alert(code.into(), &texts)
    }

    /// `Atomic` over `commands`: all or nothing.
    pub fn atomic(commands: impl IntoIterator<Item = Cmd>) -> Self {
        Cmd::container(CmdKind::Atomic, commands)
    }

    /// `Sequence` over `commands`: in order.
    pub fn sequence(commands: impl IntoIterator<Item = Cmd>) -> Self {
        Cmd::container(CmdKind::Sequence, commands)
    }

    fn container(kind: CmdKind, commands: impl IntoIterator<Item = Cmd>) -> Self {
        Cmd {
            children: commands.into_iter().collect(),
            ..Cmd::new(kind, Vec::new())
        }
    }

    /// Names the command, to find its statuses and results in the transcript.
    pub fn label(mut self, label: &str) -> Self {
        self.label = Some(label.to_string());
        self
    }

    /// Asks for no status (`NoResp`).
    pub fn no_resp(mut self) -> Self {
        self.no_resp = true;
        self
    }

    /// Sets `Meta/Format` on every item.
    pub fn format(mut self, format: &str) -> Self {
        for item in &mut self.items {
            item.meta.format = Some(format.to_string());
        }
        self
    }

    /// Sets `Meta/Type` on every item.
    pub fn mime(mut self, type_: &str) -> Self {
        for item in &mut self.items {
            item.meta.type_ = Some(type_.to_string());
        }
        self
    }

    /// Sets the command-level `Meta` (defaults for every item).
    pub fn meta(mut self, meta: MetaSpec) -> Self {
        self.meta = meta;
        self
    }

    /// Sets the data of every item (for `Exec` arguments, say).
    pub fn data(mut self, text: &str) -> Self {
        for item in &mut self.items {
            item.data = Some(Value::Text(text.to_string()));
        }
        self
    }

    /// Sets the `Correlator` (of an `Exec` or an `Alert`).
    pub fn correlator(mut self, correlator: &str) -> Self {
        self.correlator = Some(correlator.to_string());
        self
    }

    /// Adds an item.
    pub fn item(mut self, item: ItemSpec) -> Self {
        self.items.push(item);
        self
    }

    /// Which command this is.
    pub fn kind(&self) -> CmdKind {
        self.kind
    }

    /// The label given with [`Cmd::label`].
    pub fn label_str(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// The items.
    pub fn items(&self) -> &[ItemSpec] {
        &self.items
    }

    /// The commands inside an `Atomic` or `Sequence`.
    pub fn children(&self) -> &[Cmd] {
        &self.children
    }

    /// The `Target/LocURI`s of the items.
    pub fn targets(&self) -> Vec<String> {
        self.items.iter().filter_map(|i| i.target.clone()).collect()
    }

    /// The one item whose data may go as a large object in chunks: commands of one item
    /// holding text or bytes.
    pub(crate) fn chunkable(&self) -> Option<&ItemSpec> {
        match (self.kind, self.items.as_slice()) {
            (CmdKind::Add | CmdKind::Replace | CmdKind::Exec, [item]) => {
                item.data.as_ref().and_then(Value::byte_len).map(|_| item)
            }
            _ => None,
        }
    }

    /// The largest item data in the command and its children, for the MaxObjSize check.
    pub(crate) fn largest_object(&self) -> usize {
        let own = self
            .items
            .iter()
            .filter_map(|i| i.data.as_ref().and_then(Value::byte_len))
            .max()
            .unwrap_or(0);
        self.children
            .iter()
            .map(Cmd::largest_object)
            .fold(own, usize::max)
    }
}

/// Reads embedded XML into owned pieces, through the crate's own decoder (the document
/// goes inside the `Data` of a minimal message).
fn parse_embedded(xml: &str) -> Result<Vec<XmlPiece>, codec::DecodeError> {
    let mut doc = String::from(
        "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncHdr><VerDTD>1.2</VerDTD>\
         <VerProto>DM/1.2</VerProto><SessionID>1</SessionID><MsgID>1</MsgID>\
         <Target><LocURI>t</LocURI></Target><Source><LocURI>s</LocURI></Source></SyncHdr>\
         <SyncBody><Add><CmdID>1</CmdID><Item><Data>",
    );
    // An XML declaration cannot stand inside an element.
    let body = xml.trim_start();
    let body = match body.strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>").map_or(rest, |(_, r)| r),
        None => body,
    };
    doc.push_str(body);
    doc.push_str("</Data></Item></Add></SyncBody></SyncML>");
    let msg = codec::parse_xml(doc.as_bytes())?;
    let data = msg.body.commands.first().and_then(|c| match c {
        Command::Add(add) => add.items.first().and_then(|i| i.data),
        _ => None,
    });
    Ok(match data {
        Some(Data::Xml(embedded)) => embedded.events().map(own_event).collect(),
        // Plain text: no element at all; kept as text.
        Some(d) => d
            .content()
            .map(|t| std::vec![XmlPiece::Text(super::transcript::text_string(&t))])
            .unwrap_or_default(),
        None => Vec::new(),
    })
}

fn own_event(e: XmlEvent<'_>) -> XmlPiece {
    match e {
        XmlEvent::Start { name, namespace } => XmlPiece::Start {
            name: name.to_string(),
            namespace: namespace.map(ToString::to_string),
        },
        XmlEvent::Text(t) => XmlPiece::Text(super::transcript::text_string(&t)),
        XmlEvent::End => XmlPiece::End,
    }
}

/// What the server sends next, as decided by the hook of [`Script::on_package`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// The next package of the script (or none left: the session ends).
    Scripted,
    /// These commands instead; the script stays where it is.
    Send(Vec<Cmd>),
    /// No more commands: the server answers with statuses only and the session ends.
    End,
}

/// The hook run on every complete client package.
pub(crate) type Hook = Box<dyn FnMut(&ClientPackage<'_>) -> Decision + Send>;

/// The server's side of one or more sessions: for each session, the packages of commands
/// to send, in order; the first goes in package 2, the next in package 4, and so on. When
/// a session's packages run out the server ends the session.
///
/// ```
/// use iotadm_host::testserver::{Cmd, Decision, Script};
///
/// let script = Script::new()
///     .package([Cmd::get("./DevInfo/Mod").label("model")])
///     .package([Cmd::replace("./Vendor/Name", "x")])
///     .next_session() // a second session gets no commands: it only reports
///     .on_package(|pkg| {
///         // React to Results: here, keep to the script.
///         let _ = pkg.results().count();
///         Decision::Scripted
///     });
/// assert_eq!(script.sessions(), 2);
/// ```
pub struct Script {
    pub(crate) sessions: VecDeque<VecDeque<Vec<Cmd>>>,
    pub(crate) hook: Option<Hook>,
}

impl core::fmt::Debug for Script {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Script")
            .field("sessions", &self.sessions)
            .field("hook", &self.hook.is_some())
            .finish()
    }
}

impl Default for Script {
    fn default() -> Self {
        Script::new()
    }
}

impl Script {
    /// A script of one session with no packages yet.
    pub fn new() -> Self {
        let mut sessions = VecDeque::new();
        sessions.push_back(VecDeque::new());
        Script {
            sessions,
            hook: None,
        }
    }

    /// Appends a package to the last session.
    pub fn package(mut self, commands: impl IntoIterator<Item = Cmd>) -> Self {
        let cmds: Vec<Cmd> = commands.into_iter().collect();
        if let Some(last) = self.sessions.back_mut() {
            last.push_back(cmds);
        }
        self
    }

    /// Starts the packages of the next session.
    pub fn next_session(mut self) -> Self {
        self.sessions.push_back(VecDeque::new());
        self
    }

    /// Runs `hook` on every complete client package (once the client has authenticated),
    /// before the server builds its next package; its [`Decision`] says what that package
    /// holds.
    pub fn on_package(
        mut self,
        hook: impl FnMut(&ClientPackage<'_>) -> Decision + Send + 'static,
    ) -> Self {
        self.hook = Some(Box::new(hook));
        self
    }

    /// Number of sessions scripted.
    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }

    pub(crate) fn take_session(&mut self) -> VecDeque<Vec<Cmd>> {
        self.sessions.pop_front().unwrap_or_default()
    }
}

/// The server commands of a message written with the codec's own types, as scripted
/// commands: a test can build a package with the codec model (or decode a captured one)
/// and have the server send it. Commands only a client sends (`Status`, `Results`, `Sync`)
/// are left out.
pub fn commands_of(message: &Message<'_>) -> Vec<Cmd> {
    message
        .body
        .commands
        .iter()
        .filter_map(|c| cmd_of(&c))
        .collect()
}

fn cmd_of(c: &Command<'_>) -> Option<Cmd> {
    use super::transcript::text_string;
    let (kind, ic) = match c {
        Command::Add(ic) => (CmdKind::Add, ic),
        Command::Copy(ic) => (CmdKind::Copy, ic),
        Command::Delete(ic) => (CmdKind::Delete, ic),
        Command::Get(ic) => (CmdKind::Get, ic),
        Command::Replace(ic) => (CmdKind::Replace, ic),
        Command::Exec(e) => {
            let mut cmd = Cmd::new(CmdKind::Exec, e.items.iter().map(|i| spec_of(&i)).collect());
            cmd.correlator = e.correlator.map(|t| text_string(&t));
            cmd.no_resp = e.no_resp;
            return Some(cmd);
        }
        Command::Alert(a) => {
            let code = a.data.and_then(|t| t.parse_u32()).unwrap_or(0);
            let mut cmd = Cmd::new(
                CmdKind::Alert(u16::try_from(code).unwrap_or(0)),
                a.items.iter().map(|i| spec_of(&i)).collect(),
            );
            cmd.correlator = a.correlator.map(|t| text_string(&t));
            return Some(cmd);
        }
        Command::Atomic(k) | Command::Sequence(k) => {
            let kind = if matches!(c, Command::Atomic(_)) {
                CmdKind::Atomic
            } else {
                CmdKind::Sequence
            };
            let mut cmd = Cmd::container(kind, k.commands.iter().filter_map(|c| cmd_of(&c)));
            cmd.no_resp = k.no_resp;
            return Some(cmd);
        }
        _ => return None,
    };
    let mut cmd = Cmd::new(kind, ic.items.iter().map(|i| spec_of(&i)).collect());
    cmd.no_resp = ic.no_resp;
    if let Some(m) = ic.meta {
        cmd.meta = meta_spec(&m);
    }
    Some(cmd)
}

fn meta_spec(m: &codec::Meta<'_>) -> MetaSpec {
    use super::transcript::text_string;
    MetaSpec {
        format: m.format().map(|t| text_string(&t)),
        type_: m.type_().map(|t| text_string(&t)),
        mark: m.mark().map(|t| text_string(&t)),
        size: None,
    }
}

fn spec_of(i: &codec::Item<'_>) -> ItemSpec {
    use super::transcript::{text_bytes, text_string};
    ItemSpec {
        target: i.target.map(|l| text_string(&l.uri)),
        source: i.source.map(|l| text_string(&l.uri)),
        meta: i.meta.map(|m| meta_spec(&m)).unwrap_or_default(),
        data: i.data.map(|d| match d {
            Data::Text(t) => Value::Text(text_string(&t)),
            Data::Opaque(t) => Value::Bytes(text_bytes(&t)),
            Data::Xml(x) => Value::Xml(x.events().map(own_event).collect()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tnds_is_read_into_owned_events_declaration_or_not() {
        let tnds = r#"<?xml version="1.0"?><MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD></MgmtTree>"#;
        let cmd = Cmd::add_tnds("./DMAcc", tnds).unwrap();
        let Some(Value::Xml(pieces)) = &cmd.items()[0].data else {
            panic!("embedded XML expected");
        };
        assert_eq!(
            pieces[0],
            XmlPiece::Start {
                name: "MgmtTree".into(),
                namespace: Some(codec::DDF_NAMESPACE.into())
            }
        );
        assert_eq!(pieces[2], XmlPiece::Text("1.2".into()));
        assert_eq!(pieces.len(), 5);
        assert_eq!(
            cmd.items()[0].meta.type_.as_deref(),
            Some("application/vnd.syncml.dmtnds+xml")
        );
        assert!(Cmd::add_tnds("./DMAcc", "<MgmtTree>").is_err());
    }

    #[test]
    fn codec_built_commands_become_scripted_ones() {
        let xml = br#"<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD>
            <VerProto>DM/1.2</VerProto><SessionID>1</SessionID><MsgID>1</MsgID>
            <Target><LocURI>d</LocURI></Target><Source><LocURI>s</LocURI></Source></SyncHdr>
            <SyncBody><Status><CmdID>1</CmdID><MsgRef>1</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd><Data>200</Data></Status>
            <Sequence><CmdID>2</CmdID><Get><CmdID>3</CmdID><Item><Target><LocURI>./A</LocURI></Target></Item></Get>
            <Replace><CmdID>4</CmdID><Item><Target><LocURI>./B</LocURI></Target><Meta><Format xmlns="syncml:metinf">int</Format></Meta><Data>5</Data></Item></Replace></Sequence>
            <Exec><CmdID>5</CmdID><Correlator>c1</Correlator><Item><Target><LocURI>./F</LocURI></Target></Item></Exec>
            <Alert><CmdID>6</CmdID><Data>1100</Data><Item><Data>MINDT=1</Data></Item><Item><Data>Hi</Data></Item></Alert>
            <Final/></SyncBody></SyncML>"#;
        let msg = codec::parse(xml).unwrap();
        let cmds = commands_of(&msg);
        let kinds: std::vec::Vec<CmdKind> = cmds.iter().map(Cmd::kind).collect();
        assert_eq!(
            kinds,
            [CmdKind::Sequence, CmdKind::Exec, CmdKind::Alert(1100)]
        );
        let seq = &cmds[0];
        assert_eq!(seq.children()[0], Cmd::get("./A"));
        assert_eq!(seq.children()[1], Cmd::replace("./B", "5").format("int"));
        assert_eq!(cmds[1], Cmd::exec("./F").correlator("c1"));
        assert_eq!(cmds[2], Cmd::display("MINDT=1", "Hi"));
    }

    #[test]
    fn only_single_items_of_text_or_bytes_are_chunkable() {
        assert!(Cmd::replace("./A", "x").chunkable().is_some());
        assert!(Cmd::replace_value("./A", Value::Bytes(std::vec![0; 4]))
            .chunkable()
            .is_some());
        assert!(Cmd::get("./A").chunkable().is_none());
        assert!(Cmd::add_node("./A").chunkable().is_none());
        let two = Cmd::replace("./A", "x").item(ItemSpec::data("y"));
        assert!(two.chunkable().is_none());
        let nested = Cmd::atomic([Cmd::replace("./A", "abcd"), Cmd::replace("./B", "ab")]);
        assert_eq!(nested.largest_object(), 4);
    }
}
