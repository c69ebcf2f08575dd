#!/usr/bin/env bash
# Flash taken by the codec in firmware: thumbv7em-none-eabihf, the [profile.min-size]
# settings of Cargo.toml (opt-level "z", LTO, one codegen unit, panic = abort).
#
# Builds a small bare-metal image three times from one source under
# target/size-codec/ (never committed):
#   baseline  the image with the codec calls left out (vector table, reset, panic loop);
#   decode    parse_xml + parse_wbxml, then a walk over every command, item, Meta
#             property and data value, as a client reads a message;
#   full      decode, plus Message::encode to XML and to WBXML;
#   wbxml     a WBXML-only client: parse_wbxml, the walk, and encoding to WBXML.
# The codec's share is an image's flash (.vector_table + .text + .rodata + .data) minus
# the baseline's: everything the codec pulls in, from core too, and nothing else.
# Prints the sizes, then the largest symbols of the full image.
#
# Usage: scripts/size-codec.sh [--top N]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
top=25
if [[ ${1:-} == --top ]]; then top=${2:?}; fi
target=thumbv7em-none-eabihf
work=$root/target/size-codec

need() { command -v "$1" >/dev/null 2>&1; }
if ! need arm-none-eabi-size || ! need arm-none-eabi-nm; then
    apt-get install -y binutils-arm-none-eabi >/dev/null 2>&1 ||
        { apt-get update >/dev/null && apt-get install -y binutils-arm-none-eabi >/dev/null; }
fi
rustup target list --installed | grep -qx "$target" || rustup target add "$target"

mkdir -p "$work/src"
profile=$(sed -n '/^\[profile\.min-size\]/,/^\[/p' "$root/Cargo.toml" | sed '$ { /^\[/d }')
cat > "$work/Cargo.toml" <<EOF
[package]
name = "size-codec"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
iotadm = { path = "$root", default-features = false }

[features]
decode = []
encode = ["decode"]
wbxml-only = ["encode"]

[workspace]

[profile.release]
panic = "abort"

$profile
EOF

cat > "$work/link.x" <<'EOF'
ENTRY(reset);
MEMORY
{
  FLASH : ORIGIN = 0x00000000, LENGTH = 1M
  RAM   : ORIGIN = 0x20000000, LENGTH = 256K
}
SECTIONS
{
  .vector_table ORIGIN(FLASH) :
  {
    LONG(ORIGIN(RAM) + LENGTH(RAM));
    KEEP(*(.vector_table.reset));
  } > FLASH
  .text : { *(.text .text.*) } > FLASH
  .rodata : { *(.rodata .rodata.*) } > FLASH
  .data : { *(.data .data.*) } > RAM AT > FLASH
  .bss (NOLOAD) : { *(.bss .bss.* COMMON) } > RAM
  /DISCARD/ : { *(.ARM.exidx .ARM.exidx.* .ARM.extab.*) }
}
EOF

cat > "$work/src/main.rs" <<'EOF'
//! A bare-metal image that uses the codec as a client does, for measuring its flash.
#![no_std]
#![no_main]

use core::hint::black_box;
use core::panic::PanicInfo;

#[panic_handler]
fn panic(_: &PanicInfo) -> ! {
    loop {}
}

static mut INPUT: [u8; 4096] = [0; 4096];
static mut OUTPUT: [u8; 4096] = [0; 4096];

#[link_section = ".vector_table.reset"]
#[used]
static RESET: extern "C" fn() -> ! = reset;

#[no_mangle]
extern "C" fn reset() -> ! {
    loop {
        // Opaque to the optimiser: the image cannot know what it will be given.
        let input: &[u8] = black_box(unsafe { &*core::ptr::addr_of!(INPUT) });
        let output: &mut [u8] = black_box(unsafe { &mut *core::ptr::addr_of_mut!(OUTPUT) });
        black_box(run(input, output));
    }
}

#[cfg(not(feature = "decode"))]
fn run(input: &[u8], _: &mut [u8]) -> u32 {
    input.len() as u32
}

#[cfg(feature = "decode")]
fn run(input: &[u8], output: &mut [u8]) -> u32 {
    use iotadm::codec;
    let mut acc = 0;
    #[cfg(not(feature = "wbxml-only"))]
    let (parsers, encodings) = (
        [codec::parse_xml, codec::parse_wbxml],
        [codec::Encoding::Xml, codec::Encoding::Wbxml],
    );
    #[cfg(feature = "wbxml-only")]
    let (parsers, encodings) = ([codec::parse_wbxml], [codec::Encoding::Wbxml]);
    for parse in parsers {
        let Ok(msg) = parse(input) else { continue };
        acc += walk::message(&msg);
        #[cfg(feature = "encode")]
        for encoding in encodings {
            acc += msg.encode(encoding, output).unwrap_or(0) as u32;
        }
    }
    let _ = encodings;
    let _ = output;
    acc
}

