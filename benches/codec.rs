//! Codec throughput: decode and encode, XML and WBXML, on 1 MiB messages and on typical
//! 1-4 KiB messages from the real-message corpus.
//!
//! * `decode`: what a client does with a received message: parse it, then walk every
//!   command, item, reference, Meta property and data value of the model, reading each
//!   byte of the text (lists and Meta are lazy views, so the walk is part of the cost).
//! * `parse`: [`codec::parse_xml`] / [`codec::parse_wbxml`] alone (validation and the typed
//!   decode of every element), without the walk.
//! * `encode`: [`Message::encode`] into a preallocated buffer, from a model built of slices
//!   the way a client builds the messages it sends.
//! * `transcode`: encoding a parsed message into the other encoding, as the host tool does.
//!
//! Throughput is counted in bytes of the message in the encoding named (MB/s, 10^6 bytes):
//! the input for `decode` and `parse`, the output for `encode` and `transcode`.
//!
//! Run with `cargo bench --bench codec`; `docs/benchmarks.md` holds the figures.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use iotadm::codec::{
    self, Alert, Command, Container, Cred, Data, Embedded, Encoding, Exec, Item, ItemCommand, List,
    Location, Message, Meta, Results, Status, Sync, Text, XmlEvent,
};

#[path = "../tests/common/gen.rs"]
mod gen;

/// One benchmark input: a message in both encodings.
struct Input {
    name: &'static str,
    xml: Vec<u8>,
    wbxml: Vec<u8>,
}

impl Input {
    fn new(name: &'static str, xml: Vec<u8>) -> Self {
        let msg = codec::parse_xml(&xml).unwrap_or_else(|e| panic!("{name}: {e}"));
        let wbxml = encode_vec(&msg, Encoding::Wbxml);
        Input { name, xml, wbxml }
    }

    fn bytes(&self, encoding: Encoding) -> &[u8] {
        match encoding {
            Encoding::Xml => &self.xml,
            Encoding::Wbxml => &self.wbxml,
        }
    }
}

fn encode_vec(msg: &Message<'_>, encoding: Encoding) -> Vec<u8> {
    let mut out = vec![0; msg.encoded_len(encoding).expect("encodable")];
    let n = msg.encode(encoding, &mut out).expect("encodes");
    out.truncate(n);
    out
}

const MIB: usize = 1 << 20;

/// Typical messages of a session, from the real-message corpus.
const TYPICAL: &[(&str, &str)] = &[
    // Client package 1: Alert 1200, basic Cred, Replace of five DevInfo leaves.
    (
        "pkg1-devinfo",
        "omaspec-dm12-s2.6.2.1-pkg1-client-alert1200-cred-basic.xml",
    ),
    // Server package 2: Cred, Status for the header and commands, Sequence of an Alert
    // 1101 and a Replace.
    (
        "pkg2-status-sequence",
        "omaspec-dm12-s2.6.1.2-pkg2-server-sequence-alert1101-replace.xml",
    ),
    // Server package 2: Cred, Add of an interior node and typed leaves, Replace, Get.
    (
        "pkg2-add-replace-get",
        "aosp-omadm-dm12-testnewdatatype.xml",
    ),
    // Client package 3: Status for each command, Results of two Gets.
    ("pkg3-results", "msmdm-s4-pkg3-client-status-results.xml"),
];

fn corpus_dir() -> PathBuf {
    std::env::var_os("IOTADM_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/real"))
}

fn inputs() -> Vec<Input> {
    let mut inputs = vec![
        // A Replace of thousands of small items: dense in elements, little data.
        Input::new("tree-1MiB", gen::large_message(MIB).into_bytes()),
        // Commands of every kind from the seeded generator, some with large values.
        Input::new("mixed-1MiB", gen::mixed_message(MIB).into_bytes()),
    ];
    let dir = corpus_dir();
    for (name, file) in TYPICAL {
        match std::fs::read(dir.join(file)) {
            Ok(xml) => inputs.push(Input::new(name, xml)),
            Err(e) => eprintln!("skipping {name}: {}: {e}", dir.join(file).display()),
        }
    }
    inputs
}

