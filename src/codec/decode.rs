//! The typed decoder, written once for both encodings (the cursor hides which one it
//! reads), in two halves:
//!
//! * the check: one walk over a validated message enforcing what the SyncML DTD lets each
//!   element hold: which children, how often, which are required. It is driven by a rule
//!   per (parent, child) pair and builds nothing;
//! * the views: the decoders that build the model's values. They run only on checked
//!   input (when parsing fills the header, and when a lazy list is read), so they have
//!   nothing to refuse and take what is there. They return values, not results: a cursor
//!   error, which the check rules out, would end the element where it stands.
//!
//! A message that parses has therefore no structural error left for a lazy list to find.

use super::error::{DecodeError, DecodeErrorKind as K};
use super::model::{
    is_command, Alert, Chal, Command, Container, Cred, Data, Embedded, Exec, Item, ItemCommand,
    List, ListIter, Location, Message, Meta, Results, Select, Status, Sync, SyncBody, SyncHdr,
};
use super::model::{TNDS_WBXML, TNDS_XML};
use super::text::Text;
use super::tokens::{Tag, PAGE_METINF, PAGE_SYNCML};
use super::{Content, Cursor};
use crate::limits::NESTED_COMMANDS;

fn err(kind: K, offset: usize) -> DecodeError {
    DecodeError::new(kind, offset)
}

/// A set of SyncML (or MetInf) elements, one bit per token, made at compile time.
macro_rules! tags {
    ($($tag:ident),+ $(,)?) => {
        const { 0u64 $(| 1u64 << Tag::$tag.token())+ }
    };
}

/// The bit of `tag` in a set of [`tags!`]: every token is below 64.
fn bit(tag: Tag) -> u64 {
    1u64.checked_shl(u32::from(tag.token())).unwrap_or(0)
}

/// DS elements a DM client may meet and has no use for: skipped.
const IGNORED: u64 = tags![
    ARCHIVE,
    SFT_DEL,
    LANG,
    NO_RESULTS,
    NUMBER_OF_CHANGES,
    SOURCE_PARENT,
    TARGET_PARENT,
    FILTER,
];

/// The commands this model holds, as children of SyncBody or of a container.
const ANY_COMMAND: u64 =
    tags![ADD, ALERT, ATOMIC, COPY, DELETE, EXEC, GET, REPLACE, RESULTS, SEQUENCE, STATUS, SYNC];

fn is_container(tag: Tag) -> bool {
    matches!(tag, Tag::ATOMIC | Tag::SEQUENCE | Tag::SYNC)
}

/// Collects where a lazily decoded list starts and how long it is.
#[derive(Clone, Copy)]
struct ListStart<'a> {
    first: Option<Cursor<'a>>,
    len: u32,
}

impl<'a> ListStart<'a> {
    const fn new() -> Self {
        ListStart {
            first: None,
            len: 0,
        }
    }

    fn push(&mut self, before: Cursor<'a>) {
        self.first.get_or_insert(before);
        self.len = self.len.saturating_add(1);
    }

    fn finish<T>(self, select: Select) -> List<'a, T> {
        match self.first {
            Some(cursor) => List::parsed(cursor, self.len, select),
            None => List::empty(),
        }
    }
}

// ----------------------------------------------------------------------------------------
// The check
// ----------------------------------------------------------------------------------------

/// An element with children, as the check sees it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Root,
    Hdr,
    Body,
    Location,
    Cred,
    Chal,
    Meta,
    Item,
    Command(Tag),
}

/// What a child element may be, and how it is checked.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// A leaf holding text, at most once.
    Leaf,
    /// Text that may repeat: TargetRef, SourceRef, EMI.
    Leaves,
    /// An element whose content does not matter (NoResp, Final, MoreData), at most once.
    Flag,
    /// A DS element or MetInf property a DM client ignores: skipped, may repeat.
    Ignore,
    /// An element with children of its own, at most once.
    Element(Kind),
    /// An `Item`, which may repeat.
    Item,
    /// `Data` of an item: text, opaque bytes or embedded XML, at most once.
    Data,
    /// A command, which may repeat. In SyncBody it is checked where it stands; in a
    /// container after the container's own children.
    Command,
}