#[cfg(feature = "decode")]
mod walk {
    use iotadm::codec::{Command, Data, Item, List, Location, Message, Meta, Text, XmlEvent};

    fn text(t: &Text<'_>) -> u32 {
        t.chunks().map(|c| c.as_bytes().iter().map(|&b| u32::from(b)).sum::<u32>()).sum()
    }

    fn opt(t: Option<Text<'_>>) -> u32 {
        t.map_or(0, |t| text(&t))
    }

    fn location(l: Option<Location<'_>>) -> u32 {
        l.map_or(0, |l| text(&l.uri) + opt(l.name))
    }

    fn meta(m: Option<Meta<'_>>) -> u32 {
        m.map_or(0, |m| opt(m.format()) + opt(m.type_()) + opt(m.size()) + opt(m.next_nonce()))
    }

    fn items(list: List<'_, Item<'_>>) -> u32 {
        list.iter()
            .map(|it| {
                let data = match it.data {
                    Some(Data::Text(t) | Data::Opaque(t)) => text(&t),
                    Some(Data::Xml(x)) => x
                        .events()
                        .map(|e| match e {
                            XmlEvent::Text(t) => text(&t),
                            _ => 1,
                        })
                        .sum(),
                    None => 0,
                };
                location(it.target) + location(it.source) + meta(it.meta) + data
            })
            .sum()
    }

    fn commands(list: List<'_, Command<'_>>, depth: u32) -> u32 {
        list.iter()
            .map(|cmd| {
                text(&cmd.cmd_id())
                    + match cmd {
                        Command::Add(c) | Command::Replace(c) | Command::Get(c) => {
                            meta(c.meta) + items(c.items)
                        }
                        Command::Alert(c) => opt(c.data) + items(c.items),
                        Command::Exec(c) => opt(c.correlator) + items(c.items),
                        Command::Status(c) => {
                            opt(c.cmd_ref) + opt(c.data) + meta(c.chal.and_then(|c| c.meta))
                        }
                        Command::Results(c) => meta(c.meta) + items(c.items),
                        Command::Atomic(c) | Command::Sequence(c) if depth < 2 => {
                            commands(c.commands, depth + 1)
                        }
                        _ => 0,
                    }
            })
            .sum()
    }

    pub(crate) fn message(m: &Message<'_>) -> u32 {
        let h = &m.header;
        text(&h.session_id)
            + location(Some(h.source))
            + meta(h.meta)
            + commands(m.body.commands, 0)
    }
}
EOF

cd "$work"
export CARGO_TARGET_DIR=$work/target
flash() { # .vector_table + .text + .rodata + .data of an ELF
    arm-none-eabi-size -A "$1" |
        awk '$1 ~ /^\.(vector_table|text|rodata|data)$/ { s += $2 } END { print s }'
}
declare -A size
for variant in baseline decode full wbxml; do
    case $variant in
        baseline) features=() ;;
        decode) features=(--features decode) ;;
        full) features=(--features encode) ;;
        wbxml) features=(--features wbxml-only) ;;
    esac
    RUSTFLAGS="-C link-arg=-T$work/link.x" \
        cargo build -q --profile min-size --target "$target" "${features[@]}"
    elf=$work/target/$target/min-size/size-codec
    cp "$elf" "$work/$variant.elf"
    size[$variant]=$(flash "$elf")
done

base=${size[baseline]}
over() { printf '%6d bytes  (%.1f KiB over baseline)' "$1" "$(echo "($1 - $base) / 1024" | bc -l)"; }
printf 'codec flash on %s, opt-level "z" + LTO (rustc %s)\n' "$target" "$(rustc -V | cut -d' ' -f2)"
printf '  baseline image                 %6d bytes\n' "$base"
printf '  decode (parse both + walk)     %s\n' "$(over "${size[decode]}")"
printf '  decode + encode both           %s\n' "$(over "${size[full]}")"
printf '  WBXML only, both directions    %s\n' "$(over "${size[wbxml]}")"
sum() { arm-none-eabi-nm -S -C -t d "$work/full.elf" | awk -v re="$1" '$0 ~ re { s += $2 } END { print s + 0 }'; }
codec=$(sum 'iotadm::codec') walk=$(sum 'size_codec::walk')
printf '  of the full image: iotadm::codec symbols %d bytes (%.1f KiB), the walk %d bytes,\n' \
    "$codec" "$(echo "$codec / 1024" | bc -l)" "$walk"
echo "  the rest is start-up and what the codec takes from core (memcpy, from_utf8, memchr)"
echo
echo "largest symbols of the full image:"
arm-none-eabi-nm --size-sort -S -C -r -t d "$work/full.elf" | head -n "$top" |
    awk '{ printf "  %6d  %s", $2, $3; for (i = 4; i <= NF; i++) printf " %s", $i; print "" }'
