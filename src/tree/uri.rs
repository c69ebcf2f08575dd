//! Management-tree URIs (OMA-TS-DM_TND §7): parsing, normalisation, the `?prop=` and
//! `?list=` queries, `%` escapes in node names, and the limits a device reports in
//! `./DevDetail/URI/*`.
//!
//! `./DMAcc/x` and `DMAcc/x` are the same node; `.` is the root; one trailing `/` is
//! dropped. Empty segments, `.` or `..` after the start, and absolute paths are refused.

use crate::codes::StatusCode;

/// The URI limits a device enforces and reports in `./DevDetail/URI/MaxDepth`, `MaxTotLen`
/// and `MaxSegLen`. Zero means no limit, as in DevDetail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct UriLimits {
    /// Most segments in a URI.
    pub max_depth: u16,
    /// Longest URI, in bytes, without a query.
    pub max_tot_len: u16,
    /// Longest segment, in bytes as written.
    pub max_seg_len: u16,
}

impl UriLimits {
    /// Limits that fit the node names of the standard objects with room to spare (and
    /// within what the build's [`TREE_DEPTH`](crate::limits::TREE_DEPTH) and
    /// [`URI_LEN`](crate::limits::URI_LEN) resolve).
    pub const DEFAULT: UriLimits = UriLimits {
        max_depth: if crate::limits::TREE_DEPTH < 16 {
            crate::limits::TREE_DEPTH as u16
        } else {
            16
        },
        max_tot_len: if crate::limits::URI_LEN < 255 {
            crate::limits::URI_LEN as u16
        } else {
            255
        },
        max_seg_len: 64,
    };
}

impl Default for UriLimits {
    fn default() -> Self {
        UriLimits::DEFAULT
    }
}

/// Why a URI is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum UriError {
    /// Not a valid management-tree URI (status 400).
    Malformed,
    /// Over a limit (status 414).
    TooLong,
    /// A query the device does not support (status 406).
    UnsupportedQuery,
}

impl UriError {
    /// The DM status code for this refusal.
    pub fn status(self) -> StatusCode {
        match self {
            UriError::Malformed => StatusCode::BadRequest,
            UriError::TooLong => StatusCode::UriTooLong,
            UriError::UnsupportedQuery => StatusCode::OptionalFeatureNotSupported,
        }
    }
}

impl core::fmt::Display for UriError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            UriError::Malformed => "malformed URI",
            UriError::TooLong => "URI over the device's limits",
            UriError::UnsupportedQuery => "unsupported URI query",
        })
    }
}

impl core::error::Error for UriError {}

/// A node property, addressed as `uri?prop=Name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Property {
    /// `ACL`.
    Acl,
    /// `Format`.
    Format,
    /// `Type`.
    Type,
    /// `Size` (leaves only).
    Size,
    /// `Name`.
    Name,
    /// `Title`.
    Title,
    /// `TStamp`.
    TStamp,
    /// `VerNo`.
    VerNo,
}

impl Property {
    /// Every property.
    pub const ALL: [Property; 8] = [
        Property::Acl,
        Property::Format,
        Property::Type,
        Property::Size,
        Property::Name,
        Property::Title,
        Property::TStamp,
        Property::VerNo,
    ];

    /// The property's name as written in a URI.
    pub const fn as_str(self) -> &'static str {
        match self {
            Property::Acl => "ACL",
            Property::Format => "Format",
            Property::Type => "Type",
            Property::Size => "Size",
            Property::Name => "Name",
            Property::Title => "Title",
            Property::TStamp => "TStamp",
            Property::VerNo => "VerNo",
        }
    }

    fn parse(name: &str) -> Option<Property> {
        Property::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

/// What `?list=` asks for. Non-exhaustive: `Tnds` is there with the feature `tnds` only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum List {
    /// `Struct`: the URIs of the subtree.
    Struct,
    /// `StructData`: the URIs and the leaf values.
    StructData,
    /// `TNDS`, with the properties to include (`TNDS+Value+ACL`, or `TNDS-Format` for all
    /// but some); plain `TNDS` includes every property and the values.
    #[cfg(feature = "tnds")]
    Tnds(TndsFields),
    /// `DDF` (an iotadm extension): the DDF document describing the subtree.
    Ddf,
}

/// The parts of each node a TNDS listing includes.
#[cfg(feature = "tnds")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TndsFields(u16);

#[cfg(feature = "tnds")]
impl TndsFields {
    const VALUE: u16 = 1 << 8;
    /// Every property and the values.
    pub const ALL: TndsFields = TndsFields(0x1FF);

