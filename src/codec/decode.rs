//! The typed decoder: walks a validated message with a [`Cursor`] and builds the model.
//! It is written once for both encodings; the cursor hides which one it reads.
//!
//! Decoding a message visits every element once, so a message that decodes has no
//! structural error left for the lazy lists to find later.

use super::error::{DecodeError, DecodeErrorKind as K};
use super::model::{
    Alert, Chal, Command, Container, Cred, Data, Embedded, Exec, Item, ItemCommand, List, ListIter,
    Location, Message, Meta, Results, Select, Status, Sync, SyncBody, SyncHdr,
};
use super::model::{TNDS_WBXML, TNDS_XML};
use super::text::Text;
use super::tokens::{Tag, PAGE_METINF, PAGE_SYNCML};
use super::{Content, Cursor};

fn err(kind: K, offset: usize) -> DecodeError {
    DecodeError::new(kind, offset)
}

/// How thoroughly an element is decoded.
///
/// Parsing decodes every element in `Check` mode, so a message that parses has no error
/// left anywhere. The lazy lists then re-read commands and items in `View` mode: they
/// only decode the values they return and skip the children that are themselves lazy
/// (items of a command, the properties of a Meta), which parsing has already checked.
/// Without this, walking a message would decode every item three times over.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Check,
    View,
}

/// Calls `f` for each child element of the element whose start was just read; text
/// between children must be white space.
fn children<'a>(
    c: &mut Cursor<'a>,
    empty: bool,
    page: u8,
    mut f: impl FnMut(&mut Cursor<'a>, Child<'a>) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    if empty {
        return Ok(());
    }
    loop {
        let before = *c;
        match c.next_content(true)? {
            Content::End => return Ok(()),
            Content::Text { text, .. } => {
                if !text.is_empty() {
                    return Err(err(K::UnexpectedText, before.offset()));
                }
            }
            Content::Start {
                name,
                empty,
                offset,
                ..
            } => {
                let tag = name
                    .resolve(page)
                    .ok_or(err(K::UnexpectedElement, offset))?;
                f(
                    c,
                    Child {
                        tag,
                        empty,
                        offset,
                        before,
                    },
                )?;
            }
        }
    }
}

/// A child element just entered.
#[derive(Clone, Copy)]
struct Child<'a> {
    tag: Tag,
    empty: bool,
    offset: usize,
    /// The cursor before the child's start tag, where a list of such children begins.
    before: Cursor<'a>,
}

/// Stores a value for an element that may appear once.
fn once<T>(slot: &mut Option<T>, value: T, offset: usize) -> Result<(), DecodeError> {
    if slot.is_some() {
        return Err(err(K::DuplicateElement, offset));
    }
    *slot = Some(value);
    Ok(())
}

/// Collects where a lazily decoded list starts and how long it is.
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
        self.len += 1;
    }

    fn finish<T>(self, select: Select) -> List<'a, T> {
        match self.first {
            Some(cursor) => List::parsed(cursor, self.len, select),
            None => List::empty(),
        }
    }
}

/// DS elements a DM client may meet and has no use for: skipped.
fn is_ignored(tag: Tag) -> bool {
    matches!(
        tag,
        Tag::ARCHIVE
            | Tag::SFT_DEL
            | Tag::LANG
            | Tag::NO_RESULTS
            | Tag::NUMBER_OF_CHANGES
            | Tag::SOURCE_PARENT
            | Tag::TARGET_PARENT
            | Tag::FILTER
    )
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

/// A leaf element's text, trimmed.
pub(crate) fn text_element<'a>(
    c: &mut Cursor<'a>,
    _tag: Tag,
    empty: bool,
) -> Result<Text<'a>, DecodeError> {
    c.leaf_text(empty, true)
}

fn flag(c: &mut Cursor<'_>, child: Child<'_>) -> Result<bool, DecodeError> {
    c.skip_element(child.empty)?;
    Ok(true)
}