/// Reads every byte of a text, as a client copying or comparing it would, and folds them
/// into `acc` (a byte-wide sum, which the compiler vectorises like a copy).
fn touch(acc: u64, t: &Text<'_>) -> u64 {
    t.chunks().fold(acc, |acc, chunk| {
        let bytes = chunk.as_bytes();
        let sum = bytes.iter().fold(0u8, |a, &b| a.wrapping_add(b));
        acc.rotate_left(5) ^ u64::from(sum) ^ bytes.len() as u64
    })
}

fn touch_opt(acc: u64, t: Option<Text<'_>>) -> u64 {
    t.map_or(acc, |t| touch(acc, &t))
}

fn walk_location(acc: u64, l: Option<Location<'_>>) -> u64 {
    l.map_or(acc, |l| touch_opt(touch(acc, &l.uri), l.name))
}

/// The Meta properties a client acts on: the format and type of a value or credential.
fn walk_meta(acc: u64, m: Option<Meta<'_>>) -> u64 {
    let Some(m) = m else { return acc };
    touch_opt(touch_opt(acc, m.format()), m.type_())
}

fn walk_cred(acc: u64, c: Option<Cred<'_>>) -> u64 {
    c.map_or(acc, |c| walk_meta(touch(acc, &c.data), c.meta))
}

fn walk_items(mut acc: u64, items: List<'_, Item<'_>>) -> u64 {
    for it in items {
        acc = walk_location(acc, it.target);
        acc = walk_location(acc, it.source);
        acc = walk_meta(acc, it.meta);
        // The size of a large object comes with its first chunk.
        if it.more_data {
            acc = touch_opt(acc, it.meta.and_then(|m| m.size()));
        }
        acc = match it.data {
            None => acc,
            Some(Data::Text(t) | Data::Opaque(t)) => touch(acc, &t),
            Some(Data::Xml(x)) => x.events().fold(acc, |a, ev| match ev {
                XmlEvent::Start { name, .. } => a.wrapping_add(name.len() as u64),
                XmlEvent::Text(t) => touch(a, &t),
                XmlEvent::End => a.wrapping_add(1),
            }),
        };
        acc = acc.wrapping_add(u64::from(it.more_data));
    }
    acc
}

fn walk_refs(acc: u64, refs: List<'_, Text<'_>>) -> u64 {
    refs.into_iter().fold(acc, |a, t| touch(a, &t))
}

fn walk_commands(mut acc: u64, commands: List<'_, Command<'_>>) -> u64 {
    for cmd in commands {
        acc = touch(acc, &cmd.cmd_id());
        acc = match cmd {
            Command::Add(c)
            | Command::Copy(c)
            | Command::Delete(c)
            | Command::Get(c)
            | Command::Replace(c) => walk_items(walk_meta(walk_cred(acc, c.cred), c.meta), c.items),
            Command::Alert(c) => {
                walk_items(touch_opt(touch_opt(acc, c.data), c.correlator), c.items)
            }
            Command::Exec(c) => {
                walk_items(walk_meta(touch_opt(acc, c.correlator), c.meta), c.items)
            }
            Command::Status(c) => {
                let acc = touch_opt(touch_opt(touch_opt(acc, c.msg_ref), c.cmd_ref), c.cmd);
                let acc = walk_refs(walk_refs(acc, c.target_refs), c.source_refs);
                let acc = walk_meta(acc, c.chal.and_then(|ch| ch.meta));
                walk_items(touch_opt(acc, c.data), c.items)
            }
            Command::Results(c) => {
                let acc = touch_opt(touch_opt(acc, c.msg_ref), c.cmd_ref);
                let acc = walk_refs(
                    walk_refs(walk_meta(acc, c.meta), c.target_refs),
                    c.source_refs,
                );
                walk_items(acc, c.items)
            }
            Command::Atomic(c) | Command::Sequence(c) => walk_commands(acc, c.commands),
            Command::Sync(c) => walk_commands(acc, c.commands),
            _ => acc,
        };
    }
    acc
}

