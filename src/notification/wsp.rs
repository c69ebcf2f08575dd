//! The connectionless WSP Push PDU (WAP-230-WSP §8.2.4.1) that carries a package 0 or a
//! bootstrap over SMS: parsed zero-copy, and built for tests and the test server.
//!
//! Only what a DM client needs is interpreted — the content type with its parameters and
//! the `X-Wap-Application-Id` header; every other header is skipped by the generic length
//! rules, so unknown headers never make a push unreadable. Everything is bounds-checked:
//! malformed input gives a [`WspError`], never a panic.
//!
//! Encoding rules relied on (WAP-230-WSP §8.1.2, §8.4.1, §8.4.2):
//!
//! * PDU: `TID` (1 octet) `Type` (1 octet, `0x06` = Push) `HeadersLen` (uintvar)
//!   `ContentType` `Headers` (together `HeadersLen` octets) `Data` (the rest).
//! * uintvar: 7 value bits per octet, most significant group first; bit 7 set on every
//!   octet but the last; at most 5 octets for a 32-bit value.
//! * The first octet of a header value tells its length: 0–30 is a short length followed by
//!   that many octets, 31 a length quote followed by a uintvar length, 32–127 the start of a
//!   NUL-terminated text string (127 quotes a text starting at 128 or above), and 128–255 a
//!   one-octet short integer (value = octet & 0x7F).
//! * Long integer: a short length (1–30) then that many big-endian octets. Integer value:
//!   short integer or long integer.
//! * Content type: either a short integer (well-known media, no parameters), a text string
//!   (extension media), or a value length followed by the media type (integer or text) and
//!   its parameters. A well-known parameter is an integer token and a typed value (the
//!   `Q` token 0x00 takes a uintvar-coded value); an untyped one is a token text and an
//!   integer or text value.
//! * A well-known header field name is a short integer; a field name in text is followed by
//!   a text value; octet 127 followed by a page number, or an octet 1–31, shifts the header
//!   code page (page 1 is the default).
//! * `X-Wap-Application-Id` is field 0x2F on page 1; its value is an integer (an assigned
//!   application code) or a URI text.

use core::fmt;
use nom::bytes::complete::{take, take_till};
use nom::number::complete::be_u8;
use nom::IResult;

/// PDU type of a Push.
pub const PDU_PUSH: u8 = 0x06;
/// Well-known content type `application/vnd.syncml.dm+wbxml`.
pub const CT_SYNCML_DM_WBXML: u32 = 0x42;
/// Well-known content type `application/vnd.syncml.dm+xml`.
pub const CT_SYNCML_DM_XML: u32 = 0x43;
/// Well-known content type `application/vnd.syncml.notification`.
pub const CT_SYNCML_NOTIFICATION: u32 = 0x44;
/// Header field code of `X-Wap-Application-Id`.
pub const FIELD_X_WAP_APPLICATION_ID: u32 = 0x2F;
/// Push application code of `x-wap-application:syncml.dm`.
pub const APP_SYNCML_DM: u32 = 0x07;
/// URI form of the DM push application.
pub const APP_SYNCML_DM_URI: &[u8] = b"x-wap-application:syncml.dm";
/// Well-known content-type parameter `SEC` (bootstrap security method).
pub const PARAM_SEC: u32 = 0x11;
/// Well-known content-type parameter `MAC` (bootstrap MAC, hex text).
pub const PARAM_MAC: u32 = 0x12;

/// The default header code page.
const DEFAULT_PAGE: u8 = 1;
const QUOTE: u8 = 0x7F;
const LENGTH_QUOTE: u8 = 31;
const MAX_SHORT_LENGTH: usize = 30;

/// What can be wrong with a WSP PDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum WspError {
    /// The PDU ends inside a field.
    Truncated,
    /// A field breaks the encoding rules.
    Malformed,
    /// The PDU type is not Push (the value found).
    NotAPush(u8),
    /// An integer does not fit the 32 or 64 bits its field allows.
    IntegerTooLarge,
    /// The output buffer is too small; `required` bytes would fit.
    BufferTooSmall {
        /// Bytes the output needs.
        required: usize,
    },
}