fn required<T>(value: Option<T>, name: &'static str, offset: usize) -> Result<T, DecodeError> {
    value.ok_or(err(K::MissingElement(name), offset))
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
    let mut header = None;
    let mut body = None;
    children(&mut c, empty, PAGE_SYNCML, |c, ch| match ch.tag {
        Tag::SYNC_HDR => once(&mut header, sync_hdr(c, ch)?, ch.offset),
        Tag::SYNC_BODY => once(&mut body, sync_body(c, ch)?, ch.offset),
        _ => Err(err(K::UnexpectedElement, ch.offset)),
    })?;
    Ok(Message {
        header: required(header, "SyncHdr", offset)?,
        body: required(body, "SyncBody", offset)?,
    })
}

fn sync_hdr<'a>(c: &mut Cursor<'a>, at: Child<'a>) -> Result<SyncHdr<'a>, DecodeError> {
    let (mut ver_dtd, mut ver_proto, mut session_id, mut msg_id) = (None, None, None, None);
    let (mut target, mut source, mut resp_uri, mut no_resp) = (None, None, None, None);
    let (mut cred_, mut meta_) = (None, None);
    children(c, at.empty, PAGE_SYNCML, |c, ch| match ch.tag {
        Tag::VER_DTD => once(&mut ver_dtd, c.leaf_text(ch.empty, true)?, ch.offset),
        Tag::VER_PROTO => once(&mut ver_proto, c.leaf_text(ch.empty, true)?, ch.offset),
        Tag::SESSION_ID => once(&mut session_id, c.leaf_text(ch.empty, true)?, ch.offset),
        Tag::MSG_ID => once(&mut msg_id, c.leaf_text(ch.empty, true)?, ch.offset),
        Tag::TARGET => once(&mut target, location(c, ch)?, ch.offset),
        Tag::SOURCE => once(&mut source, location(c, ch)?, ch.offset),
        Tag::RESP_URI => once(&mut resp_uri, c.leaf_text(ch.empty, true)?, ch.offset),
        Tag::NO_RESP => once(&mut no_resp, flag(c, ch)?, ch.offset),
        Tag::CRED => once(&mut cred_, cred(c, ch, Mode::Check)?, ch.offset),
        Tag::META => once(&mut meta_, meta(c, ch, Mode::Check)?, ch.offset),
        _ => Err(err(K::UnexpectedElement, ch.offset)),
    })?;
    Ok(SyncHdr {
        ver_dtd: required(ver_dtd, "VerDTD", at.offset)?,
        ver_proto: required(ver_proto, "VerProto", at.offset)?,
        session_id: required(session_id, "SessionID", at.offset)?,
        msg_id: required(msg_id, "MsgID", at.offset)?,
        target: required(target, "Target", at.offset)?,
        source: required(source, "Source", at.offset)?,
        resp_uri,
        no_resp: no_resp.unwrap_or(false),
        cred: cred_,
        meta: meta_,
    })
}

fn location<'a>(c: &mut Cursor<'a>, at: Child<'a>) -> Result<Location<'a>, DecodeError> {
    let (mut uri, mut name) = (None, None);
    children(c, at.empty, PAGE_SYNCML, |c, ch| match ch.tag {
        Tag::LOC_URI => once(&mut uri, c.leaf_text(ch.empty, true)?, ch.offset),
        Tag::LOC_NAME => once(&mut name, c.leaf_text(ch.empty, true)?, ch.offset),
        t if is_ignored(t) => c.skip_element(ch.empty),
        _ => Err(err(K::UnexpectedElement, ch.offset)),
    })?;
    Ok(Location {
        uri: required(uri, "LocURI", at.offset)?,
        name,
    })
}

fn cred<'a>(c: &mut Cursor<'a>, at: Child<'a>, mode: Mode) -> Result<Cred<'a>, DecodeError> {
    let (mut meta_, mut data) = (None, None);
    children(c, at.empty, PAGE_SYNCML, |c, ch| match ch.tag {
        Tag::META => once(&mut meta_, meta(c, ch, mode)?, ch.offset),
        Tag::DATA => once(&mut data, c.leaf_text(ch.empty, true)?, ch.offset),
        _ => Err(err(K::UnexpectedElement, ch.offset)),
    })?;
    Ok(Cred {
        meta: meta_,
        data: data.unwrap_or_default(),
    })
}

