//! `iotadm wbxml2xml --raw`: WBXML written as XML token by token, with the core's raw
//! token reader, for messages the decoder refuses (a broken server's, mostly): no element
//! is required or refused, and a token no code page defines still gets a name.

use base64::Engine as _;
use iotadm::codec::{raw_tokens, DecodeError, RawToken};

/// An open element: its name, its code page, and whether it holds elements (its end
/// then goes on a line of its own).
struct Open {
    name: String,
    page: u8,
    nested: bool,
}

/// The XML for `wbxml`, one element a line when `indent`. A document that breaks the
/// byte format fails with the decoder's error and offset.
pub(crate) fn wbxml_to_xml(wbxml: &[u8], indent: bool) -> Result<String, DecodeError> {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let mut open: Vec<Open> = Vec::new();
    let newline = |out: &mut String, depth: usize| {
        if indent {
            out.push('\n');
            out.push_str(&"  ".repeat(depth));
        }
    };
    for token in raw_tokens(wbxml)? {
        match token? {
            RawToken::Start {
                tag,
                page,
                token,
                namespace,
                content,
            } => {
                if let Some(parent) = open.last_mut() {
                    parent.nested = true;
                    newline(&mut out, open.len());
                }
                let name = match tag {
                    Some(t) => t.to_owned(),
                    None => format!("unknown-{page}-{token:02X}"),
                };
                out.push('<');
                out.push_str(&name);
                if open.last().is_none_or(|p| p.page != page) {
                    out.push_str(&format!(" xmlns=\"{namespace}\""));
                }
                if content {
                    out.push('>');
                    open.push(Open {
                        name,
                        page,
                        nested: false,
                    });
                } else {
                    out.push_str("/>");
                }
            }
            RawToken::End => {
                // The reader refuses an END without an open element.
                if let Some(element) = open.pop() {
                    if element.nested {
                        newline(&mut out, open.len());
                    }
                    out.push_str(&format!("</{}>", element.name));
                }
            }
            RawToken::Text(bytes) => escape(&String::from_utf8_lossy(bytes), &mut out),
            RawToken::Entity(c) => escape(c.encode_utf8(&mut [0; 4]), &mut out),
            RawToken::Opaque(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => escape(text, &mut out),
                Err(_) => {
                    out.push_str(&format!("<!-- opaque, {} bytes, base64 -->", bytes.len()));
                    out.push_str(&base64::engine::general_purpose::STANDARD.encode(bytes));
                }
            },
            RawToken::Pi => {}
        }
    }
    out.push('\n');
    Ok(out)
}

/// Appends `text` with the characters XML reserves escaped.
fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
}
