//! The typed SyncML DM message. Decoded messages borrow everything from the input; lists
//! (commands, items, references) and `Meta` are read lazily from the validated input each
//! time they are iterated, so a message of any size costs a few hundred bytes of RAM.
//! Messages to send are built from the same types over slices the caller owns.
//!
//! Every text but an item's `Data` and the text of embedded XML is read without the white
//! space at its ends, whether that white space is written out, as a reference or in a CDATA
//! section, so a value reads the same from XML and WBXML and through any number of
//! encodings. Embedded XML (TNDS) keeps the white space of its texts, which may be part of a
//! value, and leaves out runs of white space alone, which are layout.

use core::fmt;

use super::text::Text;
use super::tokens::{namespace_page, page_namespace, Tag, PAGE_METINF, PAGE_SYNCML};
#[allow(unused_imports)] // for the doc links
use super::tokens::{DDF_NAMESPACE, METINF_NAMESPACE, SYNCML_NAMESPACE};
use super::{Content, Cursor, Name};
use crate::limits::XML_DEPTH;

/// A SyncML DM message: header and body.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Message<'a> {
    /// `SyncHdr`.
    pub header: SyncHdr<'a>,
    /// `SyncBody`.
    pub body: SyncBody<'a>,
}

/// `SyncHdr`: who speaks to whom in which session and message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SyncHdr<'a> {
    /// `VerDTD`: `1.2` for DM 1.2, `1.1` for DM 1.1.2.
    pub ver_dtd: Text<'a>,
    /// `VerProto`: `DM/1.2`.
    pub ver_proto: Text<'a>,
    /// `SessionID`.
    pub session_id: Text<'a>,
    /// `MsgID`.
    pub msg_id: Text<'a>,
    /// `Target`: the recipient.
    pub target: Location<'a>,
    /// `Source`: the sender.
    pub source: Location<'a>,
    /// `RespURI`: where the reply goes.
    pub resp_uri: Option<Text<'a>>,
    /// `NoResp`: the sender wants no status for the header.
    pub no_resp: bool,
    /// `Cred`: the sender's credentials.
    pub cred: Option<Cred<'a>>,
    /// `Meta`: MaxMsgSize, MaxObjSize and the like.
    pub meta: Option<Meta<'a>>,
}

/// `SyncBody`: the commands and whether this message ends its package.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SyncBody<'a> {
    /// The commands, in order.
    pub commands: List<'a, Command<'a>>,
    /// `Final`: the last message of a package.
    pub is_final: bool,
}

/// `Target` or `Source`: a `LocURI` with an optional `LocName`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Location<'a> {
    /// `LocURI`.
    pub uri: Text<'a>,
    /// `LocName`.
    pub name: Option<Text<'a>>,
}

impl<'a> Location<'a> {
    /// A location with only a URI.
    pub const fn new(uri: &'a str) -> Self {
        Location {
            uri: Text::new(uri),
            name: None,
        }
    }
}

/// `Cred`: credentials, their scheme in `Meta/Type` and encoding in `Meta/Format`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cred<'a> {
    /// `Meta`.
    pub meta: Option<Meta<'a>>,
    /// `Data`: the credential itself.
    pub data: Text<'a>,
}

/// `Chal`: a challenge for credentials; the scheme and nonce are in `Meta`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Chal<'a> {
    /// `Meta`: `Type`, `Format` and `NextNonce`.
    pub meta: Option<Meta<'a>>,
}