    /// Whether `property` is included.
    pub fn has(self, property: Property) -> bool {
        self.0 & (1 << property as u16) != 0
    }

    /// Whether leaf values are included.
    pub fn has_value(self) -> bool {
        self.0 & Self::VALUE != 0
    }

    fn parse(spec: &str) -> Option<TndsFields> {
        let mut fields = if spec.starts_with('+') {
            0
        } else {
            Self::ALL.0
        };
        let mut rest = spec;
        while let Some(c) = rest.chars().next() {
            let body = rest.get(1..)?;
            let end = body.find(['+', '-']).unwrap_or(body.len());
            let name = body.get(..end)?;
            let bit = if name == "Value" {
                Self::VALUE
            } else {
                1 << Property::parse(name)? as u16
            };
            match c {
                '+' => fields |= bit,
                '-' => fields &= !bit,
                _ => return None,
            }
            rest = body.get(end..)?;
        }
        Some(TndsFields(fields))
    }
}

/// The query part of a URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Query {
    /// `?prop=`.
    Prop(Property),
    /// `?list=`.
    List(List),
}

/// A parsed management-tree URI: the normalised path and an optional query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uri<'a> {
    /// The path without `./` and trailing `/`; empty for the root.
    path: &'a str,
    query: Option<Query>,
}

impl<'a> Uri<'a> {
    /// Parses and normalises `text`, enforcing `limits`.
    pub fn parse(text: &'a str, limits: &UriLimits) -> Result<Uri<'a>, UriError> {
        let (path, query) = match text.split_once('?') {
            Some((p, q)) => (p, Some(parse_query(q)?)),
            None => (text, None),
        };
        let path = if path == "." || path == "./" {
            ""
        } else {
            let p = path.strip_prefix("./").unwrap_or(path);
            p.strip_suffix('/').unwrap_or(p)
        };
        if path.starts_with('/') {
            return Err(UriError::Malformed);
        }
        // One pass over the bytes: segment lengths, `.`/`..`, empty segments, escapes.
        let bytes = path.as_bytes();
        let mut depth: u16 = 0;
        let mut start = 0;
        while start <= bytes.len() && !bytes.is_empty() {
            let rest = bytes.get(start..).unwrap_or(&[]);
            let len = rest.iter().position(|&b| b == b'/').unwrap_or(rest.len());
            let segment = rest.get(..len).unwrap_or(&[]);
            if segment.is_empty() || segment == b"." || segment == b".." || !valid_escapes(segment)
            {
                return Err(UriError::Malformed);
            }
            if limits.max_seg_len != 0 && len > usize::from(limits.max_seg_len) {
                return Err(UriError::TooLong);
            }
            depth = depth.saturating_add(1);
            start += len + 1;
        }
        if limits.max_depth != 0 && depth > limits.max_depth {
            return Err(UriError::TooLong);
        }
        if limits.max_tot_len != 0 && path.len() > usize::from(limits.max_tot_len) {
            return Err(UriError::TooLong);
        }
        Ok(Uri { path, query })
    }

    /// The normalised path: empty for the root, else `DMAcc/x` (no `./`).
    pub fn path(&self) -> &'a str {
        self.path
    }

    /// Whether this is the root `.`.
    pub fn is_root(&self) -> bool {
        self.path.is_empty()
    }

    /// The query, if any.
    pub fn query(&self) -> Option<Query> {
        self.query
    }

    /// The segments, as written (with any `%` escapes).
    pub fn segments(&self) -> impl Iterator<Item = Segment<'a>> + Clone {
        // The path was checked: no empty segments, `/` only between segments.
        let mut rest = self.path;
        core::iter::from_fn(move || {
            if rest.is_empty() {
                return None;
            }
            let (segment, tail) = match rest.as_bytes().iter().position(|&b| b == b'/') {
                Some(i) => (rest.get(..i)?, rest.get(i + 1..)?),
                None => (rest, ""),
            };
            rest = tail;
            Some(Segment::new(segment))
        })
    }

    /// The last segment and the URI of the parent; `None` for the root.
    pub fn split_last(&self) -> Option<(Uri<'a>, Segment<'a>)> {
        if self.path.is_empty() {
            return None;
        }
        let (parent, last) = match self.path.rsplit_once('/') {
            Some((p, l)) => (p, l),
            None => ("", self.path),
        };
        Some((
            Uri {
                path: parent,
                query: None,
            },
            Segment::new(last),
        ))
    }
}

