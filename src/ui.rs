//! User interaction alerts (OMA-TS-DM_Protocol 1.2, Alerts 1100-1104): the option
//! string the server sends with them (`MINDT=5&MAXDT=30&DR=1&MAXLEN=20&IT=N&ET=P`), and the
//! [`UserInteraction`] trait through which the handset's UI answers.
//!
//! The session calls the trait and waits for its answer; an implementation that cannot
//! ask the user returns [`UiAnswer::NotSupported`] (status 406), and one whose user does
//! not answer in time returns [`UiAnswer::Timeout`] (408). Management objects ask the
//! user too (FUMO, before a download or an update), so these types sit below both the
//! session and the objects.

use crate::codec::Text;
use crate::codes::AlertCode;

/// The kind of a user-interaction alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum UiKind {
    /// 1100: show a message.
    Display,
    /// 1101: yes or no.
    Confirm,
    /// 1102: type some text.
    TextInput,
    /// 1103: pick one.
    SingleChoice,
    /// 1104: pick several.
    MultipleChoice,
}

impl UiKind {
    /// The kind of alert code `code`, if it is a user-interaction alert.
    pub fn from_code(code: u16) -> Option<UiKind> {
        Some(match AlertCode::from(code) {
            AlertCode::Display => UiKind::Display,
            AlertCode::ConfirmOrReject => UiKind::Confirm,
            AlertCode::TextInput => UiKind::TextInput,
            AlertCode::SingleChoice => UiKind::SingleChoice,
            AlertCode::MultipleChoice => UiKind::MultipleChoice,
            _ => return None,
        })
    }
}

/// The input type asked for (`IT=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum InputType {
    /// `A`: alphanumeric (the default).
    #[default]
    Alphanumeric,
    /// `N`: numeric.
    Numeric,
    /// `D`: a date, `DDMMYYYY`.
    Date,
    /// `T`: a time, `hhmmss`.
    Time,
    /// `P`: a phone number.
    Phone,
    /// `I`: an IP address.
    Ip,
}

/// How typed text is shown (`ET=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EchoType {
    /// `T`: as typed (the default).
    #[default]
    Text,
    /// `P`: masked, as a password.
    Password,
}

/// The options of a user-interaction alert, from its first item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UiOptions<'a> {
    /// `MINDT`: seconds the message stays at least.
    pub min_display_secs: Option<u32>,
    /// `MAXDT`: seconds to wait for the user at most.
    pub max_display_secs: Option<u32>,
    /// `DR`: the default response, decoded (text, or choice numbers separated by `-`).
    pub default_response: Option<&'a str>,
    /// `MAXLEN`: longest input.
    pub max_len: Option<u32>,
    /// `IT`: input type.
    pub input_type: InputType,
    /// `ET`: echo type.
    pub echo_type: EchoType,
}