/// One SyncML command.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Command<'a> {
    /// `Add`.
    Add(ItemCommand<'a>),
    /// `Alert`.
    Alert(Alert<'a>),
    /// `Atomic`: all or nothing.
    Atomic(Container<'a>),
    /// `Copy`.
    Copy(ItemCommand<'a>),
    /// `Delete`.
    Delete(ItemCommand<'a>),
    /// `Exec`.
    Exec(Exec<'a>),
    /// `Get`.
    Get(ItemCommand<'a>),
    /// `Replace`.
    Replace(ItemCommand<'a>),
    /// `Results`: the answer to a `Get`.
    Results(Results<'a>),
    /// `Sequence`: in order.
    Sequence(Container<'a>),
    /// `Status`: the outcome of a command.
    Status(Status<'a>),
    /// `Sync`: a data-synchronisation container (SyncML DS), read so that such messages
    /// decode; a DM client answers it as unsupported.
    Sync(Sync<'a>),
}

impl<'a> Command<'a> {
    /// The element name: `Add`, `Alert`, ...
    pub fn name(&self) -> &'static str {
        self.tag().name()
    }

    /// The element's tag.
    pub fn tag(&self) -> Tag {
        match self {
            Command::Add(_) => Tag::ADD,
            Command::Alert(_) => Tag::ALERT,
            Command::Atomic(_) => Tag::ATOMIC,
            Command::Copy(_) => Tag::COPY,
            Command::Delete(_) => Tag::DELETE,
            Command::Exec(_) => Tag::EXEC,
            Command::Get(_) => Tag::GET,
            Command::Replace(_) => Tag::REPLACE,
            Command::Results(_) => Tag::RESULTS,
            Command::Sequence(_) => Tag::SEQUENCE,
            Command::Status(_) => Tag::STATUS,
            Command::Sync(_) => Tag::SYNC,
        }
    }

    /// `CmdID`.
    pub fn cmd_id(&self) -> Text<'a> {
        match self {
            Command::Add(c)
            | Command::Copy(c)
            | Command::Delete(c)
            | Command::Get(c)
            | Command::Replace(c) => c.cmd_id,
            Command::Alert(c) => c.cmd_id,
            Command::Atomic(c) | Command::Sequence(c) => c.cmd_id,
            Command::Exec(c) => c.cmd_id,
            Command::Results(c) => c.cmd_id,
            Command::Status(c) => c.cmd_id,
            Command::Sync(c) => c.cmd_id,
        }
    }
}

/// `Add`, `Copy`, `Delete`, `Get` and `Replace`: a command over items.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ItemCommand<'a> {
    /// `CmdID`.
    pub cmd_id: Text<'a>,
    /// `NoResp`.
    pub no_resp: bool,
    /// `Cred`.
    pub cred: Option<Cred<'a>>,
    /// `Meta`: defaults for every item.
    pub meta: Option<Meta<'a>>,
    /// `Item`s.
    pub items: List<'a, Item<'a>>,
}

/// `Alert`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Alert<'a> {
    /// `CmdID`.
    pub cmd_id: Text<'a>,
    /// `NoResp`.
    pub no_resp: bool,
    /// `Cred`.
    pub cred: Option<Cred<'a>>,
    /// `Data`: the alert code.
    pub data: Option<Text<'a>>,
    /// `Correlator`: ties a Generic Alert to the command that caused it.
    pub correlator: Option<Text<'a>>,
    /// `Item`s.
    pub items: List<'a, Item<'a>>,
}

/// `Exec`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Exec<'a> {
    /// `CmdID`.
    pub cmd_id: Text<'a>,
    /// `NoResp`.
    pub no_resp: bool,
    /// `Cred`.
    pub cred: Option<Cred<'a>>,
    /// `Meta`.
    pub meta: Option<Meta<'a>>,
    /// `Correlator`: echoed by the Generic Alert that reports the outcome.
    pub correlator: Option<Text<'a>>,
    /// `Item`: the node to execute (one, by the DTD).
    pub items: List<'a, Item<'a>>,
}

/// `Atomic` and `Sequence`: commands run together.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Container<'a> {
    /// `CmdID`.
    pub cmd_id: Text<'a>,
    /// `NoResp`.
    pub no_resp: bool,
    /// `Meta`.
    pub meta: Option<Meta<'a>>,
    /// The commands inside.
    pub commands: List<'a, Command<'a>>,
}

/// `Sync` (SyncML DS).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sync<'a> {
    /// `CmdID`.
    pub cmd_id: Text<'a>,
    /// `NoResp`.
    pub no_resp: bool,
    /// `Cred`.
    pub cred: Option<Cred<'a>>,
    /// `Target`.
    pub target: Option<Location<'a>>,
    /// `Source`.
    pub source: Option<Location<'a>>,
    /// `Meta`.
    pub meta: Option<Meta<'a>>,
    /// The commands inside.
    pub commands: List<'a, Command<'a>>,
}

/// `Status`: the outcome of one command.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Status<'a> {
    /// `CmdID`.
    pub cmd_id: Text<'a>,
    /// `MsgRef`: the message that held the command.
    pub msg_ref: Option<Text<'a>>,
    /// `CmdRef`: the command's `CmdID` (`0` for the header).
    pub cmd_ref: Option<Text<'a>>,
    /// `Cmd`: the command's name.
    pub cmd: Option<Text<'a>>,
    /// `TargetRef`s.
    pub target_refs: List<'a, Text<'a>>,
    /// `SourceRef`s.
    pub source_refs: List<'a, Text<'a>>,
    /// `Cred`.
    pub cred: Option<Cred<'a>>,
    /// `Chal`: a challenge for credentials.
    pub chal: Option<Chal<'a>>,
    /// `Data`: the status code.
    pub data: Option<Text<'a>>,
    /// `Item`s: e.g. the text a user typed for a 1102 alert.
    pub items: List<'a, Item<'a>>,
}

/// `Results`: data returned for a `Get`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Results<'a> {
    /// `CmdID`.
    pub cmd_id: Text<'a>,
    /// `MsgRef`.
    pub msg_ref: Option<Text<'a>>,
    /// `CmdRef`: the `Get`'s `CmdID`.
    pub cmd_ref: Option<Text<'a>>,
    /// `Cmd`: not in the SyncML DTD for Results, but sent by some clients (Windows).
    pub cmd: Option<Text<'a>>,
    /// `Meta`.
    pub meta: Option<Meta<'a>>,
    /// `TargetRef`s.
    pub target_refs: List<'a, Text<'a>>,
    /// `SourceRef`s.
    pub source_refs: List<'a, Text<'a>>,
    /// `Item`s.
    pub items: List<'a, Item<'a>>,
}

/// `Item`: one node addressed by a command, with its data.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Item<'a> {
    /// `Target`.
    pub target: Option<Location<'a>>,
    /// `Source`.
    pub source: Option<Location<'a>>,
    /// `Meta`.
    pub meta: Option<Meta<'a>>,
    /// `Data`.
    pub data: Option<Data<'a>>,
    /// `MoreData`: more chunks of this object follow.
    pub more_data: bool,
}

/// The content of a `Data` element.
#[derive(Debug, Clone, Copy)]
pub enum Data<'a> {
    /// Character data.
    Text(Text<'a>),
    /// Bytes: WBXML `OPAQUE`. In XML this must be UTF-8 text; binary values travel as b64.
    Opaque(Text<'a>),
    /// Embedded XML, e.g. a TNDS `MgmtTree`.
    Xml(Embedded<'a>),
}

impl<'a> Data<'a> {
    /// The content as text or bytes, unless it is embedded XML.
    pub fn content(&self) -> Option<Text<'a>> {
        match self {
            Data::Text(t) | Data::Opaque(t) => Some(*t),
            Data::Xml(_) => None,
        }
    }
}

impl PartialEq for Data<'_> {
    /// Text and opaque data are equal when their bytes are: the encoding chooses between them.
    fn eq(&self, other: &Data<'_>) -> bool {
        match (self, other) {
            (Data::Xml(a), Data::Xml(b)) => a == b,
            (Data::Xml(_), _) | (_, Data::Xml(_)) => false,
            (a, b) => a.content() == b.content(),
        }
    }
}

/// Embedded XML inside `Data`, read as a stream of events.
#[derive(Clone, Copy)]
pub struct Embedded<'a>(EmbeddedRepr<'a>);