fn parse_query(q: &str) -> Result<Query, UriError> {
    if let Some(name) = q.strip_prefix("prop=") {
        return Property::parse(name)
            .map(Query::Prop)
            .ok_or(UriError::UnsupportedQuery);
    }
    if let Some(kind) = q.strip_prefix("list=") {
        let list = match kind {
            "Struct" => List::Struct,
            "StructData" => List::StructData,
            "DDF" => List::Ddf,
            #[cfg(feature = "tnds")]
            _ => match kind.strip_prefix("TNDS") {
                Some(spec) => {
                    List::Tnds(TndsFields::parse(spec).ok_or(UriError::UnsupportedQuery)?)
                }
                None => return Err(UriError::UnsupportedQuery),
            },
            // Without TNDS, `TNDS` is a listing like any unknown one: 406.
            #[cfg(not(feature = "tnds"))]
            _ => return Err(UriError::UnsupportedQuery),
        };
        return Ok(Query::List(list));
    }
    Err(UriError::UnsupportedQuery)
}

fn hex(b: u8) -> Option<u8> {
    char::from(b).to_digit(16).map(|d| d as u8)
}

fn valid_escapes(b: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            match (
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            ) {
                (Some(_), Some(_)) => i += 3,
                _ => return false,
            }
        } else {
            i += 1;
        }
    }
    true
}

/// One segment of a URI as written; node names are compared after `%` escapes are decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment<'a> {
    raw: &'a str,
    /// Whether it holds escapes (most segments do not, and compare as they are).
    escaped: bool,
}

impl<'a> Segment<'a> {
    fn new(raw: &'a str) -> Self {
        Segment {
            raw,
            escaped: raw.as_bytes().contains(&b'%'),
        }
    }

    /// The segment as written.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// The node name, escapes decoded, byte by byte.
    pub fn bytes(&self) -> impl Iterator<Item = u8> + 'a {
        let b = self.raw.as_bytes();
        let mut i = 0;
        core::iter::from_fn(move || {
            let c = *b.get(i)?;
            if c == b'%' {
                if let (Some(h), Some(l)) = (
                    b.get(i + 1).copied().and_then(hex),
                    b.get(i + 2).copied().and_then(hex),
                ) {
                    i += 3;
                    return Some(h << 4 | l);
                }
            }
            i += 1;
            Some(c)
        })
    }

    /// Whether the decoded name equals `name`.
    pub fn is(&self, name: &[u8]) -> bool {
        if !self.escaped {
            return self.raw.as_bytes() == name;
        }
        self.bytes().eq(name.iter().copied())
    }

    /// Orders the decoded name against `name`, byte by byte.
    pub fn cmp_name(&self, name: &[u8]) -> core::cmp::Ordering {
        if !self.escaped {
            return self.raw.as_bytes().cmp(name);
        }
        self.bytes().cmp(name.iter().copied())
    }

    /// Whether the decoded name equals `name`, ignoring ASCII case.
    pub fn is_ignore_case(&self, name: &[u8]) -> bool {
        let mut a = self.bytes();
        let mut b = name.iter();
        loop {
            match (a.next(), b.next()) {
                (None, None) => return true,
                (Some(x), Some(y)) if x.eq_ignore_ascii_case(y) => {}
                _ => return false,
            }
        }
    }

    /// Writes the decoded name into `buf`, returning it, or `None` when it does not fit or
    /// is not UTF-8.
    pub fn decode_into<'b>(&self, buf: &'b mut [u8]) -> Option<&'b str> {
        let mut n = 0;
        for b in self.bytes() {
            *buf.get_mut(n)? = b;
            n += 1;
        }
        core::str::from_utf8(buf.get(..n)?).ok()
    }
}