/// The children a `kind` element may hold, as the SyncML DTD has it: tokens on the
/// MetInf code page for `Meta`, on the SyncML one for the rest.
fn children(kind: Kind) -> u64 {
    const ITEM_COMMAND: u64 = tags![CMD_ID, NO_RESP, CRED, META, ITEM];
    // `Cmd` is not in the DTD's Results, but Windows clients send it.
    const REFS: u64 = tags![CMD_ID, MSG_REF, CMD_REF, CMD, TARGET_REF, SOURCE_REF, ITEM];
    const CONTAINER: u64 = tags![CMD_ID, NO_RESP, META] | ANY_COMMAND;
    match kind {
        Kind::Root => tags![SYNC_HDR, SYNC_BODY],
        Kind::Hdr => tags![
            VER_DTD, VER_PROTO, SESSION_ID, MSG_ID, TARGET, SOURCE, RESP_URI, NO_RESP, CRED, META,
        ],
        Kind::Body => tags![FINAL] | ANY_COMMAND,
        Kind::Location => tags![LOC_URI, LOC_NAME],
        Kind::Cred => tags![META, DATA],
        Kind::Chal => tags![META],
        Kind::Meta => tags![
            FORMAT,
            TYPE,
            MARK,
            SIZE,
            NEXT_NONCE,
            VERSION,
            MAX_MSG_SIZE,
            MAX_OBJ_SIZE,
            EMI,
        ],
        Kind::Item => tags![TARGET, SOURCE, META, DATA, MORE_DATA],
        Kind::Command(command) => match command {
            Tag::ALERT => tags![CMD_ID, NO_RESP, CRED, DATA, CORRELATOR, ITEM],
            Tag::EXEC => ITEM_COMMAND | tags![CORRELATOR],
            Tag::STATUS => REFS | tags![CRED, CHAL, DATA],
            Tag::RESULTS => REFS | tags![META],
            Tag::ATOMIC | Tag::SEQUENCE => CONTAINER,
            Tag::SYNC => CONTAINER | tags![CRED, TARGET, SOURCE],
            // Add, Copy, Delete, Get and Replace.
            _ => ITEM_COMMAND,
        },
    }
}

/// The rule for a child `tag` of a `kind` element, or `None` when it may not appear.
fn rule(kind: Kind, tag: Tag) -> Option<Rule> {
    use Rule::{Element, Flag, Leaf};
    if children(kind) & bit(tag) == 0 {
        // DS properties (anchors, memory) are valid MetInf a DM client ignores; the DS
        // elements of IGNORED may stand where a location, an item or a command's children do.
        let ignored = match kind {
            Kind::Meta => true,
            Kind::Location | Kind::Item | Kind::Command(_) => IGNORED & bit(tag) != 0,
            _ => false,
        };
        return ignored.then_some(Rule::Ignore);
    }
    // Where it may appear, a child is checked the same way whatever its parent, but for
    // an item's Data.
    Some(match tag {
        _ if kind == Kind::Meta => Rule::Leaves,
        Tag::SYNC_HDR => Element(Kind::Hdr),
        Tag::SYNC_BODY => Element(Kind::Body),
        Tag::TARGET | Tag::SOURCE => Element(Kind::Location),
        Tag::CRED => Element(Kind::Cred),
        Tag::CHAL => Element(Kind::Chal),
        Tag::META => Element(Kind::Meta),
        Tag::ITEM => Rule::Item,
        Tag::DATA if kind == Kind::Item => Rule::Data,
        Tag::NO_RESP | Tag::FINAL | Tag::MORE_DATA => Flag,
        Tag::TARGET_REF | Tag::SOURCE_REF => Rule::Leaves,
        t if ANY_COMMAND & bit(t) != 0 => Rule::Command,
        _ => Leaf,
    })
}

/// The children an element must have, reported in this order when missing.
fn required(kind: Kind) -> &'static [Tag] {
    match kind {
        Kind::Root => &[Tag::SYNC_HDR, Tag::SYNC_BODY],
        Kind::Hdr => &[
            Tag::VER_DTD,
            Tag::VER_PROTO,
            Tag::SESSION_ID,
            Tag::MSG_ID,
            Tag::TARGET,
            Tag::SOURCE,
        ],
        Kind::Location => &[Tag::LOC_URI],
        Kind::Command(_) => &[Tag::CMD_ID],
        _ => &[],
    }
}

/// What the check keeps for parsing to build the message from.
struct Found<'a> {
    /// The cursor after SyncHdr's start tag, and whether SyncHdr is empty.
    header: Option<(Cursor<'a>, bool)>,
    /// The commands of SyncBody.
    commands: ListStart<'a>,
    /// SyncBody's `Final`.
    is_final: bool,
}