#[derive(Clone, Copy)]
enum EmbeddedRepr<'a> {
    Parsed(Cursor<'a>),
    Events(&'a [XmlEvent<'a>]),
}

/// One event of embedded XML.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum XmlEvent<'a> {
    /// An element starts; `namespace` is set where the element declares or enters one.
    Start {
        /// Local name.
        name: &'a str,
        /// The element's namespace where it differs from its parent's, `None` where it
        /// inherits it; the root inherits the SyncML namespace of `Data`. Known namespaces
        /// read as [`DDF_NAMESPACE`], [`METINF_NAMESPACE`] or [`SYNCML_NAMESPACE`] whatever
        /// their spelling, so XML and WBXML give the same events.
        namespace: Option<&'a str>,
    },
    /// Character data, with the white space at its ends: a TNDS value is kept as written.
    /// Runs of nothing but white space (the layout between elements) are left out.
    Text(Text<'a>),
    /// The most recently started element ends.
    End,
}

impl<'a> Embedded<'a> {
    /// Embedded XML from events the caller built (balanced Start/End).
    pub const fn from_events(events: &'a [XmlEvent<'a>]) -> Self {
        Embedded(EmbeddedRepr::Events(events))
    }

    pub(crate) fn parsed(cursor: Cursor<'a>) -> Self {
        Embedded(EmbeddedRepr::Parsed(cursor))
    }

    /// The events, in document order.
    pub fn events(&self) -> EmbeddedEvents<'a> {
        EmbeddedEvents {
            repr: match self.0 {
                EmbeddedRepr::Parsed(cursor) => EventsRepr::Parsed {
                    cursor,
                    depth: 0,
                    pending_end: false,
                    vocabularies: [PAGE_SYNCML; XML_DEPTH],
                },
                EmbeddedRepr::Events(events) => EventsRepr::Slice(events.iter()),
            },
        }
    }
}

