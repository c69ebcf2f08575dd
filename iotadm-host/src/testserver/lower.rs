//! Turns the server's owned messages into the codec's borrowed model for encoding. Every
//! string is copied into a bump arena that lives as long as the encoding, so the model
//! never borrows from the session state.

use std::string::String;
use std::vec::Vec;

use bumpalo::Bump;

use super::script::{Cmd, CmdKind, ItemSpec, MetaSpec, Value, XmlPiece};
use iotadm::codec::{
    Alert, Chal, Command, Container, Cred, Data, Embedded, Exec, Item, ItemCommand, List, Location,
    Message, MetInf, Meta, Status, SyncBody, SyncHdr, Text, XmlEvent,
};

/// A server `SyncHdr` to send.
#[derive(Debug, Clone)]
pub(crate) struct HeaderOut {
    pub(crate) session_id: String,
    pub(crate) msg_id: u32,
    pub(crate) target: String,
    pub(crate) source: String,
    pub(crate) source_name: Option<String>,
    pub(crate) resp_uri: Option<String>,
    /// `Cred`: Meta `Type`, then `Data`.
    pub(crate) cred: Option<(String, String)>,
    pub(crate) max_msg_size: Option<usize>,
    pub(crate) max_obj_size: Option<usize>,
}

/// A `Chal` to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChalOut {
    pub(crate) type_: String,
    pub(crate) next_nonce: Option<String>,
}

/// A `Status` to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StatusOut {
    pub(crate) msg_ref: u32,
    pub(crate) cmd_ref: u32,
    pub(crate) cmd: String,
    pub(crate) code: u16,
    pub(crate) chal: Option<ChalOut>,
    pub(crate) target_ref: Option<String>,
    pub(crate) source_ref: Option<String>,
}

/// One part of a large object: bytes `range` of the data, and whether more follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChunkView {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) total: usize,
}

impl ChunkView {
    pub(crate) fn is_last(&self) -> bool {
        self.end >= self.total
    }
}

/// A command placed in a message, with the `CmdID`s it and its children got.
pub(crate) enum Unit<'c> {
    Status(&'c StatusOut),
    /// Alert 1222, asking for the next message of the client's package.
    NextMessage,
    Command {
        cmd: &'c Cmd,
        chunk: Option<ChunkView>,
    },
}

pub(crate) struct Lower<'b> {
    bump: &'b Bump,
}

impl<'b> Lower<'b> {
    pub(crate) fn new(bump: &'b Bump) -> Self {
        Lower { bump }
    }