/// Checks the children of a `kind` element whose start tag was just read, and returns the
/// commands among them (SyncBody's, or a container's nested ones, not yet checked).
/// `missing_at` is the offset a missing required child is reported at.
///
/// Recursion follows the DTD, not the input: it is at most five elements deep (SyncML,
/// SyncHdr, Cred, Meta; or a command, Item, Target), apart from nested commands, which
/// [`check_command`] bounds.
fn check_element<'a>(
    c: &mut Cursor<'a>,
    kind: Kind,
    empty: bool,
    missing_at: usize,
    found: &mut Found<'a>,
) -> Result<ListStart<'a>, DecodeError> {
    let page = if kind == Kind::Meta {
        PAGE_METINF
    } else {
        PAGE_SYNCML
    };
    // The children that have appeared, a set of tags.
    let mut seen = 0u64;
    let mut commands = ListStart::new();
    if !empty {
        loop {
            let before = *c;
            let (tag, empty, offset) = match c.next_content(true)? {
                Content::End => break,
                Content::Text { text, .. } if text.is_empty() => continue,
                Content::Text { .. } => return Err(err(K::UnexpectedText, before.offset())),
                Content::Start {
                    name,
                    empty,
                    offset,
                    ..
                } => {
                    let tag = name.resolve(page);
                    (tag.ok_or(err(K::UnexpectedElement, offset))?, empty, offset)
                }
            };
            let rule = rule(kind, tag).ok_or(err(K::UnexpectedElement, offset))?;
            match rule {
                Rule::Leaf | Rule::Leaves => c.leaf_text(empty, true).map(drop)?,
                Rule::Flag | Rule::Ignore => c.skip_element(empty)?,
                Rule::Element(child) => {
                    if tag == Tag::SYNC_HDR {
                        found.header = Some((*c, empty));
                    }
                    let list = check_element(c, child, empty, offset, found)?;
                    if child == Kind::Body {
                        found.commands = list;
                    }
                }
                Rule::Item => check_element(c, Kind::Item, empty, offset, found).map(drop)?,
                Rule::Data => check_data(c, empty)?,
                Rule::Command if kind == Kind::Body => {
                    check_command(c, tag, empty, offset, 1, found)?;
                    commands.push(before);
                }
                Rule::Command => {
                    c.skip_element(empty)?;
                    commands.push(before);
                }
            }
            if matches!(
                rule,
                Rule::Leaf | Rule::Flag | Rule::Element(_) | Rule::Data
            ) {
                if seen & bit(tag) != 0 {
                    return Err(err(K::DuplicateElement, offset));
                }
                seen |= bit(tag);
            }
            if tag == Tag::FINAL {
                found.is_final = true;
            }
        }
    }
    for &tag in required(kind) {
        if seen & bit(tag) == 0 {
            return Err(err(K::MissingElement(tag.name()), missing_at));
        }
    }
    Ok(commands)
}

/// Checks a command whose start tag was just read, then the commands nested in it, depth
/// first. `level` is 1 for a command of SyncBody; `top` is where that command starts, the
/// offset a too deep nesting is reported at.
fn check_command<'a>(
    c: &mut Cursor<'a>,
    tag: Tag,
    empty: bool,
    top: usize,
    level: usize,
    found: &mut Found<'a>,
) -> Result<(), DecodeError> {
    let after_start = c.offset();
    let nested = check_element(c, Kind::Command(tag), empty, after_start, found)?;
    if !is_container(tag) {
        return Ok(());
    }
    if level > NESTED_COMMANDS {
        return Err(err(K::DepthLimit, top));
    }
    let (Some(mut list), mut left) = (nested.first, nested.len) else {
        return Ok(());
    };
    while left > 0 {
        match list.next_content(true)? {
            Content::Start { name, empty, .. } => {
                match name.resolve(PAGE_SYNCML).filter(|&t| is_command(t)) {
                    Some(t) => {
                        left -= 1;
                        check_command(&mut list, t, empty, top, level + 1, found)?;
                    }
                    None => list.skip_element(empty)?,
                }
            }
            Content::Text { .. } => {}
            Content::End => break,
        }
    }
    Ok(())
}

/// Checks `Data` content: one run of text or opaque bytes, or embedded XML (walked to the
/// end so that later reads can trust it).
fn check_data(c: &mut Cursor<'_>, empty: bool) -> Result<(), DecodeError> {
    let mut text = false;
    if !empty {
        loop {
            match c.next_content(false)? {
                Content::End => break,
                Content::Text { .. } if text => return Err(err(K::UnexpectedText, c.offset())),
                Content::Text { .. } => text = true,
                Content::Start { empty, .. } => return skip_embedded(c, empty),
            }
        }
    }
    Ok(())
}