impl PartialEq for Embedded<'_> {
    fn eq(&self, other: &Embedded<'_>) -> bool {
        self.events().eq(other.events())
    }
}

impl fmt::Debug for Embedded<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.events()).finish()
    }
}

/// Iterator over the events of [`Embedded`] XML.
pub struct EmbeddedEvents<'a> {
    repr: EventsRepr<'a>,
}

enum EventsRepr<'a> {
    Parsed {
        cursor: Cursor<'a>,
        depth: u32,
        /// The vocabulary (WBXML code page, or [`OTHER_VOCABULARY`]) of each open
        /// element, to tell where an element changes namespace.
        vocabularies: [u8; XML_DEPTH],
        /// An empty element was started; its End is the next event.
        pending_end: bool,
    },
    Slice(core::slice::Iter<'a, XmlEvent<'a>>),
}

/// The vocabulary of a namespace with no WBXML code page.
const OTHER_VOCABULARY: u8 = u8::MAX;
impl<'a> Iterator for EmbeddedEvents<'a> {
    type Item = XmlEvent<'a>;

    fn next(&mut self) -> Option<XmlEvent<'a>> {
        match &mut self.repr {
            EventsRepr::Slice(iter) => iter.next().copied(),
            EventsRepr::Parsed {
                cursor,
                depth,
                pending_end,
                vocabularies,
            } => loop {
                if *pending_end {
                    *pending_end = false;
                    return Some(XmlEvent::End);
                }
                // Text keeps its white space (a TNDS value may begin or end with some);
                // runs of white space alone are the layout between elements.
                match cursor.next_content(false).ok()? {
                    Content::End if *depth == 0 => {
                        self.repr = EventsRepr::Slice([].iter());
                        return None;
                    }
                    Content::End => {
                        *depth -= 1;
                        return Some(XmlEvent::End);
                    }
                    Content::Text { text, .. } if text.trim().is_empty() => {}
                    Content::Text { text, .. } => return Some(XmlEvent::Text(text)),
                    Content::Start {
                        name, xmlns, empty, ..
                    } => {
                        let parent = depth
                            .checked_sub(1)
                            .and_then(|d| vocabularies.get(d as usize))
                            .copied()
                            .unwrap_or(PAGE_SYNCML);
                        let (vocabulary, declared) = match (name, xmlns) {
                            (Name::Tag(tag), _) => (tag.page(), None),
                            (Name::Local(_), Some(ns)) => match namespace_page(ns) {
                                Some(page) => (page, Some(page_namespace(page))),
                                None => (OTHER_VOCABULARY, core::str::from_utf8(ns).ok()),
                            },
                            (Name::Local(_), None) => (parent, None),
                        };
                        let namespace = if vocabulary == OTHER_VOCABULARY {
                            declared
                        } else if vocabulary != parent {
                            Some(page_namespace(vocabulary))
                        } else {
                            None
                        };
                        let start = XmlEvent::Start {
                            name: name.as_str(),
                            namespace,
                        };
                        if empty {
                            *pending_end = true;
                        } else {
                            if let Some(slot) = vocabularies.get_mut(*depth as usize) {
                                *slot = vocabulary;
                            }
                            *depth += 1;
                        }
                        return Some(start);
                    }
                }
            },
        }
    }
}