impl fmt::Display for WspError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WspError::Truncated => f.write_str("WSP PDU truncated"),
            WspError::Malformed => f.write_str("malformed WSP PDU"),
            WspError::NotAPush(t) => write!(f, "WSP PDU type {t:#04x} is not Push"),
            WspError::IntegerTooLarge => f.write_str("WSP integer too large"),
            WspError::BufferTooSmall { required } => {
                write!(f, "output buffer too small: {required} bytes needed")
            }
        }
    }
}

impl<'a> nom::error::ParseError<&'a [u8]> for WspError {
    fn from_error_kind(_: &'a [u8], kind: nom::error::ErrorKind) -> Self {
        match kind {
            nom::error::ErrorKind::Eof => WspError::Truncated,
            _ => WspError::Malformed,
        }
    }

    fn append(_: &'a [u8], _: nom::error::ErrorKind, other: Self) -> Self {
        other
    }
}

type PResult<'a, O> = IResult<&'a [u8], O, WspError>;

fn fail<O>(e: WspError) -> PResult<'static, O> {
    Err(nom::Err::Error(e))
}

/// Unwraps a nom result at the end of a top-level parse.
fn finish<T>(r: Result<T, nom::Err<WspError>>) -> Result<T, WspError> {
    r.map_err(|e| match e {
        nom::Err::Error(e) | nom::Err::Failure(e) => e,
        nom::Err::Incomplete(_) => WspError::Truncated,
    })
}

/// uintvar: up to 5 octets of 7 bits, the last without bit 7.
fn uintvar(i: &[u8]) -> PResult<'_, u32> {
    let mut value: u32 = 0;
    let mut rest = i;
    for _ in 0..5 {
        let (r, octet) = be_u8(rest)?;
        rest = r;
        if value > (u32::MAX >> 7) {
            return fail(WspError::IntegerTooLarge);
        }
        value = (value << 7) | u32::from(octet & 0x7F);
        if octet & 0x80 == 0 {
            return Ok((rest, value));
        }
    }
    fail(WspError::IntegerTooLarge)
}

/// Value-length: a short length (0–30) or a length quote and a uintvar.
fn value_length(i: &[u8]) -> PResult<'_, usize> {
    let (r, first) = be_u8(i)?;
    match first {
        0..=30 => Ok((r, usize::from(first))),
        LENGTH_QUOTE => {
            let (r, len) = uintvar(r)?;
            let len =
                usize::try_from(len).map_err(|_| nom::Err::Error(WspError::IntegerTooLarge))?;
            Ok((r, len))
        }
        _ => fail(WspError::Malformed),
    }
}

/// A NUL-terminated text, without its terminator and without a leading quote octet (0x7F)
/// or quotation mark (a WSP quoted string opens with `"` and has no closing one).
fn text(i: &[u8]) -> PResult<'_, &[u8]> {
    let (r, t) = take_till(|c| c == 0)(i)?;
    let (r, _) = be_u8(r)?;
    let t = match t.first() {
        Some(&QUOTE) | Some(&b'"') => t.get(1..).unwrap_or(&[]),
        _ => t,
    };
    Ok((r, t))
}

/// Long-integer content: 1–8 big-endian octets.
fn be_uint(bytes: &[u8]) -> Result<u64, WspError> {
    if bytes.is_empty() {
        return Err(WspError::Malformed);
    }
    if bytes.len() > 8 {
        return Err(WspError::IntegerTooLarge);
    }
    Ok(bytes.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b)))
}

/// Integer-value: a short integer or a long integer.
fn integer(i: &[u8]) -> PResult<'_, u64> {
    let (r, first) = be_u8(i)?;
    match first {
        0x80..=0xFF => Ok((r, u64::from(first & 0x7F))),
        1..=30 => {
            let (r, bytes) = take(usize::from(first))(r)?;
            let v = be_uint(bytes).map_err(nom::Err::Error)?;
            Ok((r, v))
        }
        _ => fail(WspError::Malformed),
    }
}

/// A media type: well-known (integer) or extension (text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum MediaType<'a> {
    /// A well-known content type code (WINA assignment).
    WellKnown(u32),
    /// A content type in text.
    Text(&'a [u8]),
}