/// Walks embedded XML from just after its first start tag to the end of `Data`.
fn skip_embedded(c: &mut Cursor<'_>, empty: bool) -> Result<(), DecodeError> {
    let mut depth = u32::from(!empty);
    loop {
        match c.next_content(true)? {
            Content::End if depth == 0 => return Ok(()),
            Content::End => depth -= 1,
            Content::Start { empty: false, .. } => depth = depth.saturating_add(1),
            _ => {}
        }
    }
}

/// Decodes the root `SyncML` element.
pub(crate) fn message(mut c: Cursor<'_>) -> Result<Message<'_>, DecodeError> {
    let (empty, offset) = match c.next_content(true)? {
        Content::Start {
            name,
            empty,
            offset,
            ..
        } if name.resolve(PAGE_SYNCML) == Some(Tag::SYNC_ML) => (empty, offset),
        _ => return Err(err(K::NotSyncMl, c.offset())),
    };
    let mut found = Found {
        header: None,
        commands: ListStart::new(),
        is_final: false,
    };
    check_element(&mut c, Kind::Root, empty, offset, &mut found)?;
    let Some((mut header, empty)) = found.header else {
        return Err(err(K::MissingElement("SyncHdr"), offset));
    };
    Ok(Message {
        header: sync_hdr(&mut header, empty),
        body: SyncBody {
            commands: found.commands.finish(Select::Commands),
            is_final: found.is_final,
        },
    })
}

// ----------------------------------------------------------------------------------------
// The views
// ----------------------------------------------------------------------------------------

/// The next child element of the element whose start tag was read: its tag, whether it is
/// empty, and the cursor before its start tag. Text between children (white space in
/// checked input) is passed over.
fn next_child<'a>(c: &mut Cursor<'a>, page: u8) -> Option<(Tag, bool, Cursor<'a>)> {
    loop {
        let before = *c;
        match c.next_content(true).ok()? {
            Content::End => return None,
            Content::Text { .. } => {}
            Content::Start { name, empty, .. } => match name.resolve(page) {
                Some(tag) => return Some((tag, empty, before)),
                None => c.skip_element(empty).ok()?,
            },
        }
    }
}

/// A leaf element's text, trimmed.
fn leaf<'a>(c: &mut Cursor<'a>, empty: bool) -> Text<'a> {
    c.leaf_text(empty, true).unwrap_or_default()
}

/// Passes over a child the view has no use for. Should that fail, the next read fails
/// too and ends the element.
fn pass(c: &mut Cursor<'_>, empty: bool) {
    let _ = c.skip_element(empty);
}

/// A leaf element's text, trimmed: an element of a list of texts.
pub(crate) fn text_element<'a>(c: &mut Cursor<'a>, _tag: Tag, empty: bool) -> Text<'a> {
    leaf(c, empty)
}

fn sync_hdr<'a>(c: &mut Cursor<'a>, empty: bool) -> SyncHdr<'a> {
    let mut h = SyncHdr {
        ver_dtd: Text::empty(),
        ver_proto: Text::empty(),
        session_id: Text::empty(),
        msg_id: Text::empty(),
        target: Location::default(),
        source: Location::default(),
        resp_uri: None,
        no_resp: false,
        cred: None,
        meta: None,
    };
    while let Some((tag, empty, _)) = next_child_of(c, empty, PAGE_SYNCML) {
        match tag {
            Tag::VER_DTD => h.ver_dtd = leaf(c, empty),
            Tag::VER_PROTO => h.ver_proto = leaf(c, empty),
            Tag::SESSION_ID => h.session_id = leaf(c, empty),
            Tag::MSG_ID => h.msg_id = leaf(c, empty),
            Tag::TARGET => h.target = location(c, empty),
            Tag::SOURCE => h.source = location(c, empty),
            Tag::RESP_URI => h.resp_uri = Some(leaf(c, empty)),
            Tag::CRED => h.cred = Some(cred(c, empty)),
            Tag::META => h.meta = Some(meta(c, empty)),
            _ => {
                pass(c, empty);
                h.no_resp |= tag == Tag::NO_RESP;
            }
        }
    }
    h
}