fn chal<'a>(c: &mut Cursor<'a>, at: Child<'a>, mode: Mode) -> Result<Chal<'a>, DecodeError> {
    let mut meta_ = None;
    children(c, at.empty, PAGE_SYNCML, |c, ch| match ch.tag {
        Tag::META => once(&mut meta_, meta(c, ch, mode)?, ch.offset),
        _ => Err(err(K::UnexpectedElement, ch.offset)),
    })?;
    Ok(Chal { meta: meta_ })
}

/// Checks a `Meta` element (in `Check` mode) and returns a lazy view of it.
fn meta<'a>(c: &mut Cursor<'a>, at: Child<'a>, mode: Mode) -> Result<Meta<'a>, DecodeError> {
    let start = *c;
    if mode == Mode::View {
        c.skip_element(at.empty)?;
    } else {
        meta_check(c, at)?;
    }
    Ok(if at.empty {
        Meta::new(&EMPTY_METINF)
    } else {
        Meta::parsed(start)
    })
}

fn meta_check<'a>(c: &mut Cursor<'a>, at: Child<'a>) -> Result<(), DecodeError> {
    children(c, at.empty, PAGE_METINF, |c, ch| match ch.tag {
        Tag::FORMAT
        | Tag::TYPE
        | Tag::MARK
        | Tag::SIZE
        | Tag::NEXT_NONCE
        | Tag::VERSION
        | Tag::MAX_MSG_SIZE
        | Tag::MAX_OBJ_SIZE
        | Tag::EMI => c.leaf_text(ch.empty, true).map(drop),
        // DS properties (anchors, memory): valid MetInf a DM client ignores.
        _ => c.skip_element(ch.empty),
    })
}

static EMPTY_METINF: super::model::MetInf<'static> = super::model::MetInf {
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

fn sync_body<'a>(c: &mut Cursor<'a>, at: Child<'a>) -> Result<SyncBody<'a>, DecodeError> {
    let mut commands = ListStart::new();
    let mut is_final = None;
    children(c, at.empty, PAGE_SYNCML, |c, ch| match ch.tag {
        Tag::FINAL => once(&mut is_final, flag(c, ch)?, ch.offset),
        t if is_command(t) => {
            let cmd = command_with(c, t, ch.empty, Mode::Check)?;
            validate_nested(&cmd, ch.offset)?;
            commands.push(ch.before);
            Ok(())
        }
        _ => Err(err(K::UnexpectedElement, ch.offset)),
    })?;
    Ok(SyncBody {
        commands: commands.finish(Select::Commands),
        is_final: is_final.unwrap_or(false),
    })
}

/// The parts a command may have; each command takes the ones its DTD allows.
#[derive(Default)]
struct Parts<'a> {
    cmd_id: Option<Text<'a>>,
    no_resp: Option<bool>,
    cred: Option<Cred<'a>>,
    meta: Option<Meta<'a>>,
    data: Option<Text<'a>>,
    correlator: Option<Text<'a>>,
    msg_ref: Option<Text<'a>>,
    cmd_ref: Option<Text<'a>>,
    cmd: Option<Text<'a>>,
    chal: Option<Chal<'a>>,
    target: Option<Location<'a>>,
    source: Option<Location<'a>>,
}

/// Which parts a command's DTD allows, besides CmdID.
#[derive(Clone, Copy)]
struct Allowed {
    no_resp: bool,
    cred: bool,
    meta: bool,
    data: bool,
    correlator: bool,
    refs: bool,
    cmd: bool,
    chal: bool,
    items: bool,
    commands: bool,
    locations: bool,
}

const NONE: Allowed = Allowed {
    no_resp: false,
    cred: false,
    meta: false,
    data: false,
    correlator: false,
    refs: false,
    cmd: false,
    chal: false,
    items: false,
    commands: false,
    locations: false,
};