impl MediaType<'_> {
    /// Whether this is the type with well-known `code` or textual `name` (ASCII case and
    /// surrounding whitespace ignored).
    pub fn is(&self, code: u32, name: &[u8]) -> bool {
        match self {
            MediaType::WellKnown(c) => *c == code,
            MediaType::Text(t) => t.trim_ascii().eq_ignore_ascii_case(name),
        }
    }
}

/// A content-type parameter's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ParamName<'a> {
    /// A well-known parameter token (e.g. [`PARAM_SEC`]).
    WellKnown(u32),
    /// A parameter named in text.
    Token(&'a [u8]),
}

/// A content-type parameter's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ParamValue<'a> {
    /// No value.
    None,
    /// An integer (short or long integer, or a uintvar Q-value).
    Integer(u64),
    /// A text (token text or quoted string, quotes removed).
    Text(&'a [u8]),
}

/// One content-type parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Param<'a> {
    /// Its name.
    pub name: ParamName<'a>,
    /// Its value.
    pub value: ParamValue<'a>,
}

impl<'a> Param<'a> {
    /// Whether the parameter is well-known `code` or named `token` (ASCII case ignored).
    pub fn is(&self, code: u32, token: &[u8]) -> bool {
        match self.name {
            ParamName::WellKnown(c) => c == code,
            ParamName::Token(t) => t.eq_ignore_ascii_case(token),
        }
    }
}

fn param_value(i: &[u8]) -> PResult<'_, ParamValue<'_>> {
    match i.first() {
        Some(0) => Ok((i.get(1..).unwrap_or(&[]), ParamValue::None)),
        Some(0x01..=0x1E) | Some(0x80..=0xFF) => {
            let (r, v) = integer(i)?;
            Ok((r, ParamValue::Integer(v)))
        }
        Some(0x20..=0x7F) => {
            let (r, t) = text(i)?;
            Ok((r, ParamValue::Text(t)))
        }
        Some(_) => fail(WspError::Malformed),
        None => fail(WspError::Truncated),
    }
}

fn param(i: &[u8]) -> PResult<'_, Param<'_>> {
    match i.first() {
        Some(0x20..=0x7E) => {
            let (r, name) = text(i)?;
            let (r, value) = param_value(r)?;
            Ok((
                r,
                Param {
                    name: ParamName::Token(name),
                    value,
                },
            ))
        }
        Some(_) => {
            let (r, code) = integer(i)?;
            let code =
                u32::try_from(code).map_err(|_| nom::Err::Error(WspError::IntegerTooLarge))?;
            // The Q parameter's value is coded like a uintvar, not like other integers.
            let (r, value) = if code == 0 {
                let (r, q) = uintvar(r)?;
                (r, ParamValue::Integer(u64::from(q)))
            } else {
                param_value(r)?
            };
            Ok((
                r,
                Param {
                    name: ParamName::WellKnown(code),
                    value,
                },
            ))
        }
        None => fail(WspError::Truncated),
    }
}

/// Iterates over content-type parameters; stops after the first error.
#[derive(Debug, Clone)]
pub struct Params<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Params<'a> {
    type Item = Result<Param<'a>, WspError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match finish(param(self.rest)) {
            Ok((r, p)) => {
                self.rest = r;
                Some(Ok(p))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

/// A parsed content type: the media type and its (not yet decoded) parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ContentType<'a> {
    /// The media type.
    pub media: MediaType<'a>,
    params: &'a [u8],
}

impl<'a> ContentType<'a> {
    /// The parameters, decoded one by one.
    pub fn params(&self) -> Params<'a> {
        Params { rest: self.params }
    }

    /// The value of the first parameter that is well-known `code` or named `token`.
    pub fn param(&self, code: u32, token: &[u8]) -> Result<Option<ParamValue<'a>>, WspError> {
        for p in self.params() {
            let p = p?;
            if p.is(code, token) {
                return Ok(Some(p.value));
            }
        }
        Ok(None)
    }
}