/// [`next_child`], or nothing for an empty element.
fn next_child_of<'a>(c: &mut Cursor<'a>, empty: bool, page: u8) -> Option<(Tag, bool, Cursor<'a>)> {
    if empty {
        return None;
    }
    next_child(c, page)
}

fn location<'a>(c: &mut Cursor<'a>, empty: bool) -> Location<'a> {
    let mut l = Location::default();
    while let Some((tag, empty, _)) = next_child_of(c, empty, PAGE_SYNCML) {
        match tag {
            Tag::LOC_URI => l.uri = leaf(c, empty),
            Tag::LOC_NAME => l.name = Some(leaf(c, empty)),
            _ => pass(c, empty),
        }
    }
    l
}

fn cred<'a>(c: &mut Cursor<'a>, empty: bool) -> Cred<'a> {
    let mut cred = Cred {
        meta: None,
        data: Text::empty(),
    };
    while let Some((tag, empty, _)) = next_child_of(c, empty, PAGE_SYNCML) {
        match tag {
            Tag::META => cred.meta = Some(meta(c, empty)),
            Tag::DATA => cred.data = leaf(c, empty),
            _ => pass(c, empty),
        }
    }
    cred
}

fn chal<'a>(c: &mut Cursor<'a>, empty: bool) -> Chal<'a> {
    let mut chal = Chal { meta: None };
    while let Some((tag, empty, _)) = next_child_of(c, empty, PAGE_SYNCML) {
        if tag == Tag::META {
            chal.meta = Some(meta(c, empty));
        } else {
            pass(c, empty);
        }
    }
    chal
}

/// A lazy view of a `Meta` element whose start tag was just read.
fn meta<'a>(c: &mut Cursor<'a>, empty: bool) -> Meta<'a> {
    if empty {
        return Meta::new(&super::model::MetInf::EMPTY);
    }
    let start = *c;
    pass(c, false);
    Meta::parsed(start)
}

/// Text children of a command, in one array so that one path stores them all.
const CMD_ID: usize = 0;
const DATA: usize = 1;
const CORRELATOR: usize = 2;
const MSG_REF: usize = 3;
const CMD_REF: usize = 4;
const CMD: usize = 5;

/// Lists of a command.
const ITEMS: usize = 0;
const COMMANDS: usize = 1;
const TARGET_REFS: usize = 2;
const SOURCE_REFS: usize = 3;

/// Decodes a command of a checked message whose start tag was just read.
pub(crate) fn command<'a>(c: &mut Cursor<'a>, tag: Tag, empty: bool) -> Command<'a> {
    let mut texts: [Option<Text<'a>>; 6] = [None; 6];
    let mut lists = [ListStart::new(); 4];
    let (mut no_resp, mut cred_, mut meta_, mut chal_) = (false, None, None, None);
    let (mut target, mut source) = (None, None);
    while let Some((child, empty, before)) = next_child_of(c, empty, PAGE_SYNCML) {
        let text = match child {
            Tag::CMD_ID => CMD_ID,
            Tag::DATA => DATA,
            Tag::CORRELATOR => CORRELATOR,
            Tag::MSG_REF => MSG_REF,
            Tag::CMD_REF => CMD_REF,
            Tag::CMD => CMD,
            _ => usize::MAX,
        };
        if let Some(slot) = texts.get_mut(text) {
            *slot = Some(leaf(c, empty));
            continue;
        }
        let list = match child {
            Tag::ITEM => ITEMS,
            Tag::TARGET_REF => TARGET_REFS,
            Tag::SOURCE_REF => SOURCE_REFS,
            t if is_command(t) => COMMANDS,
            _ => usize::MAX,
        };
        if let Some(list) = lists.get_mut(list) {
            pass(c, empty);
            list.push(before);
            continue;
        }
        match child {
            Tag::CRED => cred_ = Some(cred(c, empty)),
            Tag::META => meta_ = Some(meta(c, empty)),
            Tag::CHAL => chal_ = Some(chal(c, empty)),
            Tag::TARGET => target = Some(location(c, empty)),
            Tag::SOURCE => source = Some(location(c, empty)),
            _ => {
                pass(c, empty);
                no_resp |= child == Tag::NO_RESP;
            }
        }
    }
    let [cmd_id, data, correlator, msg_ref, cmd_ref, cmd] = texts;
    let cmd_id = cmd_id.unwrap_or_default();
    let [items, commands, target_refs, source_refs] = lists;
    let items = items.finish(Select::Tag(Tag::ITEM));
    let commands = commands.finish(Select::Commands);
    let target_refs = target_refs.finish(Select::Tag(Tag::TARGET_REF));
    let source_refs = source_refs.finish(Select::Tag(Tag::SOURCE_REF));
    let item_command = ItemCommand {
        cmd_id,
        no_resp,
        cred: cred_,
        meta: meta_,
        items,
    };
    let container = Container {
        cmd_id,
        no_resp,
        meta: meta_,
        commands,
    };
    match tag {
        Tag::ADD => Command::Add(item_command),
        Tag::COPY => Command::Copy(item_command),
        Tag::DELETE => Command::Delete(item_command),
        Tag::GET => Command::Get(item_command),
        Tag::ATOMIC => Command::Atomic(container),
        Tag::SEQUENCE => Command::Sequence(container),
        Tag::EXEC => Command::Exec(Exec {
            cmd_id,
            no_resp,
            cred: cred_,
            meta: meta_,
            correlator,
            items,
        }),
        Tag::ALERT => Command::Alert(Alert {
            cmd_id,
            no_resp,
            cred: cred_,
            data,
            correlator,
            items,
        }),
        Tag::SYNC => Command::Sync(Sync {
            cmd_id,
            no_resp,
            cred: cred_,
            target,
            source,
            meta: meta_,
            commands,
        }),
        Tag::STATUS => Command::Status(Status {
            cmd_id,
            msg_ref,
            cmd_ref,
            cmd,
            target_refs,
            source_refs,
            cred: cred_,
            chal: chal_,
            data,
            items,
        }),
        Tag::RESULTS => Command::Results(Results {
            cmd_id,
            msg_ref,
            cmd_ref,
            cmd,
            meta: meta_,
            target_refs,
            source_refs,
            items,
        }),
        // Lists only hold commands; Replace is the one left.
        _ => Command::Replace(item_command),
    }
}