/// Reads the whole model as a client would.
fn walk(msg: &Message<'_>) -> u64 {
    let h = &msg.header;
    let mut acc = touch(0, &h.session_id);
    acc = touch(acc, &h.msg_id);
    acc = walk_location(acc, Some(h.target));
    acc = walk_location(acc, Some(h.source));
    acc = walk_cred(acc, h.cred);
    acc = touch_opt(acc, h.meta.and_then(|m| m.max_msg_size()));
    walk_commands(acc, msg.body.commands).wrapping_add(u64::from(msg.body.is_final))
}

/// Copies a decoded message into a model built of slices, the form a client encodes from.
/// The storage is leaked: it is made once per input.
fn built<'a>(msg: &Message<'a>) -> Message<'a> {
    fn leak<'a, T: 'a>(v: Vec<T>) -> &'a [T] {
        Vec::leak(v)
    }
    fn meta<'a>(m: Option<Meta<'a>>) -> Option<Meta<'a>> {
        m.map(|m| {
            let mut inf = m.to_metinf();
            inf.emi = List::new(leak(inf.emi.iter().collect()));
            Meta::new(Box::leak(Box::new(inf)))
        })
    }
    fn cred<'a>(c: Option<Cred<'a>>) -> Option<Cred<'a>> {
        c.map(|c| Cred {
            meta: meta(c.meta),
            data: c.data,
        })
    }
    fn refs<'a>(l: List<'a, Text<'a>>) -> List<'a, Text<'a>> {
        List::new(leak(l.iter().collect()))
    }
    fn items<'a>(l: List<'a, Item<'a>>) -> List<'a, Item<'a>> {
        let v = l
            .iter()
            .map(|it| Item {
                meta: meta(it.meta),
                data: it.data.map(|d| match d {
                    Data::Xml(x) => Data::Xml(Embedded::from_events(leak(x.events().collect()))),
                    other => other,
                }),
                ..it
            })
            .collect();
        List::new(leak(v))
    }
    fn commands<'a>(l: List<'a, Command<'a>>) -> List<'a, Command<'a>> {
        let item_command = |c: ItemCommand<'a>| ItemCommand {
            cred: cred(c.cred),
            meta: meta(c.meta),
            items: items(c.items),
            ..c
        };
        let container = |c: Container<'a>| Container {
            meta: meta(c.meta),
            commands: commands(c.commands),
            ..c
        };
        let v = l
            .iter()
            .map(|cmd| match cmd {
                Command::Add(c) => Command::Add(item_command(c)),
                Command::Copy(c) => Command::Copy(item_command(c)),
                Command::Delete(c) => Command::Delete(item_command(c)),
                Command::Get(c) => Command::Get(item_command(c)),
                Command::Replace(c) => Command::Replace(item_command(c)),
                Command::Atomic(c) => Command::Atomic(container(c)),
                Command::Sequence(c) => Command::Sequence(container(c)),
                Command::Alert(c) => Command::Alert(Alert {
                    cred: cred(c.cred),
                    items: items(c.items),
                    ..c
                }),
                Command::Exec(c) => Command::Exec(Exec {
                    cred: cred(c.cred),
                    meta: meta(c.meta),
                    items: items(c.items),
                    ..c
                }),
                Command::Status(c) => Command::Status(Status {
                    target_refs: refs(c.target_refs),
                    source_refs: refs(c.source_refs),
                    cred: cred(c.cred),
                    chal: c.chal.map(|ch| codec::Chal {
                        meta: meta(ch.meta),
                    }),
                    items: items(c.items),
                    ..c
                }),
                Command::Results(c) => Command::Results(Results {
                    meta: meta(c.meta),
                    target_refs: refs(c.target_refs),
                    source_refs: refs(c.source_refs),
                    items: items(c.items),
                    ..c
                }),
                Command::Sync(c) => Command::Sync(Sync {
                    cred: cred(c.cred),
                    meta: meta(c.meta),
                    commands: commands(c.commands),
                    ..c
                }),
                other => other,
            })
            .collect();
        List::new(leak(v))
    }
    let mut m = *msg;
    m.header.cred = cred(m.header.cred);
    m.header.meta = meta(m.header.meta);
    m.body.commands = commands(m.body.commands);
    m
}