fn content_type(i: &[u8]) -> PResult<'_, ContentType<'_>> {
    match i.first() {
        Some(&short @ 0x80..=0xFF) => Ok((
            i.get(1..).unwrap_or(&[]),
            ContentType {
                media: MediaType::WellKnown(u32::from(short & 0x7F)),
                params: &[],
            },
        )),
        Some(0x20..=0x7F) => {
            let (r, t) = text(i)?;
            Ok((
                r,
                ContentType {
                    media: MediaType::Text(t),
                    params: &[],
                },
            ))
        }
        Some(_) => {
            let (r, len) = value_length(i)?;
            let (r, general) = take(len)(r)?;
            let (params, media) = match general.first() {
                Some(0x20..=0x7F) => {
                    let (p, t) = text(general)?;
                    (p, MediaType::Text(t))
                }
                Some(_) => {
                    let (p, code) = integer(general)?;
                    let code = u32::try_from(code)
                        .map_err(|_| nom::Err::Error(WspError::IntegerTooLarge))?;
                    (p, MediaType::WellKnown(code))
                }
                None => return fail(WspError::Malformed),
            };
            Ok((r, ContentType { media, params }))
        }
        None => fail(WspError::Truncated),
    }
}

/// A header field name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FieldName<'a> {
    /// A well-known field (code, code page).
    WellKnown {
        /// The field code.
        code: u8,
        /// The header code page it was found on (1 is the default page).
        page: u8,
    },
    /// A field named in text (an application header).
    Text(&'a [u8]),
}

/// One header: its name and its raw value octets (for a text value, without the NUL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Header<'a> {
    /// The field name.
    pub name: FieldName<'a>,
    /// The encoded value.
    pub value: &'a [u8],
}

/// The encoded value of a well-known header, by the generic length rules.
fn wap_value(i: &[u8]) -> PResult<'_, &[u8]> {
    match i.first() {
        Some(0..=31) => {
            let start = i;
            let (r, len) = value_length(i)?;
            let (r, _) = take(len)(r)?;
            let used = start.len().saturating_sub(r.len());
            let (_, whole) = take(used)(start)?;
            Ok((r, whole))
        }
        Some(0x20..=0x7F) => {
            let (r, t) = take_till(|c| c == 0)(i)?;
            let (r, _) = be_u8(r)?;
            Ok((r, t))
        }
        Some(_) => take(1usize)(i),
        None => fail(WspError::Truncated),
    }
}

/// Iterates over the headers after the content type; stops after the first error.
#[derive(Debug, Clone)]
pub struct Headers<'a> {
    rest: &'a [u8],
    page: u8,
}

impl<'a> Headers<'a> {
    fn step(&mut self) -> Result<Option<Header<'a>>, WspError> {
        loop {
            let Some(&first) = self.rest.first() else {
                return Ok(None);
            };
            let after = self.rest.get(1..).unwrap_or(&[]);
            match first {
                // Shift-delimiter and page identity.
                QUOTE => {
                    let (r, page) = finish(be_u8(after))?;
                    self.page = page;
                    self.rest = r;
                }
                // Short-cut shift delimiter.
                1..=31 => {
                    self.page = first;
                    self.rest = after;
                }
                0x80..=0xFF => {
                    let (r, value) = finish(wap_value(after))?;
                    self.rest = r;
                    let name = FieldName::WellKnown {
                        code: first & 0x7F,
                        page: self.page,
                    };
                    return Ok(Some(Header { name, value }));
                }
                0x20..=0x7E => {
                    let (r, name) = finish(text(self.rest))?;
                    let (r, value) = finish(text(r))?;
                    self.rest = r;
                    return Ok(Some(Header {
                        name: FieldName::Text(name),
                        value,
                    }));
                }
                0 => return Err(WspError::Malformed),
            }
        }
    }
}

impl<'a> Iterator for Headers<'a> {
    type Item = Result<Header<'a>, WspError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.step() {
            Ok(h) => h.map(Ok),
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

/// A push application identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AppId<'a> {
    /// An assigned application code (e.g. [`APP_SYNCML_DM`]).
    Code(u32),
    /// An application URI.
    Uri(&'a [u8]),
}

impl AppId<'_> {
    /// Whether this identifies the OMA DM client, in either form.
    pub fn is_syncml_dm(&self) -> bool {
        match self {
            AppId::Code(c) => *c == APP_SYNCML_DM,
            AppId::Uri(u) => u.trim_ascii().eq_ignore_ascii_case(APP_SYNCML_DM_URI),
        }
    }
}