fn allowed(tag: Tag) -> Allowed {
    match tag {
        Tag::ADD | Tag::COPY | Tag::DELETE | Tag::GET | Tag::REPLACE => Allowed {
            no_resp: true,
            cred: true,
            meta: true,
            items: true,
            ..NONE
        },
        Tag::EXEC => Allowed {
            no_resp: true,
            cred: true,
            meta: true,
            correlator: true,
            items: true,
            ..NONE
        },
        Tag::ALERT => Allowed {
            no_resp: true,
            cred: true,
            data: true,
            correlator: true,
            items: true,
            ..NONE
        },
        Tag::ATOMIC | Tag::SEQUENCE => Allowed {
            no_resp: true,
            meta: true,
            commands: true,
            ..NONE
        },
        Tag::SYNC => Allowed {
            no_resp: true,
            cred: true,
            meta: true,
            commands: true,
            locations: true,
            ..NONE
        },
        Tag::STATUS => Allowed {
            cred: true,
            data: true,
            refs: true,
            cmd: true,
            chal: true,
            items: true,
            ..NONE
        },
        // `Cmd` is not in the DTD's Results, but Windows clients send it.
        Tag::RESULTS => Allowed {
            meta: true,
            refs: true,
            cmd: true,
            items: true,
            ..NONE
        },
        _ => NONE,
    }
}

/// How deeply Atomic, Sequence and Sync may nest inside one another. DM 1.2 itself allows
/// one level (a Sequence inside an Atomic or the reverse); the margin is for DS messages.
pub(crate) const MAX_NESTED_COMMANDS: usize = 8;

/// The commands inside a container command, or `None` for other commands.
fn nested<'a>(cmd: &Command<'a>) -> Option<List<'a, Command<'a>>> {
    match cmd {
        Command::Atomic(c) | Command::Sequence(c) => Some(c.commands),
        Command::Sync(c) => Some(c.commands),
        _ => None,
    }
}

/// Decodes every command nested inside `cmd`, depth first with an explicit stack, so that
/// a decoded message has no error left in its nested lists and no input can make the
/// decoder recurse.
fn validate_nested(cmd: &Command<'_>, offset: usize) -> Result<(), DecodeError> {
    let Some(list) = nested(cmd) else {
        return Ok(());
    };
    let mut stack: [Option<ListIter<'_, Command<'_>>>; MAX_NESTED_COMMANDS] = Default::default();
    let mut depth = 0usize;
    if let Some(slot) = stack.get_mut(0) {
        *slot = Some(list.iter());
        depth = 1;
    }
    while let Some(top) = depth.checked_sub(1) {
        let next = match stack.get_mut(top).and_then(Option::as_mut) {
            Some(iter) => iter.try_next_with(command_check)?,
            None => None,
        };
        match next {
            None => depth = top,
            Some(inner) => {
                if let Some(list) = nested(&inner) {
                    let slot = stack.get_mut(depth).ok_or(err(K::DepthLimit, offset))?;
                    *slot = Some(list.iter());
                    depth += 1;
                }
            }
        }
    }
    Ok(())
}

/// Decodes and checks a command whose start tag was just read.
fn command_check<'a>(
    c: &mut Cursor<'a>,
    tag: Tag,
    empty: bool,
) -> Result<Command<'a>, DecodeError> {
    command_with(c, tag, empty, Mode::Check)
}

/// Decodes a command of a parsed message whose start tag was just read, for the lazy lists.
pub(crate) fn command<'a>(
    c: &mut Cursor<'a>,
    tag: Tag,
    empty: bool,
) -> Result<Command<'a>, DecodeError> {
    command_with(c, tag, empty, Mode::View)
}