impl<'a> UiOptions<'a> {
    /// Parses the option string that fills `buf`, decoding each value where it lies.
    ///
    /// DM Protocol 1.2 §2.5.3 writes the options as a URL query: `NAME=value` pairs joined
    /// by `&`, each value URL-encoded (RFC 2396 `%XX` escapes, and `+` for a space, as the
    /// specification's own `DR=John+Doe` does). The user and the server get the text
    /// itself. Unknown options are ignored, as the specification asks of a client;
    /// malformed numbers leave their option unset, and a default response that does not
    /// decode to UTF-8 is left out.
    pub fn parse_in(buf: &'a mut [u8]) -> UiOptions<'a> {
        let mut o = UiOptions::default();
        // Where the decoded default response lies in `buf`.
        let mut dr = None;
        let mut at = 0;
        while at < buf.len() {
            let end = buf
                .get(at..)
                .and_then(|rest| rest.iter().position(|&b| b == b'&'))
                .map_or(buf.len(), |n| at + n);
            let pair = at..end;
            at = end + 1;
            let Some(eq) = buf
                .get(pair.clone())
                .and_then(|p| p.iter().position(|&b| b == b'='))
            else {
                continue;
            };
            let value_at = pair.start + eq + 1;
            let value_len = buf
                .get_mut(value_at..pair.end)
                .map_or(0, url_decode_in_place);
            let key = buf.get(pair.start..pair.start + eq).unwrap_or(&[]);
            let value = buf.get(value_at..value_at + value_len).unwrap_or(&[]);
            let value = value.trim_ascii();
            // Numbers are plain decimal digits: the codec's reader, not `str::parse`,
            // which would bring a parser of its own for a sign nobody writes.
            let number = Text::from_bytes(value).parse_u32();
            match key.trim_ascii() {
                b"MINDT" => o.min_display_secs = number,
                b"MAXDT" => o.max_display_secs = number,
                b"DR" => dr = Some((value_at, value_len)),
                b"MAXLEN" => o.max_len = number,
                b"IT" => {
                    o.input_type = match value {
                        b"N" => InputType::Numeric,
                        b"D" => InputType::Date,
                        b"T" => InputType::Time,
                        b"P" => InputType::Phone,
                        b"I" => InputType::Ip,
                        _ => InputType::Alphanumeric,
                    }
                }
                b"ET" => {
                    o.echo_type = if value == b"P" {
                        EchoType::Password
                    } else {
                        EchoType::Text
                    }
                }
                _ => {}
            }
        }
        let buf: &'a [u8] = buf;
        o.default_response = dr
            .and_then(|(at, len)| buf.get(at..at + len))
            .and_then(|v| core::str::from_utf8(v).ok());
        o
    }
}

/// Decodes URL encoding in place (`%XX` and `+`); returns the decoded length. An escape
/// that is not two hex digits is kept as written.
fn url_decode_in_place(value: &mut [u8]) -> usize {
    let hex = |b: u8| {
        char::from(b)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    let (mut read, mut write) = (0, 0);
    while let Some(&b) = value.get(read) {
        let escaped = (b == b'%')
            .then(|| Some(hex(*value.get(read + 1)?)? << 4 | hex(*value.get(read + 2)?)?))
            .flatten();
        let (out, used) = match (b, escaped) {
            (_, Some(byte)) => (byte, 3),
            (b'+', None) => (b' ', 1),
            (b, None) => (b, 1),
        };
        if let Some(slot) = value.get_mut(write) {
            *slot = out;
        }
        read += used;
        write += 1;
    }
    write
}

/// What the UI is asked to show.
#[derive(Debug, Clone, Copy)]
pub struct UiRequest<'a> {
    /// The kind of alert.
    pub kind: UiKind,
    /// The options.
    pub options: UiOptions<'a>,
    /// The text to show (the alert's second item).
    pub text: Text<'a>,
    /// The choices (for 1103 and 1104): the items after the text, in order.
    pub choices: &'a [Text<'a>],
}

/// The user's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UiAnswer<'a> {
    /// Shown (1100), or yes (1101).
    Ok,
    /// No (1101): status 304.
    No,
    /// The text typed (1102).
    Text(&'a str),
    /// The choices picked (1103: one, 1104: any number).
    Choices(Choices),
    /// The user cancelled: status 214, and the rest of the package is not executed.
    Cancelled,
    /// No answer in time: status 408.
    Timeout,
    /// This handset cannot ask: status 406.
    NotSupported,
}

/// The handset's user interface, asked by user-interaction alerts and by notifications
/// whose UI mode asks for consent before a session.
pub trait UserInteraction {
    /// Shows the request and returns the user's answer. Text answers are written into
    /// `scratch` (and the answer borrows it).
    fn ask<'s>(&mut self, request: &UiRequest<'_>, scratch: &'s mut [u8]) -> UiAnswer<'s>;

    /// Tells the user a management session starts (notification UI mode 2, informative).
    fn inform_session(&mut self, _server: &str) {}

    /// Asks the user whether a session may start (notification UI mode 3).
    fn allow_session(&mut self, _server: &str) -> bool {
        true
    }
}

/// A handset without a UI for DM: every alert is answered 406, every session allowed.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoUi;

impl UserInteraction for NoUi {
    fn ask<'s>(&mut self, _request: &UiRequest<'_>, _scratch: &'s mut [u8]) -> UiAnswer<'s> {
        UiAnswer::NotSupported
    }
}

/// A UI that gives every alert its default response (`DR`), or accepts: for tests and
/// unattended devices.
#[derive(Debug, Default, Clone, Copy)]
pub struct DefaultAnswers;