/// Decodes an `Item` of a checked message whose start tag was just read.
pub(crate) fn item<'a>(c: &mut Cursor<'a>, _tag: Tag, empty: bool) -> Item<'a> {
    let mut item = Item::default();
    let mut nested_tnds = false;
    while let Some((tag, empty, _)) = next_child_of(c, empty, PAGE_SYNCML) {
        match tag {
            Tag::TARGET => item.target = Some(location(c, empty)),
            Tag::SOURCE => item.source = Some(location(c, empty)),
            Tag::META => item.meta = Some(meta(c, empty)),
            Tag::DATA => {
                let (data, nested) = data(c, empty);
                item.data = Some(data);
                nested_tnds = nested;
            }
            _ => {
                pass(c, empty);
                item.more_data |= tag == Tag::MORE_DATA;
            }
        }
    }
    // The model holds TNDS as XML whatever the wire form, so it is typed as XML; and in
    // one spelling, since media types are case-insensitive (RFC 2045 §5.1) and the WBXML
    // form cannot carry the XML type's own case back.
    item.meta = item.meta.map(|m| match m.type_() {
        Some(t)
            if t.eq_ignore_ascii_case(TNDS_XML)
                || (nested_tnds && t.eq_ignore_ascii_case(TNDS_WBXML)) =>
        {
            m.with_type(TNDS_XML)
        }
        _ => m,
    });
    item
}

/// Decodes `Data` content: text, opaque bytes, or embedded XML. The flag is set when the
/// XML came as a nested WBXML TNDS document.
fn data<'a>(c: &mut Cursor<'a>, empty: bool) -> (Data<'a>, bool) {
    let start = *c;
    let mut found: Option<(Text<'a>, bool)> = None;
    if !empty {
        while let Ok(content) = c.next_content(false) {
            match content {
                Content::End => break,
                Content::Text { text, opaque } => {
                    found.get_or_insert((text, opaque));
                }
                Content::Start { empty, .. } => {
                    // Checked input: the walk to the end of Data cannot fail.
                    let _ = skip_embedded(c, empty);
                    return (Data::Xml(Embedded::parsed(start)), false);
                }
            }
        }
    }
    match found {
        None => (Data::Text(Text::empty()), false),
        Some((text, true)) => match nested_tnds(&text) {
            Some(doc) => (Data::Xml(Embedded::parsed(doc)), true),
            None => (Data::Opaque(text), false),
        },
        Some((text, false)) => (Data::Text(text), false),
    }
}

/// A cursor on the root element of the WBXML DDF/TNDS document that `text` (opaque data)
/// holds, if it holds one: the form libwbxml and DM servers give TNDS in WBXML messages.
/// White space after the document (which libwbxml writes as a second token) is allowed.
fn nested_tnds<'a>(text: &Text<'a>) -> Option<Cursor<'a>> {
    // Without the feature `tnds` nothing reads TNDS: the document stays opaque data, and
    // the WBXML document reader is left out.
    if !cfg!(feature = "tnds") {
        return None;
    }
    let (doc, rest) = text.first_opaque_token()?;
    if !rest.bytes().all(super::text::is_ws) {
        return None;
    }
    let header = super::wbxml::parse_header(doc).ok()?;
    let ddf = match header.public_id {
        super::wbxml::PublicId::Literal(fpi) => fpi.eq_ignore_ascii_case(DDF_PUBLIC_ID),
        super::wbxml::PublicId::Numeric(_) => false,
    };
    if !ddf {
        return None;
    }
    let root = super::wbxml::validate(doc, &header, &super::Limits::DEFAULT).ok()?;
    Some(Cursor::Wbxml(root))
}