fn command_with<'a>(
    c: &mut Cursor<'a>,
    tag: Tag,
    empty: bool,
    mode: Mode,
) -> Result<Command<'a>, DecodeError> {
    let offset = c.offset();
    let ok = allowed(tag);
    let mut p = Parts::default();
    let mut items = ListStart::new();
    let mut commands = ListStart::new();
    let mut target_refs = ListStart::new();
    let mut source_refs = ListStart::new();
    children(c, empty, PAGE_SYNCML, |c, ch| {
        let at = ch.offset;
        match ch.tag {
            Tag::CMD_ID => once(&mut p.cmd_id, c.leaf_text(ch.empty, true)?, at),
            Tag::NO_RESP if ok.no_resp => once(&mut p.no_resp, flag(c, ch)?, at),
            Tag::CRED if ok.cred => once(&mut p.cred, cred(c, ch, mode)?, at),
            Tag::META if ok.meta => once(&mut p.meta, meta(c, ch, mode)?, at),
            Tag::DATA if ok.data => once(&mut p.data, c.leaf_text(ch.empty, true)?, at),
            Tag::CORRELATOR if ok.correlator => {
                once(&mut p.correlator, c.leaf_text(ch.empty, true)?, at)
            }
            Tag::MSG_REF if ok.refs => once(&mut p.msg_ref, c.leaf_text(ch.empty, true)?, at),
            Tag::CMD_REF if ok.refs => once(&mut p.cmd_ref, c.leaf_text(ch.empty, true)?, at),
            Tag::CMD if ok.cmd => once(&mut p.cmd, c.leaf_text(ch.empty, true)?, at),
            Tag::CHAL if ok.chal => once(&mut p.chal, chal(c, ch, mode)?, at),
            Tag::TARGET_REF if ok.refs => {
                check_or_skip(c, ch.empty, mode, |c| c.leaf_text(ch.empty, true).map(drop))?;
                target_refs.push(ch.before);
                Ok(())
            }
            Tag::SOURCE_REF if ok.refs => {
                check_or_skip(c, ch.empty, mode, |c| c.leaf_text(ch.empty, true).map(drop))?;
                source_refs.push(ch.before);
                Ok(())
            }
            Tag::TARGET if ok.locations => once(&mut p.target, location(c, ch)?, at),
            Tag::SOURCE if ok.locations => once(&mut p.source, location(c, ch)?, at),
            Tag::ITEM if ok.items => {
                check_or_skip(c, ch.empty, mode, |c| {
                    item_with(c, ch.empty, Mode::Check).map(drop)
                })?;
                items.push(ch.before);
                Ok(())
            }
            // Nested commands are only skipped here, so that decoding never recurses;
            // `validate_nested` checks them with a bounded stack.
            t if ok.commands && is_command(t) => {
                c.skip_element(ch.empty)?;
                commands.push(ch.before);
                Ok(())
            }
            t if is_ignored(t) => c.skip_element(ch.empty),
            _ => Err(err(K::UnexpectedElement, at)),
        }
    })?;
    let cmd_id = required(p.cmd_id, "CmdID", offset)?;
    let no_resp = p.no_resp.unwrap_or(false);
    let items = items.finish(Select::Tag(Tag::ITEM));
    let commands = commands.finish(Select::Commands);
    let target_refs = target_refs.finish(Select::Tag(Tag::TARGET_REF));
    let source_refs = source_refs.finish(Select::Tag(Tag::SOURCE_REF));
    let item_command = ItemCommand {
        cmd_id,
        no_resp,
        cred: p.cred,
        meta: p.meta,
        items,
    };
    let container = Container {
        cmd_id,
        no_resp,
        meta: p.meta,
        commands,
    };
    Ok(match tag {
        Tag::ADD => Command::Add(item_command),
        Tag::COPY => Command::Copy(item_command),
        Tag::DELETE => Command::Delete(item_command),
        Tag::GET => Command::Get(item_command),
        Tag::REPLACE => Command::Replace(item_command),
        Tag::ATOMIC => Command::Atomic(container),
        Tag::SEQUENCE => Command::Sequence(container),
        Tag::EXEC => Command::Exec(Exec {
            cmd_id,
            no_resp,
            cred: p.cred,
            meta: p.meta,
            correlator: p.correlator,
            items,
        }),
        Tag::ALERT => Command::Alert(Alert {
            cmd_id,
            no_resp,
            cred: p.cred,
            data: p.data,
            correlator: p.correlator,
            items,
        }),
        Tag::SYNC => Command::Sync(Sync {
            cmd_id,
            no_resp,
            cred: p.cred,
            target: p.target,
            source: p.source,
            meta: p.meta,
            commands,
        }),
        Tag::STATUS => Command::Status(Status {
            cmd_id,
            msg_ref: p.msg_ref,
            cmd_ref: p.cmd_ref,
            cmd: p.cmd,
            target_refs,
            source_refs,
            cred: p.cred,
            chal: p.chal,
            data: p.data,
            items,
        }),
        Tag::RESULTS => Command::Results(Results {
            cmd_id,
            msg_ref: p.msg_ref,
            cmd_ref: p.cmd_ref,
            cmd: p.cmd,
            meta: p.meta,
            target_refs,
            source_refs,
            items,
        }),
        _ => return Err(err(K::UnexpectedElement, offset)),
    })
}