impl UserInteraction for DefaultAnswers {
    fn ask<'s>(&mut self, request: &UiRequest<'_>, scratch: &'s mut [u8]) -> UiAnswer<'s> {
        let default = request.options.default_response;
        match request.kind {
            UiKind::Display => UiAnswer::Ok,
            UiKind::Confirm => match default {
                Some("0") => UiAnswer::No,
                _ => UiAnswer::Ok,
            },
            UiKind::TextInput => {
                let text = default.unwrap_or("");
                let n = text.len().min(scratch.len());
                let (head, _) = scratch.split_at_mut(n);
                head.copy_from_slice(text.as_bytes().get(..n).unwrap_or(&[]));
                UiAnswer::Text(core::str::from_utf8(head).unwrap_or(""))
            }
            UiKind::SingleChoice | UiKind::MultipleChoice => {
                let mut picks = Choices::NONE;
                for part in default.unwrap_or("1").split('-') {
                    if let Ok(v) = part.trim().parse::<u8>() {
                        picks = picks.with(v);
                    }
                    if request.kind == UiKind::SingleChoice {
                        break;
                    }
                }
                UiAnswer::Choices(picks)
            }
        }
    }
}

/// A set of choices, numbered 1 to 64 as the alert's items are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Choices(u64);

impl Choices {
    /// No choice.
    pub const NONE: Choices = Choices(0);

    /// The set with choice `n` (1-64) added; other numbers are ignored.
    #[must_use]
    pub fn with(self, n: u8) -> Choices {
        match n.checked_sub(1).filter(|b| *b < 64) {
            Some(bit) => Choices(self.0 | 1 << bit),
            None => self,
        }
    }

    /// Whether choice `n` is picked.
    pub fn contains(self, n: u8) -> bool {
        n.checked_sub(1)
            .filter(|b| *b < 64)
            .is_some_and(|bit| self.0 & 1 << bit != 0)
    }

    /// The picked choices, in order.
    pub fn iter(self) -> impl Iterator<Item = u8> {
        (1..=64u8).filter(move |&n| self.contains(n))
    }

    /// Whether nothing is picked.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;

    fn parse(text: &str, f: impl FnOnce(UiOptions<'_>)) {
        let mut buf = text.as_bytes().to_vec();
        f(UiOptions::parse_in(&mut buf));
    }

    #[test]
    fn options_parse_as_the_corpus_writes_them() {
        parse("MAXDT=20&DR=hello+andy!&MAXLEN=30&IT=I&ET=P", |o| {
            assert_eq!(o.max_display_secs, Some(20));
            assert_eq!(o.default_response, Some("hello andy!"));
            assert_eq!(o.max_len, Some(30));
            assert_eq!(o.input_type, InputType::Ip);
            assert_eq!(o.echo_type, EchoType::Password);
        });
        parse("MINDT=5&FOO=1&MAXDT=x", |o| {
            assert_eq!((o.min_display_secs, o.max_display_secs), (Some(5), None));
        });
        parse("", |o| assert_eq!(o, UiOptions::default()));
    }

    /// Every input type the protocol names, and the default for an unknown one.
    #[test]
    fn input_types() {
        for (it, want) in [
            ("A", InputType::Alphanumeric),
            ("N", InputType::Numeric),
            ("D", InputType::Date),
            ("T", InputType::Time),
            ("P", InputType::Phone),
            ("I", InputType::Ip),
            ("X", InputType::Alphanumeric),
        ] {
            parse(&format!("IT={it}"), |o| {
                assert_eq!(o.input_type, want, "IT={it}")
            });
        }
        parse("ET=A", |o| assert_eq!(o.echo_type, EchoType::Text));
    }

    /// DM Protocol 1.2 §2.5.3: values are URL-encoded.
    #[test]
    fn values_are_url_decoded() {
        parse("DR=%2B390523884182&MAXLEN=1%30", |o| {
            assert_eq!(o.default_response, Some("+390523884182"));
            assert_eq!(o.max_len, Some(10));
        });
        parse("DR=John+Doe%20%26%20Co%3D", |o| {
            assert_eq!(o.default_response, Some("John Doe & Co="));
        });
        parse("DR=2-3", |o| assert_eq!(o.default_response, Some("2-3")));
        parse("DR=%C3%A9t%C3%A9", |o| {
            assert_eq!(o.default_response, Some("été"))
        });
        // Malformed escapes are kept as written; bytes that are not UTF-8 are left out.
        parse("DR=50%+x%4", |o| {
            assert_eq!(o.default_response, Some("50% x%4"))
        });
        parse("DR=%FF&MINDT=3", |o| {
            assert_eq!(o.default_response, None);
            assert_eq!(o.min_display_secs, Some(3));
        });
    }

    #[test]
    fn choice_sets() {
        let c = Choices::NONE.with(1).with(3).with(0).with(65);
        assert!(c.contains(1) && c.contains(3) && !c.contains(2));
        assert_eq!(c.iter().collect::<std::vec::Vec<_>>(), [1, 3]);
    }
}