fn decode(c: &mut Criterion, inputs: &[Input]) {
    for encoding in [Encoding::Xml, Encoding::Wbxml] {
        let mut group = c.benchmark_group(format!("decode/{}", label(encoding)));
        for input in inputs {
            let bytes = input.bytes(encoding);
            group.throughput(Throughput::BytesDecimal(bytes.len() as u64));
            group.bench_with_input(
                BenchmarkId::from_parameter(input.name),
                bytes,
                |b, bytes| {
                    b.iter(|| {
                        let msg = parse(encoding, black_box(bytes));
                        walk(&msg)
                    })
                },
            );
        }
        group.finish();
    }
}

fn parse_only(c: &mut Criterion, inputs: &[Input]) {
    for encoding in [Encoding::Xml, Encoding::Wbxml] {
        let mut group = c.benchmark_group(format!("parse/{}", label(encoding)));
        for input in inputs {
            let bytes = input.bytes(encoding);
            group.throughput(Throughput::BytesDecimal(bytes.len() as u64));
            group.bench_with_input(
                BenchmarkId::from_parameter(input.name),
                bytes,
                |b, bytes| b.iter(|| parse(encoding, black_box(bytes))),
            );
        }
        group.finish();
    }
}

fn encode(c: &mut Criterion, inputs: &[Input]) {
    for encoding in [Encoding::Xml, Encoding::Wbxml] {
        let mut group = c.benchmark_group(format!("encode/{}", label(encoding)));
        for input in inputs {
            let parsed = parse(Encoding::Xml, &input.xml);
            let msg = built(&parsed);
            assert_eq!(msg, parsed, "{}: the built model differs", input.name);
            let len = msg.encoded_len(encoding).expect("encodable");
            let mut buf = vec![0u8; len];
            group.throughput(Throughput::BytesDecimal(len as u64));
            group.bench_function(BenchmarkId::from_parameter(input.name), |b| {
                b.iter(|| black_box(&msg).encode(encoding, &mut buf))
            });
        }
        group.finish();
    }
}

fn transcode(c: &mut Criterion, inputs: &[Input]) {
    for (from, to) in [
        (Encoding::Wbxml, Encoding::Xml),
        (Encoding::Xml, Encoding::Wbxml),
    ] {
        let mut group = c.benchmark_group(format!("transcode/{}-to-{}", label(from), label(to)));
        for input in inputs {
            let msg = parse(from, input.bytes(from));
            let len = msg.encoded_len(to).expect("encodable");
            let mut buf = vec![0u8; len];
            group.throughput(Throughput::BytesDecimal(len as u64));
            group.bench_function(BenchmarkId::from_parameter(input.name), |b| {
                b.iter(|| black_box(&msg).encode(to, &mut buf))
            });
        }
        group.finish();
    }
}

fn parse(encoding: Encoding, bytes: &[u8]) -> Message<'_> {
    let parsed = match encoding {
        Encoding::Xml => codec::parse_xml(bytes),
        Encoding::Wbxml => codec::parse_wbxml(bytes),
    };
    parsed.expect("benchmark input decodes")
}

fn label(encoding: Encoding) -> &'static str {
    match encoding {
        Encoding::Xml => "xml",
        Encoding::Wbxml => "wbxml",
    }
}

fn codec_benches(c: &mut Criterion) {
    let inputs = inputs();
    decode(c, &inputs);
    parse_only(c, &inputs);
    encode(c, &inputs);
    transcode(c, &inputs);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    targets = codec_benches
}
criterion_main!(benches);