/// A parsed connectionless Push PDU, borrowing from its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PushPdu<'a> {
    /// The transaction identifier.
    pub transaction_id: u8,
    /// The content type of the body.
    pub content_type: ContentType<'a>,
    headers: &'a [u8],
    /// The body (the pushed content).
    pub body: &'a [u8],
}

impl<'a> PushPdu<'a> {
    /// Parses a connectionless Push PDU.
    pub fn parse(pdu: &'a [u8]) -> Result<Self, WspError> {
        let (r, transaction_id) = finish(be_u8(pdu))?;
        let (r, pdu_type) = finish(be_u8(r))?;
        if pdu_type != PDU_PUSH {
            return Err(WspError::NotAPush(pdu_type));
        }
        let (r, headers_len) = finish(uintvar(r))?;
        let headers_len = usize::try_from(headers_len).map_err(|_| WspError::IntegerTooLarge)?;
        let (body, block): (&[u8], &[u8]) = finish(take(headers_len)(r))?;
        let (headers, content_type) = finish(content_type(block))?;
        let pdu = PushPdu {
            transaction_id,
            content_type,
            headers,
            body,
        };
        // Walk the headers once so that a malformed list is refused here, not later.
        for h in pdu.headers() {
            h?;
        }
        Ok(pdu)
    }

    /// The headers after the content type.
    pub fn headers(&self) -> Headers<'a> {
        Headers {
            rest: self.headers,
            page: DEFAULT_PAGE,
        }
    }

    /// The `X-Wap-Application-Id`, if the PDU has one.
    pub fn application_id(&self) -> Result<Option<AppId<'a>>, WspError> {
        for h in self.headers() {
            let h = h?;
            let FieldName::WellKnown {
                code,
                page: DEFAULT_PAGE,
            } = h.name
            else {
                continue;
            };
            if u32::from(code) != FIELD_X_WAP_APPLICATION_ID {
                continue;
            }
            return match h.value.first() {
                Some(0x20..=0x7F) => Ok(Some(AppId::Uri(
                    h.value.strip_prefix(&[QUOTE]).unwrap_or(h.value),
                ))),
                Some(_) => {
                    let (_, v) = finish(integer(h.value))?;
                    u32::try_from(v)
                        .map(|c| Some(AppId::Code(c)))
                        .map_err(|_| WspError::IntegerTooLarge)
                }
                None => Err(WspError::Malformed),
            };
        }
        Ok(None)
    }
}

/// What to put in a Push PDU: the inverse of [`PushPdu::parse`], for tests and the test
/// server.
#[derive(Debug, Clone, Copy)]
pub struct PushRepr<'a> {
    /// The transaction identifier.
    pub transaction_id: u8,
    /// The media type of the body.
    pub media: MediaType<'a>,
    /// Content-type parameters (e.g. `SEC` and `MAC` of a bootstrap).
    pub params: &'a [Param<'a>],
    /// The `X-Wap-Application-Id` header, if any.
    pub application_id: Option<AppId<'a>>,
    /// The body.
    pub body: &'a [u8],
}

/// A bounds-checked writer that counts what it could not write.
struct Writer<'b> {
    out: &'b mut [u8],
    pos: usize,
}