/// Decodes an `Item` of a parsed message whose start tag was just read, for the lazy lists.
pub(crate) fn item<'a>(
    c: &mut Cursor<'a>,
    _tag: Tag,
    empty: bool,
) -> Result<Item<'a>, DecodeError> {
    item_with(c, empty, Mode::View)
}

/// Runs `check` on an element in `Check` mode; skips the element in `View` mode.
fn check_or_skip<'a>(
    c: &mut Cursor<'a>,
    empty: bool,
    mode: Mode,
    check: impl FnOnce(&mut Cursor<'a>) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    match mode {
        Mode::Check => check(c),
        Mode::View => c.skip_element(empty),
    }
}

fn item_with<'a>(c: &mut Cursor<'a>, empty: bool, mode: Mode) -> Result<Item<'a>, DecodeError> {
    let (mut target, mut source, mut meta_, mut data_, mut more) = (None, None, None, None, None);
    let mut nested_tnds = false;
    children(c, empty, PAGE_SYNCML, |c, ch| match ch.tag {
        Tag::TARGET => once(&mut target, location(c, ch)?, ch.offset),
        Tag::SOURCE => once(&mut source, location(c, ch)?, ch.offset),
        Tag::META => once(&mut meta_, meta(c, ch, mode)?, ch.offset),
        Tag::DATA => {
            let (d, nested) = data(c, ch.empty)?;
            nested_tnds = nested;
            once(&mut data_, d, ch.offset)
        }
        Tag::MORE_DATA => once(&mut more, flag(c, ch)?, ch.offset),
        t if is_ignored(t) => c.skip_element(ch.empty),
        _ => Err(err(K::UnexpectedElement, ch.offset)),
    })?;
    if nested_tnds {
        // The model holds TNDS as XML whatever the wire form, so it is typed as XML.
        meta_ = meta_.map(|m| match m.type_() {
            Some(t) if t.eq_ignore_ascii_case(TNDS_WBXML) => m.with_type(TNDS_XML),
            _ => m,
        });
    }
    Ok(Item {
        target,
        source,
        meta: meta_,
        data: data_,
        more_data: more.unwrap_or(false),
    })
}

/// Decodes `Data` content: text, opaque bytes, or embedded XML. The flag is set when the
/// XML came as a nested WBXML TNDS document.
fn data<'a>(c: &mut Cursor<'a>, empty: bool) -> Result<(Data<'a>, bool), DecodeError> {
    if empty {
        return Ok((Data::Text(Text::empty()), false));
    }
    let start = *c;
    let mut found: Option<(Text<'a>, bool)> = None;
    loop {
        match c.next_content(false)? {
            Content::End => {
                return Ok(match found {
                    None => (Data::Text(Text::empty()), false),
                    Some((text, true)) => match nested_tnds(&text) {
                        Some(doc) => (Data::Xml(Embedded::parsed(doc)), true),
                        None => (Data::Opaque(text), false),
                    },
                    Some((text, false)) => (Data::Text(text), false),
                });
            }
            Content::Text { text, opaque } => {
                if found.is_some() {
                    return Err(err(K::UnexpectedText, c.offset()));
                }
                found = Some((text, opaque));
            }
            Content::Start { empty, .. } => {
                // Embedded XML: walk it to the end of `Data` so later reads can trust it.
                let mut depth = u32::from(!empty);
                while let Some(level) = depth.checked_add(1) {
                    match c.next_content(true)? {
                        Content::End if depth == 0 => break,
                        Content::End => depth -= 1,
                        Content::Start { empty: false, .. } => depth = level,
                        _ => {}
                    }
                }
                return Ok((Data::Xml(Embedded::parsed(start)), false));
            }
        }
    }
}

/// A cursor on the root element of the WBXML DDF/TNDS document that `text` (opaque data)
/// holds, if it holds one: the form libwbxml and DM servers give TNDS in WBXML messages.
/// White space after the document (which libwbxml writes as a second token) is allowed.
fn nested_tnds<'a>(text: &Text<'a>) -> Option<Cursor<'a>> {
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