/// `Meta`: MetInf properties. Decoded `Meta` is read from the message on each access.
#[derive(Clone, Copy)]
pub struct Meta<'a>(MetaRepr<'a>);

#[derive(Clone, Copy)]
enum MetaRepr<'a> {
    /// Read from the message; `type_` replaces the `Type` it holds (see
    /// [`TNDS_XML`]).
    Parsed {
        cursor: Cursor<'a>,
        type_: Option<&'static str>,
    },
    Built(&'a MetInf<'a>),
}

/// The content type of TNDS in XML form. In WBXML messages TNDS travels as a nested WBXML
/// document typed `...+wbxml`; the model holds it as embedded XML, so it is typed like XML.
pub(crate) const TNDS_XML: &str = "application/vnd.syncml.dmtnds+xml";
/// The content type of TNDS in WBXML form.
pub(crate) const TNDS_WBXML: &str = "application/vnd.syncml.dmtnds+wbxml";

/// The MetInf properties SyncML DM uses, for building a [`Meta`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MetInf<'a> {
    /// `Format`: `chr`, `int`, `b64`, `bin`, `bool`, `node`, ...
    pub format: Option<Text<'a>>,
    /// `Type`: a MIME type, an MO identifier, or an auth scheme.
    pub type_: Option<Text<'a>>,
    /// `Mark`: Generic Alert severity.
    pub mark: Option<Text<'a>>,
    /// `Size`: the size of a large object as transmitted.
    pub size: Option<Text<'a>>,
    /// `NextNonce`: the nonce for the next credentials.
    pub next_nonce: Option<Text<'a>>,
    /// `Version`.
    pub version: Option<Text<'a>>,
    /// `MaxMsgSize`.
    pub max_msg_size: Option<Text<'a>>,
    /// `MaxObjSize`.
    pub max_obj_size: Option<Text<'a>>,
    /// `EMI`: experimental meta information.
    pub emi: List<'a, Text<'a>>,
}

/// The MetInf properties but EMI, in the order the SyncML DTD writes them.
pub(crate) const PROPERTIES: [Tag; 8] = [
    Tag::FORMAT,
    Tag::TYPE,
    Tag::MARK,
    Tag::SIZE,
    Tag::VERSION,
    Tag::NEXT_NONCE,
    Tag::MAX_MSG_SIZE,
    Tag::MAX_OBJ_SIZE,
];

/// The place of `tag` among `properties`, which are in the order of [`PROPERTIES`].
pub(crate) fn property<'p, 'a>(
    properties: &'p mut [Option<Text<'a>>; 8],
    tag: Tag,
) -> Option<&'p mut Option<Text<'a>>> {
    let index = PROPERTIES.iter().position(|&p| p == tag)?;
    properties.get_mut(index)
}

impl MetInf<'_> {
    /// No properties at all: what a `MetInf` built in a `const` starts from
    /// (`MetInf { format: .., ..MetInf::EMPTY }`), where `Default` cannot be called.
    pub const EMPTY: Self = MetInf {
        format: None,
        type_: None,
        mark: None,
        size: None,
        next_nonce: None,
        version: None,
        max_msg_size: None,
        max_obj_size: None,
        emi: List::empty(),
    };
}