/// The formal public identifier of DDF and TNDS documents.
pub(crate) const DDF_PUBLIC_ID: &[u8] = b"-//OMA//DTD-DM-DDF 1.2//EN";

// A parsed list decodes its elements as it is walked, with the decoder's functions; the
// model holds the list, the decoder what is in it.
macro_rules! list_iterator {
    ($ty:ident, $decode:path) => {
        impl<'a> Iterator for ListIter<'a, $ty<'a>> {
            type Item = $ty<'a>;

            fn next(&mut self) -> Option<$ty<'a>> {
                self.next_with($decode)
            }
        }
    };
}

list_iterator!(Command, command);
list_iterator!(Item, item);
list_iterator!(Text, text_element);

// The messages of these tests are written in XML, which is easiest to read.
#[cfg(all(test, feature = "xml"))]
mod tests {
    use crate::codec::{self, DecodeErrorKind as K};
    use crate::limits::NESTED_COMMANDS;
    use std::format;
    use std::string::String;

    fn message(body: &str) -> String {
        format!(
            "<SyncML xmlns='SYNCML:SYNCML1.2'><SyncHdr><VerDTD>1.2</VerDTD>\
             <VerProto>DM/1.2</VerProto><SessionID>1</SessionID><MsgID>1</MsgID>\
             <Target><LocURI>a</LocURI></Target><Source><LocURI>b</LocURI></Source></SyncHdr>\
             <SyncBody>{body}</SyncBody></SyncML>"
        )
    }

    /// The kind of error and its offset relative to the first occurrence of `at` in the
    /// message.
    fn refused(body: &str, at: &str) -> (K, isize) {
        let xml = message(body);
        let e = codec::parse(xml.as_bytes()).unwrap_err();
        (
            e.kind(),
            e.offset() as isize - xml.find(at).unwrap() as isize,
        )
    }

    #[test]
    fn the_rules_refuse_what_the_dtd_does_not_allow() {
        let dup = "<Get><CmdID>1</CmdID><CmdID>2</CmdID></Get>";
        assert_eq!(refused(dup, "<CmdID>2"), (K::DuplicateElement, 0));
        // A missing CmdID is reported just after the command's start tag.
        assert_eq!(
            refused("<Get><Item/></Get>", "<Item/>"),
            (K::MissingElement("CmdID"), 0)
        );
        let data = "<Results><CmdID>1</CmdID><Data>x</Data></Results>";
        assert_eq!(refused(data, "<Data>"), (K::UnexpectedElement, 0));
        assert_eq!(refused("<Final/>x", "x</SyncBody>"), (K::UnexpectedText, 0));
        let flags = "<Get><CmdID>1</CmdID><NoResp/><NoResp/></Get>";
        assert_eq!(
            refused(flags, "<NoResp/><NoResp/>"),
            (K::DuplicateElement, 9)
        );
        let location = "<Sync><CmdID>1</CmdID><Target><LocName>n</LocName></Target></Sync>";
        assert_eq!(
            refused(location, "<Target><LocName>"),
            (K::MissingElement("LocURI"), 0)
        );
    }

