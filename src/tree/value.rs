//! Checks that a value is well-formed for its node's format, before anything is stored.

use crate::schema::Format;

/// Whether `value` is a valid value of `format`, as the tree checks every value before it
/// stores it or hands it to a node handler. `bin` and `xml` take any bytes (the XML is the
/// server's business); text formats must be UTF-8.
pub fn is_valid_value(format: Format, value: &[u8]) -> bool {
    let Ok(text) = core::str::from_utf8(value) else {
        return matches!(format, Format::Bin);
    };
    match format {
        Format::Bin | Format::Chr | Format::Xml => true,
        Format::Node | Format::Null => value.is_empty(),
        Format::Bool => text == "true" || text == "false",
        Format::Int => parse_int(value).is_some(),
        Format::Float => float(text),
        Format::B64 => b64(text),
        Format::Date => date(text),
        Format::Time => time(text),
    }
}

/// A DM `int` value: a signed 32-bit decimal, with an optional sign; `None` for anything
/// else (a handler that keeps a number reads the value the tree has checked with this).
pub fn parse_int(value: &[u8]) -> Option<i32> {
    let text = core::str::from_utf8(value).ok()?;
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn float(text: &str) -> bool {
    // XML Schema float: decimal or scientific notation, INF, -INF, NaN.
    matches!(text, "INF" | "-INF" | "NaN") || decimal_float(text.as_bytes())
}

/// `[+-]? (digits ("." digits?)? | "." digits) ([eE] [+-]? digits)?`: what a float parser
/// accepts in this notation. Checked by its grammar, not parsed: the tree keeps the text,
/// and a float parser costs some 15 KB of flash on a Cortex-M (its power-of-five table
/// alone is 10 KB).
fn decimal_float(text: &[u8]) -> bool {
    fn sign(s: &[u8]) -> &[u8] {
        s.strip_prefix(b"+")
            .or_else(|| s.strip_prefix(b"-"))
            .unwrap_or(s)
    }
    fn digits(s: &[u8]) -> (usize, &[u8]) {
        let n = s.iter().take_while(|b| b.is_ascii_digit()).count();
        (n, s.get(n..).unwrap_or(&[]))
    }
    let (int, rest) = digits(sign(text));
    let (frac, rest) = match rest.strip_prefix(b".") {
        Some(after) => digits(after),
        None => (0, rest),
    };
    if int == 0 && frac == 0 {
        return false;
    }
    match rest.strip_prefix(b"e").or_else(|| rest.strip_prefix(b"E")) {
        None => rest.is_empty(),
        Some(exp) => {
            let (n, rest) = digits(sign(exp));
            n > 0 && rest.is_empty()
        }
    }
}

fn b64(text: &str) -> bool {
    use base64::Engine as _;
    let trimmed = text.trim_matches(|c: char| c.is_ascii_whitespace());
    let mut buf = [0u8; 48];
    // Check in blocks of 64 characters so that no buffer of the value's size is needed.
    let mut rest = trimmed.as_bytes();
    while !rest.is_empty() {
        let take = rest.len().min(64);
        let (block, tail) = rest.split_at(take);
        if base64::engine::general_purpose::STANDARD
            .decode_slice(block, &mut buf)
            .is_err()
        {
            return false;
        }
        rest = tail;
    }
    true
}

/// `text` as three groups of digits, `first` digits then two and two, run together or
/// with `sep` between them (`YYYY-MM-DD` or `YYYYMMDD`, `hh:mm:ss` or `hhmmss`).
fn groups(text: &[u8], first: usize, sep: u8) -> Option<[u32; 3]> {
    let separated = match text.len().checked_sub(first) {
        Some(4) => false,
        Some(6) => true,
        _ => return None,
    };
    let mut rest = text;
    let mut out = [0; 3];
    for (i, group) in out.iter_mut().enumerate() {
        if i > 0 && separated {
            rest = rest.strip_prefix(&[sep])?;
        }
        let (digits, tail) = rest.split_at_checked(if i == 0 { first } else { 2 })?;
        // At most four digits: no overflow.
        *group = digits.iter().try_fold(0, |n, &b| {
            b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
        })?;
        rest = tail;
    }
    Some(out)
}

/// ISO 8601 date: `YYYY-MM-DD` or `YYYYMMDD`.
fn date(text: &str) -> bool {
    matches!(groups(text.as_bytes(), 4, b'-'), Some([_, m, d]) if (1..=12).contains(&m) && (1..=31).contains(&d))
}

/// ISO 8601 time: `hh:mm:ss` or `hhmmss`, optionally with `Z` or a `±hh:mm` offset.
fn time(text: &str) -> bool {
    let core = text
        .strip_suffix('Z')
        .or_else(|| {
            let at = text.rfind(['+', '-'])?;
            text.get(..at)
        })
        .unwrap_or(text);
    matches!(groups(core.as_bytes(), 2, b':'), Some([h, m, s]) if h < 24 && m < 60 && s < 61)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_read_as_numbers() {
        assert_eq!(parse_int(b"-42"), Some(-42));
        assert_eq!(parse_int(b"+7"), Some(7));
        assert_eq!(parse_int(b"2147483647"), Some(i32::MAX));
        for bad in [&b"2147483648"[..], b"4x", b"", b"-", b" 1", b"\xff"] {
            assert_eq!(parse_int(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn formats() {
        assert!(is_valid_value(Format::Int, b"-2147483648") && is_valid_value(Format::Int, b"42"));
        assert!(
            !is_valid_value(Format::Int, b"2147483648")
                && !is_valid_value(Format::Int, b"4x")
                && !is_valid_value(Format::Int, b"")
        );
        assert!(is_valid_value(Format::Bool, b"true") && !is_valid_value(Format::Bool, b"TRUE"));
        assert!(
            is_valid_value(Format::Float, b"1.5e3")
                && is_valid_value(Format::Float, b"NaN")
                && !is_valid_value(Format::Float, b"abc")
        );
        for text in [
            "0", "-1", "+1", "1.", ".5", "-.5", "1.5e3", "1E-3", "2e+38", "1e99999", "00.00", "",
            ".", "-", "+", "e3", ".e3", "1e", "1e+", "1.5.3", "1e3e3", "--1", "1-", "1 ", "inf",
            "+INF", "nan", "0x1", "1_0", "1,5",
        ] {
            let parsed = text.parse::<f32>().is_ok()
                && text
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b));
            assert_eq!(
                is_valid_value(Format::Float, text.as_bytes()),
                parsed,
                "{text:?}"
            );
        }
        assert!(
            is_valid_value(Format::Float, b"-INF") && !is_valid_value(Format::Float, b"Infinity")
        );
        assert!(
            is_valid_value(Format::B64, b"dXNlcjpwYXNz")
                && !is_valid_value(Format::B64, b"dXNlcjpwYXN")
        );
        assert!(
            is_valid_value(Format::Date, b"2026-11-23")
                && is_valid_value(Format::Date, b"20261123")
        );
        assert!(
            !is_valid_value(Format::Date, b"2026-13-01")
                && !is_valid_value(Format::Date, b"26-11-23")
        );
        assert!(
            is_valid_value(Format::Time, b"16:38:17")
                && is_valid_value(Format::Time, b"163817Z")
                && is_valid_value(Format::Time, b"16:38:17+02:00")
        );
        assert!(!is_valid_value(Format::Time, b"25:00:00"));
        for bad in [
            "",
            "-",
            "2026",
            "2026-1-123",
            "2026/11/23",
            "2026-11-2x",
            "202611230",
            "2026-1123",
            "+2026-11-23",
            "2026-00-10",
            "2026-01-32",
        ] {
            assert!(!is_valid_value(Format::Date, bad.as_bytes()), "{bad:?}");
        }
        for bad in [
            "",
            "Z",
            "+",
            "1:38:17",
            "16:38:1Z",
            "16.38.17",
            "16:3817",
            "1638",
            "163861Z",
            "16:38:17:00",
            "1a:38:17",
        ] {
            assert!(!is_valid_value(Format::Time, bad.as_bytes()), "{bad:?}");
        }
        assert!(
            is_valid_value(Format::Time, b"000000-05") && is_valid_value(Format::Date, b"00000101")
        );
        assert!(is_valid_value(Format::Null, b"") && !is_valid_value(Format::Null, b"x"));
        assert!(is_valid_value(Format::Bin, &[0xff, 0]) && !is_valid_value(Format::Chr, &[0xff]));
    }
}