impl Writer<'_> {
    fn byte(&mut self, b: u8) {
        if let Some(slot) = self.out.get_mut(self.pos) {
            *slot = b;
        }
        self.pos = self.pos.saturating_add(1);
    }

    fn bytes(&mut self, bs: &[u8]) {
        for &b in bs {
            self.byte(b);
        }
    }

    fn uintvar(&mut self, v: u32) {
        let mut groups = [0u8; 5];
        let mut n = 0;
        let mut v = v;
        loop {
            if let Some(g) = groups.get_mut(n) {
                *g = (v & 0x7F) as u8;
            }
            n += 1;
            v >>= 7;
            if v == 0 || n == groups.len() {
                break;
            }
        }
        for k in (0..n).rev() {
            let g = groups.get(k).copied().unwrap_or(0);
            self.byte(if k == 0 { g } else { g | 0x80 });
        }
    }

    fn integer(&mut self, v: u64) {
        if v < 0x80 {
            self.byte(0x80 | v as u8);
        } else {
            let be = v.to_be_bytes();
            let skip = be.iter().take_while(|&&b| b == 0).count();
            let digits = be.get(skip..).unwrap_or(&[]);
            self.byte(digits.len() as u8);
            self.bytes(digits);
        }
    }

    fn text(&mut self, t: &[u8]) {
        if t.first().is_some_and(|&c| c >= 0x80) {
            self.byte(QUOTE);
        }
        self.bytes(t);
        self.byte(0);
    }

    fn value_length(&mut self, len: usize) -> Result<(), WspError> {
        if len <= MAX_SHORT_LENGTH {
            self.byte(len as u8);
        } else {
            self.byte(LENGTH_QUOTE);
            self.uintvar(u32::try_from(len).map_err(|_| WspError::IntegerTooLarge)?);
        }
        Ok(())
    }
}