    fn text(&self, s: &str) -> Text<'b> {
        Text::new(self.bump.alloc_str(s))
    }

    fn opt_text(&self, s: &Option<String>) -> Option<Text<'b>> {
        s.as_deref().map(|s| self.text(s))
    }

    fn num(&self, n: impl core::fmt::Display) -> Text<'b> {
        self.text(&std::format!("{n}"))
    }

    fn metinf(&self, m: &MetaSpec) -> MetInf<'b> {
        MetInf {
            format: self.opt_text(&m.format),
            type_: self.opt_text(&m.type_),
            mark: self.opt_text(&m.mark),
            size: self.opt_text(&m.size),
            ..MetInf::default()
        }
    }

    fn meta(&self, inf: MetInf<'b>) -> Option<Meta<'b>> {
        (inf != MetInf::default()).then(|| Meta::new(self.bump.alloc(inf)))
    }

    fn location(&self, uri: &Option<String>) -> Option<Location<'b>> {
        uri.as_deref().map(|u| Location {
            uri: self.text(u),
            name: None,
        })
    }

    fn data(&self, value: &Value, chunk: Option<ChunkView>) -> Data<'b> {
        match value {
            Value::Text(t) => {
                let s = match chunk {
                    Some(c) => t.get(c.start..c.end).unwrap_or(""),
                    None => t.as_str(),
                };
                Data::Text(self.text(s))
            }
            Value::Bytes(b) => {
                let s = match chunk {
                    Some(c) => b.get(c.start..c.end).unwrap_or(&[]),
                    None => b.as_slice(),
                };
                Data::Opaque(Text::from_bytes(self.bump.alloc_slice_copy(s)))
            }
            Value::Xml(pieces) => {
                let events: Vec<XmlEvent<'b>> = pieces
                    .iter()
                    .map(|p| match p {
                        XmlPiece::Start { name, namespace } => XmlEvent::Start {
                            name: self.bump.alloc_str(name),
                            namespace: namespace.as_deref().map(|n| &*self.bump.alloc_str(n)),
                        },
                        XmlPiece::Text(t) => XmlEvent::Text(self.text(t)),
                        XmlPiece::End => XmlEvent::End,
                    })
                    .collect();
                Data::Xml(Embedded::from_events(self.bump.alloc_slice_copy(&events)))
            }
        }
    }

    fn item(&self, spec: &ItemSpec, chunk: Option<ChunkView>) -> Item<'b> {
        let mut inf = self.metinf(&spec.meta);
        if let Some(c) = chunk {
            // Size goes on the first chunk only.
            inf.size = (c.start == 0).then(|| self.num(c.total));
        }
        Item {
            target: self.location(&spec.target),
            source: self.location(&spec.source),
            meta: self.meta(inf),
            data: spec.data.as_ref().map(|d| self.data(d, chunk)),
            more_data: chunk.is_some_and(|c| !c.is_last()),
        }
    }

    /// Lowers `cmd`, numbering it and its children from `next_id`; `ids` receives each
    /// command's `CmdID` in pre-order.
    pub(crate) fn command(
        &self,
        cmd: &Cmd,
        chunk: Option<ChunkView>,
        next_id: &mut u32,
        ids: &mut Vec<u32>,
    ) -> Command<'b> {
        let id = *next_id;
        *next_id = next_id.saturating_add(1);
        ids.push(id);
        let cmd_id = self.num(id);
        let items: Vec<Item<'b>> = cmd.items.iter().map(|i| self.item(i, chunk)).collect();
        let items = List::new(&*self.bump.alloc_slice_copy(&items));
        let meta = self.meta(self.metinf(&cmd.meta));
        let ic = ItemCommand {
            cmd_id,
            no_resp: cmd.no_resp,
            cred: None,
            meta,
            items,
        };
        match cmd.kind {
            CmdKind::Add => Command::Add(ic),
            CmdKind::Copy => Command::Copy(ic),
            CmdKind::Delete => Command::Delete(ic),
            CmdKind::Get => Command::Get(ic),
            CmdKind::Replace => Command::Replace(ic),
            CmdKind::Exec => Command::Exec(Exec {
                cmd_id,
                no_resp: cmd.no_resp,
                cred: None,
                meta,
                correlator: self.opt_text(&cmd.correlator),
                items,
            }),
            CmdKind::Alert(code) => Command::Alert(Alert {
                cmd_id,
                no_resp: cmd.no_resp,
                cred: None,
                data: Some(self.num(code)),
                correlator: self.opt_text(&cmd.correlator),
                items,
            }),
            CmdKind::Atomic | CmdKind::Sequence => {
                let children: Vec<Command<'b>> = cmd
                    .children
                    .iter()
                    .map(|c| self.command(c, None, next_id, ids))
                    .collect();
                let container = Container {
                    cmd_id,
                    no_resp: cmd.no_resp,
                    meta,
                    commands: List::new(&*self.bump.alloc_slice_copy(&children)),
                };
                if cmd.kind == CmdKind::Atomic {
                    Command::Atomic(container)
                } else {
                    Command::Sequence(container)
                }
            }
        }
    }

    pub(crate) fn status(&self, s: &StatusOut, id: u32) -> Command<'b> {
        let chal = s.chal.as_ref().map(|c| Chal {
            meta: self.meta(MetInf {
                type_: Some(self.text(&c.type_)),
                format: Some(Text::new("b64")),
                next_nonce: self.opt_text(&c.next_nonce),
                ..MetInf::default()
            }),
        });
        let one = |r: &Option<String>| -> List<'b, Text<'b>> {
            match r {
                Some(r) => List::new(std::slice::from_ref(self.bump.alloc(self.text(r)))),
                None => List::empty(),
            }
        };
        Command::Status(Status {
            cmd_id: self.num(id),
            msg_ref: Some(self.num(s.msg_ref)),
            cmd_ref: Some(self.num(s.cmd_ref)),
            cmd: Some(self.text(&s.cmd)),
            target_refs: one(&s.target_ref),
            source_refs: one(&s.source_ref),
            cred: None,
            chal,
            data: Some(self.num(s.code)),
            items: List::empty(),
        })
    }

    pub(crate) fn next_message(&self, id: u32) -> Command<'b> {
        Command::Alert(Alert {
            cmd_id: self.num(id),
            no_resp: false,
            cred: None,
            data: Some(Text::new("1222")),
            correlator: None,
            items: List::empty(),
        })
    }

    /// The whole message; `ids[k]` lists the `CmdID`s given to `units[k]` and its children.
    pub(crate) fn message(
        &self,
        header: &HeaderOut,
        units: &[Unit<'_>],
        is_final: bool,
        ids: &mut Vec<Vec<u32>>,
    ) -> Message<'b> {
        let mut next_id = 1u32;
        let mut commands = Vec::with_capacity(units.len());
        ids.clear();
        for unit in units {
            let mut own = Vec::new();
            let c = match unit {
                Unit::Status(s) => {
                    own.push(next_id);
                    let c = self.status(s, next_id);
                    next_id += 1;
                    c
                }
                Unit::NextMessage => {
                    own.push(next_id);
                    let c = self.next_message(next_id);
                    next_id += 1;
                    c
                }
                Unit::Command { cmd, chunk } => self.command(cmd, *chunk, &mut next_id, &mut own),
            };
            commands.push(c);
            ids.push(own);
        }
        let header_meta = MetInf {
            max_msg_size: header.max_msg_size.map(|n| self.num(n)),
            max_obj_size: header.max_obj_size.map(|n| self.num(n)),
            ..MetInf::default()
        };
        let cred = header.cred.as_ref().map(|(type_, data)| Cred {
            meta: self.meta(MetInf {
                type_: Some(self.text(type_)),
                format: Some(Text::new("b64")),
                ..MetInf::default()
            }),
            data: self.text(data),
        });
        Message {
            header: SyncHdr {
                ver_dtd: Text::new("1.2"),
                ver_proto: Text::new("DM/1.2"),
                session_id: self.text(&header.session_id),
                msg_id: self.num(header.msg_id),
                target: Location {
                    uri: self.text(&header.target),
                    name: None,
                },
                source: Location {
                    uri: self.text(&header.source),
                    name: self.opt_text(&header.source_name),
                },
                resp_uri: self.opt_text(&header.resp_uri),
                no_resp: false,
                cred,
                meta: self.meta(header_meta),
            },
            body: SyncBody {
                commands: List::new(&*self.bump.alloc_slice_copy(&commands)),
                is_final,
            },
        }
    }
}
