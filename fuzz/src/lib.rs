//! Helpers shared by the fuzz targets: reading every part of a decoded message, so that
//! the lazy parts of the model (lists, `Meta`, text with references, embedded XML) are
//! exercised as a client would read them.

use iotadm::codec::{Command, Data, Item, List, Message, Meta, Text};

/// Reads every byte of a text; returns a value so the work is not optimised away.
fn text(t: Text<'_>) -> usize {
    t.bytes().fold(t.len(), |acc, b| acc.wrapping_add(usize::from(b)))
}

fn meta(m: Option<Meta<'_>>) -> usize {
    m.map_or(0, |m| {
        let inf = m.to_metinf();
        [
            inf.format,
            inf.type_,
            inf.mark,
            inf.size,
            inf.next_nonce,
            inf.version,
            inf.max_msg_size,
            inf.max_obj_size,
        ]
        .into_iter()
        .flatten()
        .map(text)
        .sum::<usize>()
            + inf.emi.iter().map(text).sum::<usize>()
    })
}

fn items(list: List<'_, Item<'_>>) -> usize {
    let mut n = list.len();
    for item in list {
        n += item.target.map_or(0, |l| text(l.uri) + l.name.map_or(0, text));
        n += item.source.map_or(0, |l| text(l.uri) + l.name.map_or(0, text));
        n += meta(item.meta);
        n += match item.data {
            Some(Data::Text(t)) | Some(Data::Opaque(t)) => text(t),
            Some(Data::Xml(x)) => x
                .events()
                .map(|e| match e {
                    iotadm::codec::XmlEvent::Text(t) => text(t),
                    _ => 1,
                })
                .sum(),
            None => 0,
        };
    }
    n
}

fn commands(list: List<'_, Command<'_>>) -> usize {
    let mut n = list.len();
    for cmd in list {
        n += text(cmd.cmd_id());
        n += match cmd {
            Command::Add(c) | Command::Copy(c) | Command::Delete(c) | Command::Get(c) | Command::Replace(c) => {
                meta(c.meta) + items(c.items)
            }
            Command::Alert(c) => c.data.map_or(0, text) + c.correlator.map_or(0, text) + items(c.items),
            Command::Exec(c) => meta(c.meta) + c.correlator.map_or(0, text) + items(c.items),
            Command::Atomic(c) | Command::Sequence(c) => meta(c.meta) + commands(c.commands),
            Command::Sync(c) => meta(c.meta) + commands(c.commands),
            Command::Status(c) => {
                c.data.map_or(0, text)
                    + c.target_refs.iter().map(text).sum::<usize>()
                    + c.source_refs.iter().map(text).sum::<usize>()
                    + c.chal.map_or(0, |ch| meta(ch.meta))
                    + items(c.items)
            }
            Command::Results(c) => meta(c.meta) + items(c.items),
            _ => 0,
        };
    }
    n
}

/// Reads the whole message.
pub fn walk(msg: &Message<'_>) -> usize {
    let h = &msg.header;
    text(h.ver_dtd)
        + text(h.session_id)
        + text(h.target.uri)
        + text(h.source.uri)
        + h.cred.map_or(0, |c| meta(c.meta) + text(c.data))
        + meta(h.meta)
        + commands(msg.body.commands)
}