impl<'a> Meta<'a> {
    /// A `Meta` to send.
    pub const fn new(inf: &'a MetInf<'a>) -> Self {
        Meta(MetaRepr::Built(inf))
    }

    pub(crate) fn parsed(cursor: Cursor<'a>) -> Self {
        Meta(MetaRepr::Parsed {
            cursor,
            type_: None,
        })
    }

    /// The same `Meta` with its `Type` read as `type_`.
    pub(crate) fn with_type(self, type_: &'static str) -> Self {
        match self.0 {
            MetaRepr::Parsed { cursor, .. } => Meta(MetaRepr::Parsed {
                cursor,
                type_: Some(type_),
            }),
            MetaRepr::Built(_) => self,
        }
    }

    fn field(&self, tag: Tag) -> Option<Text<'a>> {
        let mut properties = self.properties();
        property(&mut properties, tag).and_then(|p| *p)
    }

    /// `Format`.
    pub fn format(&self) -> Option<Text<'a>> {
        self.field(Tag::FORMAT)
    }

    /// `Type`.
    pub fn type_(&self) -> Option<Text<'a>> {
        self.field(Tag::TYPE)
    }

    /// `Mark`.
    pub fn mark(&self) -> Option<Text<'a>> {
        self.field(Tag::MARK)
    }

    /// `Size`.
    pub fn size(&self) -> Option<Text<'a>> {
        self.field(Tag::SIZE)
    }

    /// `NextNonce`.
    pub fn next_nonce(&self) -> Option<Text<'a>> {
        self.field(Tag::NEXT_NONCE)
    }

    /// `Version`.
    pub fn version(&self) -> Option<Text<'a>> {
        self.field(Tag::VERSION)
    }

    /// `MaxMsgSize`.
    pub fn max_msg_size(&self) -> Option<Text<'a>> {
        self.field(Tag::MAX_MSG_SIZE)
    }

    /// `MaxObjSize`.
    pub fn max_obj_size(&self) -> Option<Text<'a>> {
        self.field(Tag::MAX_OBJ_SIZE)
    }

    /// `EMI`s.
    pub fn emi(&self) -> List<'a, Text<'a>> {
        match self.0 {
            MetaRepr::Built(inf) => inf.emi,
            MetaRepr::Parsed { cursor, .. } => {
                List::parsed(cursor, u32::MAX, Select::Tag(Tag::EMI))
            }
        }
    }

    /// All properties at once.
    pub fn to_metinf(&self) -> MetInf<'a> {
        if let MetaRepr::Built(inf) = self.0 {
            return *inf;
        }
        let [format, type_, mark, size, version, next_nonce, max_msg_size, max_obj_size] =
            self.properties();
        MetInf {
            format,
            type_,
            mark,
            size,
            next_nonce,
            version,
            max_msg_size,
            max_obj_size,
            emi: self.emi(),
        }
    }

    /// The properties of [`PROPERTIES`], in its order. A parsed `Meta` is read in one pass
    /// over its children instead of one per property: the encoder reads every property of
    /// every Meta it writes.
    pub(crate) fn properties(&self) -> [Option<Text<'a>>; 8] {
        let (mut c, type_) = match self.0 {
            MetaRepr::Parsed { cursor, type_ } => (cursor, type_),
            MetaRepr::Built(inf) => {
                return [
                    inf.format,
                    inf.type_,
                    inf.mark,
                    inf.size,
                    inf.version,
                    inf.next_nonce,
                    inf.max_msg_size,
                    inf.max_obj_size,
                ]
            }
        };
        let mut properties = [None; 8];
        while let Ok(content) = c.next_content(true) {
            let (name, empty) = match content {
                Content::Start { name, empty, .. } => (name, empty),
                Content::Text { .. } => continue,
                Content::End => break,
            };
            let slot = name
                .resolve(PAGE_METINF)
                .and_then(|tag| property(&mut properties, tag));
            let Some(slot) = slot else {
                if c.skip_element(empty).is_err() {
                    break;
                }
                continue;
            };
            let Ok(text) = c.leaf_text(empty, true) else {
                break;
            };
            // The first occurrence wins, as with the single-property accessors.
            slot.get_or_insert(text);
        }
        if let (Some(t), Some(slot)) = (type_, property(&mut properties, Tag::TYPE)) {
            *slot = Some(Text::new(t));
        }
        properties
    }

    #[cfg(all(test, feature = "xml"))]
    fn metinf_by_field(&self) -> MetInf<'a> {
        MetInf {
            format: self.format(),
            type_: self.type_(),
            mark: self.mark(),
            size: self.size(),
            next_nonce: self.next_nonce(),
            version: self.version(),
            max_msg_size: self.max_msg_size(),
            max_obj_size: self.max_obj_size(),
            emi: self.emi(),
        }
    }
}