impl PushRepr<'_> {
    fn validate(&self) -> Result<(), WspError> {
        // A text must be non-empty, NUL-free and must not start with an octet that would
        // read back as a length or a NUL.
        let text_ok = |t: &[u8]| !t.contains(&0) && t.first().is_some_and(|&c| c >= 0x20);
        let media_ok = match self.media {
            MediaType::Text(t) => text_ok(t),
            MediaType::WellKnown(_) => true,
        };
        let params_ok = self.params.iter().all(|p| {
            let name_ok = match p.name {
                ParamName::Token(t) => {
                    text_ok(t) && t.first().is_some_and(|c| (0x20..0x7F).contains(c))
                }
                ParamName::WellKnown(_) => true,
            };
            let value_ok = match p.value {
                ParamValue::Text(t) => text_ok(t),
                _ => true,
            };
            name_ok && value_ok
        });
        let app_ok = match self.application_id {
            Some(AppId::Uri(u)) => text_ok(u),
            _ => true,
        };
        if media_ok && params_ok && app_ok {
            Ok(())
        } else {
            Err(WspError::Malformed)
        }
    }

    fn write_params(&self, w: &mut Writer<'_>) {
        for p in self.params {
            match p.name {
                ParamName::WellKnown(c) => w.integer(u64::from(c)),
                ParamName::Token(t) => w.text(t),
            }
            match p.value {
                ParamValue::None => w.byte(0),
                ParamValue::Integer(v) => w.integer(v),
                ParamValue::Text(t) => w.text(t),
            }
        }
    }

    fn write_media(&self, w: &mut Writer<'_>) {
        match self.media {
            MediaType::WellKnown(c) => w.integer(u64::from(c)),
            MediaType::Text(t) => w.text(t),
        }
    }

    /// Writes the PDU into `out` and returns its length.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, WspError> {
        self.validate()?;
        // First pass into an empty buffer measures the variable-length parts.
        let mut general = Writer {
            out: &mut [],
            pos: 0,
        };
        self.write_media(&mut general);
        self.write_params(&mut general);
        let general_len = general.pos;

        let mut headers = Writer {
            out: &mut [],
            pos: 0,
        };
        self.write_content_type(&mut headers, general_len)?;
        self.write_headers(&mut headers);
        let headers_len = u32::try_from(headers.pos).map_err(|_| WspError::IntegerTooLarge)?;

        let mut w = Writer { out, pos: 0 };
        w.byte(self.transaction_id);
        w.byte(PDU_PUSH);
        w.uintvar(headers_len);
        self.write_content_type(&mut w, general_len)?;
        self.write_headers(&mut w);
        w.bytes(self.body);
        if w.pos > w.out.len() {
            return Err(WspError::BufferTooSmall { required: w.pos });
        }
        Ok(w.pos)
    }

    fn write_content_type(&self, w: &mut Writer<'_>, general_len: usize) -> Result<(), WspError> {
        let short_form = self.params.is_empty()
            && match self.media {
                MediaType::WellKnown(c) => c < 0x80,
                MediaType::Text(_) => true,
            };
        if short_form {
            self.write_media(w);
        } else {
            w.value_length(general_len)?;
            self.write_media(w);
            self.write_params(w);
        }
        Ok(())
    }

    fn write_headers(&self, w: &mut Writer<'_>) {
        match self.application_id {
            Some(AppId::Code(c)) => {
                w.byte(0x80 | FIELD_X_WAP_APPLICATION_ID as u8);
                w.integer(u64::from(c));
            }
            Some(AppId::Uri(u)) => {
                w.byte(0x80 | FIELD_X_WAP_APPLICATION_ID as u8);
                w.text(u);
            }
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uintvar_limits() {
        assert_eq!(uintvar(&[0x00]), Ok((&[][..], 0)));
        assert_eq!(uintvar(&[0x81, 0x00]), Ok((&[][..], 128)));
        assert_eq!(
            uintvar(&[0x8F, 0xFF, 0xFF, 0xFF, 0x7F]),
            Ok((&[][..], u32::MAX))
        );
        assert_eq!(
            uintvar(&[0x9F, 0xFF, 0xFF, 0xFF, 0x7F]),
            Err(nom::Err::Error(WspError::IntegerTooLarge))
        );
        assert_eq!(
            uintvar(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x01]),
            Err(nom::Err::Error(WspError::IntegerTooLarge))
        );
        assert_eq!(uintvar(&[0x81]), Err(nom::Err::Error(WspError::Truncated)));
        for v in [0u32, 1, 127, 128, 16_383, 16_384, u32::MAX] {
            let mut buf = [0u8; 5];
            let mut w = Writer {
                out: &mut buf,
                pos: 0,
            };
            w.uintvar(v);
            let n = w.pos;
            assert_eq!(uintvar(&buf[..n]), Ok((&[][..], v)));
        }
    }

    #[test]
    fn parses_the_nowsms_bootstrap_header_layout() {
        // A provisioning push in the general content-type form with SEC=NETWPIN and a
        // hex MAC, a Push-Flag and X-Wap-Initiator-URI header, and app id 0x80 (any app).
        let mut pdu = std::vec![0x01, 0x06];
        let mut headers = std::vec![0x1F, 0x2D, 0xB6, 0x91, 0x80, 0x92];
        headers.extend_from_slice(b"4A474B9EF11F126E943D216094E4FD8016552D47\0");
        headers.extend_from_slice(&[0xB4, 0x81, 0xB1]);
        headers.extend_from_slice(b"http://demo.dk/\0");
        headers.extend_from_slice(&[0xAF, 0x80]);
        pdu.push(headers.len() as u8);
        pdu.extend_from_slice(&headers);
        pdu.extend_from_slice(&[0x03, 0x0B, 0x6A, 0x00]);
        let p = PushPdu::parse(&pdu).unwrap();
        assert_eq!(p.content_type.media, MediaType::WellKnown(0x36));
        assert_eq!(
            p.content_type.param(PARAM_SEC, b"SEC"),
            Ok(Some(ParamValue::Integer(0)))
        );
        assert_eq!(
            p.content_type.param(PARAM_MAC, b"MAC"),
            Ok(Some(ParamValue::Text(
                b"4A474B9EF11F126E943D216094E4FD8016552D47"
            )))
        );
        assert_eq!(p.application_id(), Ok(Some(AppId::Code(0))));
        assert_eq!(p.headers().count(), 3);
        assert_eq!(p.body, &[0x03, 0x0B, 0x6A, 0x00]);
    }

    #[test]
    fn q_parameter_takes_a_uintvar_value() {
        // General form: length 6, media 0xC4, Q (0x80) = uintvar 0x83 0x31, then the
        // well-known SEC parameter (0x91) = short integer 1 (0x81).
        let pdu = [0x00, 0x06, 0x07, 0x06, 0xC4, 0x80, 0x83, 0x31, 0x91, 0x81];
        let p = PushPdu::parse(&pdu).unwrap();
        let params: std::vec::Vec<_> = p.content_type.params().map(Result::unwrap).collect();
        assert_eq!(
            params,
            [
                Param {
                    name: ParamName::WellKnown(0),
                    value: ParamValue::Integer(0x1B1)
                },
                Param {
                    name: ParamName::WellKnown(PARAM_SEC),
                    value: ParamValue::Integer(1)
                },
            ]
        );
    }

    #[test]
    fn code_page_shift_hides_page_one_fields() {
        // Content type 0xC4, then shift to page 2 where 0xAF is not X-Wap-Application-Id.
        let pdu = [0x00, 0x06, 0x04, 0xC4, 0x02, 0xAF, 0x87, b'x'];
        let p = PushPdu::parse(&pdu).unwrap();
        assert_eq!(p.application_id(), Ok(None));
        let h = p.headers().next().unwrap().unwrap();
        assert_eq!(
            h.name,
            FieldName::WellKnown {
                code: 0x2F,
                page: 2
            }
        );
    }

    #[test]
    fn emit_parse_round_trip_with_long_values() {
        let mac = [b'A'; 40];
        let params = [
            Param {
                name: ParamName::WellKnown(PARAM_SEC),
                value: ParamValue::Integer(1),
            },
            Param {
                name: ParamName::WellKnown(PARAM_MAC),
                value: ParamValue::Text(&mac),
            },
            Param {
                name: ParamName::Token(b"x-big"),
                value: ParamValue::Integer(0x1_0000_0000),
            },
        ];
        let repr = PushRepr {
            transaction_id: 9,
            media: MediaType::Text(b"application/vnd.syncml.dm+wbxml"),
            params: &params,
            application_id: Some(AppId::Uri(APP_SYNCML_DM_URI)),
            body: &[1, 2, 3],
        };
        let mut out = [0u8; 200];
        let n = repr.emit(&mut out).unwrap();
        assert_eq!(
            repr.emit(&mut out[..n - 1]),
            Err(WspError::BufferTooSmall { required: n })
        );
        let p = PushPdu::parse(&out[..n]).unwrap();
        assert_eq!(p.transaction_id, 9);
        assert!(p
            .content_type
            .media
            .is(CT_SYNCML_DM_WBXML, b"application/vnd.syncml.dm+wbxml"));
        let got: std::vec::Vec<_> = p.content_type.params().map(Result::unwrap).collect();
        assert_eq!(got, params);
        assert!(p.application_id().unwrap().unwrap().is_syncml_dm());
        assert_eq!(p.body, &[1, 2, 3]);
    }

    #[test]
    fn malformed_inputs_give_errors() {
        for (pdu, e) in [
            (&[][..], WspError::Truncated),
            (&[0x01], WspError::Truncated),
            (&[0x01, 0x07, 0x01, 0xC4], WspError::NotAPush(0x07)),
            (&[0x01, 0x06], WspError::Truncated),
            (&[0x01, 0x06, 0x05, 0xC4], WspError::Truncated),
            (&[0x01, 0x06, 0x00], WspError::Truncated),
            // Content type text without its NUL.
            (&[0x01, 0x06, 0x03, b'a', b'/', b'b'], WspError::Truncated),
            // General form whose length runs past the header block.
            (&[0x01, 0x06, 0x02, 0x05, 0xC4], WspError::Truncated),
            // Empty general form.
            (&[0x01, 0x06, 0x01, 0x00], WspError::Malformed),
            // Header value length past the end.
            (&[0x01, 0x06, 0x03, 0xC4, 0xAF, 0x05], WspError::Truncated),
            // NUL where a header field name should be.
            (&[0x01, 0x06, 0x02, 0xC4, 0x00], WspError::Malformed),
            // Long integer longer than 8 octets as media type.
            (
                &[0x01, 0x06, 0x0B, 0x0A, 0x09, 1, 1, 1, 1, 1, 1, 1, 1, 1],
                WspError::IntegerTooLarge,
            ),
        ] {
            assert_eq!(PushPdu::parse(pdu), Err(e), "{pdu:02x?}");
        }
    }
}