/// Writes `name` as a URI segment, escaping `/`, `?`, `%` and control characters.
pub fn write_segment(out: &mut impl core::fmt::Write, name: &str) -> core::fmt::Result {
    for c in name.chars() {
        if matches!(c, '/' | '?' | '%') || c.is_control() {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                let digit = |d: u8| char::from(HEX.get(usize::from(d)).copied().unwrap_or(b'0'));
                out.write_char('%')?;
                out.write_char(digit(b >> 4))?;
                out.write_char(digit(b & 0xF))?;
            }
        } else {
            out.write_char(c)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Uri<'_>, UriError> {
        Uri::parse(s, &UriLimits::DEFAULT)
    }

    #[test]
    fn normalisation() {
        assert_eq!(parse("./DMAcc/x").unwrap().path(), "DMAcc/x");
        assert_eq!(parse("DMAcc/x").unwrap().path(), "DMAcc/x");
        assert_eq!(parse("./DMAcc/x/").unwrap().path(), "DMAcc/x");
        assert!(parse(".").unwrap().is_root());
        assert!(parse("./").unwrap().is_root());
        for bad in [
            "/DMAcc",
            "./a//b",
            "./a/./b",
            "./a/../b",
            "a/..",
            "./a/%4",
            "./a/%zz",
            "//",
            // A bad escape after a good one.
            "./ab%41%zz",
            "./%41%4",
        ] {
            assert_eq!(parse(bad), Err(UriError::Malformed), "{bad}");
        }
    }

    #[test]
    fn limits() {
        let limits = UriLimits {
            max_depth: 3,
            max_tot_len: 12,
            max_seg_len: 4,
        };
        assert!(Uri::parse("./a/b/c", &limits).is_ok());
        assert_eq!(Uri::parse("./a/b/c/d", &limits), Err(UriError::TooLong));
        assert_eq!(Uri::parse("./abcde", &limits), Err(UriError::TooLong));
        assert_eq!(
            Uri::parse("./abcd/abcd/abcd", &limits),
            Err(UriError::TooLong)
        );
        let none = UriLimits {
            max_depth: 0,
            max_tot_len: 0,
            max_seg_len: 0,
        };
        let long = "a/".repeat(200) + "b";
        assert!(Uri::parse(&long, &none).is_ok());
        assert_eq!(UriError::TooLong.status(), StatusCode::UriTooLong);
    }

    #[test]
    fn queries() {
        assert_eq!(
            parse("./a?prop=ACL").unwrap().query(),
            Some(Query::Prop(Property::Acl))
        );
        assert_eq!(
            parse("./a?list=Struct").unwrap().query(),
            Some(Query::List(List::Struct))
        );
        assert_eq!(parse("./a?prop=Bogus"), Err(UriError::UnsupportedQuery));
        assert_eq!(parse("./a?foo"), Err(UriError::UnsupportedQuery));
    }

    #[cfg(feature = "tnds")]
    #[test]
    fn tnds_queries_select_properties() {
        let Some(Query::List(List::Tnds(f))) = parse("./a?list=TNDS+Value+ACL").unwrap().query()
        else {
            panic!()
        };
        assert!(f.has_value() && f.has(Property::Acl) && !f.has(Property::Format));
        let Some(Query::List(List::Tnds(f))) = parse("./a?list=TNDS-Format").unwrap().query()
        else {
            panic!()
        };
        assert!(f.has_value() && f.has(Property::Acl) && !f.has(Property::Format));
        let Some(Query::List(List::Tnds(f))) = parse("./a?list=TNDS").unwrap().query() else {
            panic!()
        };
        assert_eq!(f, TndsFields::ALL);
        assert_eq!(
            parse("./a?list=TNDS+Bogus"),
            Err(UriError::UnsupportedQuery)
        );
    }

    #[cfg(not(feature = "tnds"))]
    #[test]
    fn without_tnds_a_tnds_listing_is_an_unsupported_query() {
        for q in [
            "./a?list=TNDS",
            "./a?list=TNDS+Value+ACL",
            "./a?list=TNDS-Format",
        ] {
            assert_eq!(parse(q), Err(UriError::UnsupportedQuery), "{q}");
        }
        assert_eq!(
            UriError::UnsupportedQuery.status(),
            StatusCode::OptionalFeatureNotSupported
        );
        assert_eq!(
            parse("./a?list=StructData").unwrap().query(),
            Some(Query::List(List::StructData))
        );
    }

    #[test]
    fn escapes() {
        let uri = parse("./Vendor/a%2Fb/caf%C3%A9").unwrap();
        let segs: std::vec::Vec<_> = uri.segments().collect();
        assert!(segs[1].is(b"a/b"));
        assert!(segs[2].is("caf\u{e9}".as_bytes()));
        assert!(segs[2].is_ignore_case("CAF\u{e9}".as_bytes()));
        let mut buf = [0u8; 8];
        assert_eq!(segs[1].decode_into(&mut buf), Some("a/b"));
        let mut s = std::string::String::new();
        write_segment(&mut s, "a/b?%").unwrap();
        assert_eq!(s, "a%2Fb%3F%25");
        let (parent, last) = uri.split_last().unwrap();
        assert_eq!(parent.path(), "Vendor/a%2Fb");
        assert_eq!(last.raw(), "caf%C3%A9");
    }
}