impl PartialEq for Meta<'_> {
    fn eq(&self, other: &Meta<'_>) -> bool {
        self.to_metinf() == other.to_metinf()
    }
}

impl fmt::Debug for Meta<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_metinf().fmt(f)
    }
}

/// Whether `tag` is a command this model holds.
pub(crate) fn is_command(tag: Tag) -> bool {
    matches!(
        tag,
        Tag::ADD
            | Tag::ALERT
            | Tag::ATOMIC
            | Tag::COPY
            | Tag::DELETE
            | Tag::EXEC
            | Tag::GET
            | Tag::REPLACE
            | Tag::RESULTS
            | Tag::SEQUENCE
            | Tag::STATUS
            | Tag::SYNC
    )
}

/// Which children of an element a parsed list holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Select {
    /// Children with this tag.
    Tag(Tag),
    /// Children that are commands.
    Commands,
}

impl Select {
    fn matches(self, name: Name<'_>) -> Option<Tag> {
        let tag = name.resolve(if self == Select::Tag(Tag::EMI) {
            PAGE_METINF
        } else {
            PAGE_SYNCML
        })?;
        match self {
            Select::Tag(t) => (t == tag).then_some(tag),
            Select::Commands => is_command(tag).then_some(tag),
        }
    }
}

/// A list of commands, items or references: decoded lazily from a message, or a slice
/// the caller built.
pub struct List<'a, T> {
    repr: ListRepr<'a, T>,
}

enum ListRepr<'a, T> {
    Slice(&'a [T]),
    Parsed {
        cursor: Cursor<'a>,
        len: u32,
        select: Select,
    },
}

impl<T> Clone for List<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for List<'_, T> {}

impl<T> Clone for ListRepr<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for ListRepr<'_, T> {}

impl<'a, T> List<'a, T> {
    /// A list over a slice, for building messages.
    pub const fn new(items: &'a [T]) -> Self {
        List {
            repr: ListRepr::Slice(items),
        }
    }

    /// The empty list.
    pub const fn empty() -> Self {
        List::new(&[])
    }

    pub(crate) fn parsed(cursor: Cursor<'a>, len: u32, select: Select) -> Self {
        List {
            repr: ListRepr::Parsed {
                cursor,
                len,
                select,
            },
        }
    }

    /// The elements, in order.
    pub fn iter(&self) -> ListIter<'a, T> {
        ListIter {
            repr: self.repr,
            index: 0,
        }
    }
}

impl<'a, T> List<'a, T>
where
    ListIter<'a, T>: Iterator<Item = T>,
{
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self.repr {
            ListRepr::Slice(s) => s.len(),
            // EMI lists are not counted at decode time.
            ListRepr::Parsed { len: u32::MAX, .. } => self.iter().count(),
            ListRepr::Parsed { len, .. } => len as usize,
        }
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first element.
    pub fn first(&self) -> Option<T> {
        self.iter().next()
    }
}

impl<T> Default for List<'_, T> {
    fn default() -> Self {
        List::empty()
    }
}