    #[test]
    fn the_rules_let_through_what_a_client_ignores_or_repeats() {
        let body = "<Status><CmdID>1</CmdID><MsgRef>1</MsgRef><CmdRef>0</CmdRef>\
                    <Cmd>SyncHdr</Cmd><TargetRef>a</TargetRef><TargetRef>b</TargetRef>\
                    <Data>200</Data></Status>\
                    <Replace><CmdID>2</CmdID><Item><Lang>en</Lang><Target><LocURI>./x</LocURI>\
                    </Target><Meta><Anchor xmlns='syncml:metinf'><Last>1</Last></Anchor>\
                    <Format xmlns='syncml:metinf'>chr</Format></Meta><Data>v</Data></Item>\
                    <Item><Data>w</Data></Item></Replace><Final/>";
        let xml = message(body);
        let msg = codec::parse(xml.as_bytes()).unwrap();
        let cmds: std::vec::Vec<_> = msg.body.commands.iter().collect();
        assert_eq!(cmds.len(), 2);
        match cmds[0] {
            codec::Command::Status(s) => assert_eq!(s.target_refs.len(), 2),
            _ => panic!("not a Status"),
        }
        match cmds[1] {
            codec::Command::Replace(r) => {
                assert_eq!(r.items.len(), 2);
                let item = r.items.first().unwrap();
                assert_eq!(item.meta.unwrap().format().unwrap(), "chr");
            }
            _ => panic!("not a Replace"),
        }
        assert!(msg.body.is_final);
    }

    #[test]
    fn nested_containers_are_bounded() {
        let nest = |depth: usize| {
            let mut body = String::new();
            for i in 0..depth {
                body.push_str(&format!("<Atomic><CmdID>{i}</CmdID>"));
            }
            body.push_str(&"</Atomic>".repeat(depth));
            body
        };
        assert!(codec::parse(message(&nest(NESTED_COMMANDS)).as_bytes()).is_ok());
        let deep = nest(NESTED_COMMANDS + 1);
        // Reported at the outermost command.
        assert_eq!(refused(&deep, "<Atomic>"), (K::DepthLimit, 0));
    }

    /// A WBXML message whose item holds a nested DDF document in OPAQUE, the form TNDS
    /// takes in WBXML: read as TNDS (typed as XML) with the feature `tnds`, and as opaque
    /// data with its own type without it.
    #[test]
    fn a_nested_ddf_document_is_tnds_only_with_its_feature() {
        use crate::codec::tokens::{Tag, PAGE_DDF};
        use crate::codec::{Command, Data, Encoding};
        let mut doc = std::vec![0x02, 0x00, 0x00, 0x6A, super::DDF_PUBLIC_ID.len() as u8 + 1];
        doc.extend_from_slice(super::DDF_PUBLIC_ID);
        doc.push(0);
        // SWITCH_PAGE to the DDF page, then an empty MgmtTree.
        let tree = Tag::from_token_name(PAGE_DDF, "MgmtTree").unwrap();
        doc.extend_from_slice(&[0x00, PAGE_DDF, tree.token()]);
        // The message is written with text of the document's length in its place, and the
        // inline string (STR_I, text, NUL) swapped for OPAQUE: the same number of bytes.
        let filler = "Z".repeat(doc.len());
        let xml = message(&format!(
            "<Add><CmdID>1</CmdID><Item><Target><LocURI>./DMAcc</LocURI></Target>\
             <Meta><Type xmlns='syncml:metinf'>application/vnd.syncml.dmtnds+wbxml</Type></Meta>\
             <Data>{filler}</Data></Item></Add>"
        ));
        let mut wbxml = std::vec![0u8; 1024];
        let n = codec::parse(xml.as_bytes())
            .unwrap()
            .encode(Encoding::Wbxml, &mut wbxml)
            .unwrap();
        wbxml.truncate(n);
        let mut inline = std::vec![0x03];
        inline.extend_from_slice(filler.as_bytes());
        inline.push(0);
        let at = wbxml
            .windows(inline.len())
            .position(|w| w == inline)
            .unwrap();
        let mut opaque = std::vec![0xC3, doc.len() as u8];
        opaque.extend_from_slice(&doc);
        wbxml.splice(at..at + inline.len(), opaque);

        let msg = codec::parse(&wbxml).unwrap();
        let Some(Command::Add(add)) = msg.body.commands.first() else {
            panic!()
        };
        let item = add.items.first().unwrap();
        let type_ = item.meta.unwrap().type_().unwrap();
        if cfg!(feature = "tnds") {
            assert!(matches!(item.data, Some(Data::Xml(_))));
            assert_eq!(type_, "application/vnd.syncml.dmtnds+xml");
        } else {
            assert!(matches!(item.data, Some(Data::Opaque(_))));
            assert_eq!(type_, "application/vnd.syncml.dmtnds+wbxml");
        }
    }
}