impl<'a, T> IntoIterator for List<'a, T>
where
    ListIter<'a, T>: Iterator<Item = T>,
{
    type Item = T;
    type IntoIter = ListIter<'a, T>;

    fn into_iter(self) -> ListIter<'a, T> {
        self.iter()
    }
}

impl<'a, T: PartialEq> PartialEq for List<'a, T>
where
    ListIter<'a, T>: Iterator<Item = T>,
{
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl<'a, T: fmt::Debug> fmt::Debug for List<'a, T>
where
    ListIter<'a, T>: Iterator<Item = T>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Iterator over a [`List`].
pub struct ListIter<'a, T> {
    repr: ListRepr<'a, T>,
    index: u32,
}

impl<'a, T: Copy> ListIter<'a, T> {
    /// The next element, decoded with `decode` when the list is parsed.
    pub(super) fn next_with(&mut self, decode: fn(&mut Cursor<'a>, Tag, bool) -> T) -> Option<T> {
        match &mut self.repr {
            ListRepr::Slice(s) => {
                let (first, rest) = s.split_first()?;
                *s = rest;
                Some(*first)
            }
            ListRepr::Parsed {
                cursor,
                len,
                select,
            } => {
                let (tag, empty) = next_selected(cursor, len, &mut self.index, *select)?;
                Some(decode(cursor, tag, empty))
            }
        }
    }
}

/// Moves `cursor` past the start tag of the next child `select` picks, the `index`th of
/// `len`, and returns its tag and whether it is empty. Not generic, so that every kind of
/// list shares one walk. A decoded message was validated whole, so the cursor cannot fail
/// here; should it fail anyway the list simply ends.
fn next_selected(
    cursor: &mut Cursor<'_>,
    len: &mut u32,
    index: &mut u32,
    select: Select,
) -> Option<(Tag, bool)> {
    if *index >= *len {
        return None;
    }
    loop {
        match cursor.next_content(true).ok()? {
            Content::Start { name, empty, .. } => {
                if let Some(tag) = select.matches(name) {
                    *index += 1;
                    return Some((tag, empty));
                }
                cursor.skip_element(empty).ok()?;
            }
            Content::Text { .. } => {}
            Content::End => {
                *len = *index;
                return None;
            }
        }
    }
}

// The messages of these tests are written in XML, which is easiest to read.
#[cfg(all(test, feature = "xml"))]
mod tests {
    use crate::codec::{self, Encoding};

    /// Reading all properties in one pass gives what the single-property accessors give,
    /// with unknown MetInf skipped and the first of a repeated property winning.
    #[test]
    fn metinf_in_one_pass_equals_the_accessors() {
        let xml = br#"<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD>
<VerProto>DM/1.2</VerProto><SessionID>1</SessionID><MsgID>1</MsgID>
<Target><LocURI>a</LocURI></Target><Source><LocURI>b</LocURI></Source>
<Meta><Anchor xmlns="syncml:metinf"><Last>1</Last></Anchor>
<Type xmlns="syncml:metinf">text/plain</Type><Format>chr</Format><Mark>low</Mark>
<Type xmlns="syncml:metinf">second</Type><Size> 12 </Size><NextNonce>bm9uY2U=</NextNonce>
<Version>1.0</Version><MaxMsgSize>5000</MaxMsgSize><MaxObjSize>65536</MaxObjSize>
<EMI>x</EMI><EMI>y&amp;z</EMI></Meta></SyncHdr><SyncBody/></SyncML>"#;
        let msg = codec::parse(xml).unwrap();
        let mut buf = [0u8; 1024];
        let n = msg.encode(Encoding::Wbxml, &mut buf).unwrap();
        let from_wbxml = codec::parse(&buf[..n]).unwrap();
        for m in [msg, from_wbxml] {
            let meta = m.header.meta.unwrap();
            let all = meta.to_metinf();
            assert_eq!(all, meta.metinf_by_field());
            assert_eq!(all.type_.unwrap(), "text/plain");
            assert_eq!(all.size.unwrap(), "12");
            assert_eq!(all.emi.len(), 2);
        }
    }
}
