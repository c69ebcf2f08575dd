//! WBXML token tables for SyncML (code page 0), MetInf (code page 1) and the DM DDF/TNDS
//! vocabulary (code page 2), with name lookups for the XML side. One macro invocation per
//! page keeps the token and the name in a single row, so the two encodings can never
//! disagree about an element.

/// Code page of the SyncML vocabulary.
pub(crate) const PAGE_SYNCML: u8 = 0;
/// Code page of the MetInf vocabulary (`syncml:metinf`).
pub(crate) const PAGE_METINF: u8 = 1;
/// Code page of the DDF / TNDS vocabulary (`syncml:dmddf1.2`).
pub(crate) const PAGE_DDF: u8 = 2;

/// An element of the SyncML DM vocabulary: its WBXML code page and token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Tag {
    page: u8,
    token: u8,
}

impl Tag {
    /// The WBXML code page of the element.
    pub const fn page(self) -> u8 {
        self.page
    }

    /// The WBXML token of the element (without the attribute and content bits).
    pub const fn token(self) -> u8 {
        self.token
    }

    /// The element's name as written in XML.
    pub fn name(self) -> &'static str {
        code_page(self.page)
            .and_then(|p| p.name(p.index_of(self.token)?))
            .unwrap_or("")
    }

    /// Looks a tag up by code page and token.
    #[inline]
    pub(crate) fn from_token(page: u8, token: u8) -> Option<Tag> {
        // The WBXML decoders ask this for every tag they meet: one bit test.
        let known = code_page(page).is_some_and(|p| p.defines(token));
        known.then_some(Tag { page, token })
    }

    /// Looks a tag up by code page and name; the name of an embedded element may be given
    /// with a prefix, which is ignored.
    pub(crate) fn from_token_name(page: u8, name: &str) -> Option<Tag> {
        let name = name.as_bytes();
        let local = match memchr::memrchr(b':', name) {
            Some(i) => name.get(i + 1..).unwrap_or(name),
            None => name,
        };
        Tag::from_name(page, local)
    }

    /// Looks a tag up by code page and XML local name.
    pub(crate) fn from_name(page: u8, name: &[u8]) -> Option<Tag> {
        let token = code_page(page)?.lookup(name)?;
        Some(Tag { page, token })
    }
}

/// The vocabulary of one code page: token ids, names, and a hash table from name to token.
///
/// Names are packed into one string with their end offsets, and the hash table is filled
/// at compile time, so an XML name lookup costs a hash of three bytes, usually one probe
/// and one comparison, and the whole vocabulary takes a little over a kilobyte of flash.
struct CodePage {
    /// Defined tokens, ascending.
    tokens: &'static [u8],
    /// One bit per defined token.
    defined: u64,
    /// The names, in token order, one after another.
    names: &'static str,
    /// Where each name ends in `names`.
    ends: &'static [u16],
    /// Open addressing with linear probing: 1 + the index of a name, or 0 for a free slot.
    slots: [u8; SLOTS],
}

/// Hash slots per code page: at least twice the names of the largest page.
const SLOTS: usize = 128;

static PAGES: [CodePage; 3] = [SYNCML_PAGE, METINF_PAGE, DDF_PAGE];

#[inline]
fn code_page(page: u8) -> Option<&'static CodePage> {
    PAGES.get(usize::from(page))
}

impl CodePage {
    #[inline]
    fn defines(&self, token: u8) -> bool {
        self.defined
            .checked_shr(u32::from(token))
            .is_some_and(|d| d & 1 == 1)
    }

    /// Where `token` is in the table: the number of defined tokens below it.
    fn index_of(&self, token: u8) -> Option<usize> {
        if !self.defines(token) {
            return None;
        }
        let below = self.defined & ((1u64 << token) - 1);
        Some(below.count_ones() as usize)
    }

    fn name(&self, index: usize) -> Option<&'static str> {
        let start = match index.checked_sub(1) {
            Some(before) => *self.ends.get(before)?,
            None => 0,
        };
        let end = *self.ends.get(index)?;
        self.names.get(usize::from(start)..usize::from(end))
    }

    fn lookup(&self, name: &[u8]) -> Option<u8> {
        let names = self.names.as_bytes();
        let mut slot = hash(name);
        for _ in 0..SLOTS {
            let index = usize::from(self.slots.get(slot)?.checked_sub(1)?);
            let end = usize::from(*self.ends.get(index)?);
            // The names are packed in order: this one starts where the one before ends.
            let start = match index.checked_sub(1) {
                Some(before) => usize::from(*self.ends.get(before)?),
                None => 0,
            };
            if end.saturating_sub(start) == name.len() && names.get(start..end) == Some(name) {
                return self.tokens.get(index).copied();
            }
            slot = (slot + 1) % SLOTS;
        }
        None
    }
}

/// The hash slot of a name: its length and three of its bytes are enough to spread the
/// names of a page.
const fn hash(name: &[u8]) -> usize {
    let mid = match name.split_at_checked(name.len() / 2) {
        Some((_, [mid, ..])) => *mid as usize,
        _ => 0,
    };
    match name {
        [first, .., last] => {
            (*first as usize * 31 + *last as usize * 7 + mid * 3 + name.len() * 13) % SLOTS
        }
        [only] => *only as usize % SLOTS,
        [] => 0,
    }
}

/// End offsets of names of the given lengths, packed one after another. Runs at compile
/// time only.
#[allow(clippy::indexing_slicing)]
const fn name_ends<const N: usize>(lens: [usize; N]) -> [u16; N] {
    let mut ends = [0u16; N];
    let mut end = 0;
    let mut i = 0;
    while i < N {
        end += lens[i];
        ends[i] = end as u16;
        i += 1;
    }
    ends
}

/// Fills the hash table of a page. Runs at compile time only: an index out of range or a
/// full table stops the build, never a running program.
#[allow(clippy::indexing_slicing)]
const fn fill_slots(names: &str, ends: &[u16], tokens: &[u8]) -> [u8; SLOTS] {
    let mut slots = [0u8; SLOTS];
    let bytes = names.as_bytes();
    let mut i = 0;
    while i < ends.len() {
        assert!(i == 0 || tokens[i - 1] < tokens[i], "tokens must ascend");
        let start = if i == 0 { 0 } else { ends[i - 1] as usize };
        let (head, _) = bytes.split_at(ends[i] as usize);
        let (_, name) = head.split_at(start);
        let mut slot = hash(name);
        while slots[slot] != 0 {
            slot = (slot + 1) % SLOTS;
        }
        slots[slot] = (i + 1) as u8;
        i += 1;
    }
    slots
}

macro_rules! code_page {
    ($page:expr, $table:ident, { $( $konst:ident = $token:literal $name:literal ),+ $(,)? }) => {
        // The whole vocabulary, whether or not the decoder names each element.
        #[allow(missing_docs, dead_code)]
        impl Tag {
            $( pub(crate) const $konst: Tag = Tag { page: $page, token: $token }; )+
        }

        const $table: CodePage = {
            const TOKENS: &[u8] = &[$( $token ),+];
            const NAMES: &str = concat!($( $name ),+);
            const ENDS: &[u16] = &name_ends([$( $name.len() ),+]);
            CodePage {
                tokens: TOKENS,
                defined: 0 $( | (1u64 << $token) )+,
                names: NAMES,
                ends: ENDS,
                slots: fill_slots(NAMES, ENDS, TOKENS),
            }
        };
    };
}

code_page!(PAGE_SYNCML, SYNCML_PAGE, {
    ADD = 0x05 "Add",
    ALERT = 0x06 "Alert",
    ARCHIVE = 0x07 "Archive",
    ATOMIC = 0x08 "Atomic",
    CHAL = 0x09 "Chal",
    CMD = 0x0A "Cmd",
    CMD_ID = 0x0B "CmdID",
    CMD_REF = 0x0C "CmdRef",
    COPY = 0x0D "Copy",
    CRED = 0x0E "Cred",
    DATA = 0x0F "Data",
    DELETE = 0x10 "Delete",
    EXEC = 0x11 "Exec",
    FINAL = 0x12 "Final",
    GET = 0x13 "Get",
    ITEM = 0x14 "Item",
    LANG = 0x15 "Lang",
    LOC_NAME = 0x16 "LocName",
    LOC_URI = 0x17 "LocURI",
    MAP = 0x18 "Map",
    MAP_ITEM = 0x19 "MapItem",
    META = 0x1A "Meta",
    MSG_ID = 0x1B "MsgID",
    MSG_REF = 0x1C "MsgRef",
    NO_RESP = 0x1D "NoResp",
    NO_RESULTS = 0x1E "NoResults",
    PUT = 0x1F "Put",
    REPLACE = 0x20 "Replace",
    RESP_URI = 0x21 "RespURI",
    RESULTS = 0x22 "Results",
    SEARCH = 0x23 "Search",
    SEQUENCE = 0x24 "Sequence",
    SESSION_ID = 0x25 "SessionID",
    SFT_DEL = 0x26 "SftDel",
    SOURCE = 0x27 "Source",
    SOURCE_REF = 0x28 "SourceRef",
    STATUS = 0x29 "Status",
    SYNC = 0x2A "Sync",
    SYNC_BODY = 0x2B "SyncBody",
    SYNC_HDR = 0x2C "SyncHdr",
    SYNC_ML = 0x2D "SyncML",
    TARGET = 0x2E "Target",
    TARGET_REF = 0x2F "TargetRef",
    VER_DTD = 0x31 "VerDTD",
    VER_PROTO = 0x32 "VerProto",
    NUMBER_OF_CHANGES = 0x33 "NumberOfChanges",
    MORE_DATA = 0x34 "MoreData",
    FIELD = 0x35 "Field",
    FILTER = 0x36 "Filter",
    RECORD = 0x37 "Record",
    FILTER_TYPE = 0x38 "FilterType",
    SOURCE_PARENT = 0x39 "SourceParent",
    TARGET_PARENT = 0x3A "TargetParent",
    MOVE = 0x3B "Move",
    CORRELATOR = 0x3C "Correlator",
});

code_page!(PAGE_METINF, METINF_PAGE, {
    ANCHOR = 0x05 "Anchor",
    EMI = 0x06 "EMI",
    FORMAT = 0x07 "Format",
    FREE_ID = 0x08 "FreeID",
    FREE_MEM = 0x09 "FreeMem",
    LAST = 0x0A "Last",
    MARK = 0x0B "Mark",
    MAX_MSG_SIZE = 0x0C "MaxMsgSize",
    MEM = 0x0D "Mem",
    MET_INF = 0x0E "MetInf",
    NEXT = 0x0F "Next",
    NEXT_NONCE = 0x10 "NextNonce",
    SHARED_MEM = 0x11 "SharedMem",
    SIZE = 0x12 "Size",
    TYPE = 0x13 "Type",
    VERSION = 0x14 "Version",
    MAX_OBJ_SIZE = 0x15 "MaxObjSize",
    FIELD_LEVEL = 0x16 "FieldLevel",
});

code_page!(PAGE_DDF, DDF_PAGE, {
    DDF_ACCESS_TYPE = 0x05 "AccessType",
    DDF_ACL = 0x06 "ACL",
    DDF_ADD = 0x07 "Add",
    DDF_B64 = 0x08 "b64",
    DDF_BIN = 0x09 "bin",
    DDF_BOOL = 0x0A "bool",
    DDF_CHR = 0x0B "chr",
    DDF_CASE_SENSE = 0x0C "CaseSense",
    DDF_CIS = 0x0D "CIS",
    DDF_COPY = 0x0E "Copy",
    DDF_CS = 0x0F "CS",
    DDF_DATE = 0x10 "date",
    DDF_DDF_NAME = 0x11 "DDFName",
    DDF_DEFAULT_VALUE = 0x12 "DefaultValue",
    DDF_DELETE = 0x13 "Delete",
    DDF_DESCRIPTION = 0x14 "Description",
    DDF_DF_FORMAT = 0x15 "DFFormat",
    DDF_DF_PROPERTIES = 0x16 "DFProperties",
    DDF_DF_TITLE = 0x17 "DFTitle",
    DDF_DF_TYPE = 0x18 "DFType",
    DDF_DYNAMIC = 0x19 "Dynamic",
    DDF_EXEC = 0x1A "Exec",
    DDF_FLOAT = 0x1B "float",
    DDF_FORMAT = 0x1C "Format",
    DDF_GET = 0x1D "Get",
    DDF_INT = 0x1E "int",
    DDF_MAN = 0x1F "Man",
    DDF_MGMT_TREE = 0x20 "MgmtTree",
    DDF_MIME = 0x21 "MIME",
    DDF_MOD = 0x22 "Mod",
    DDF_NAME = 0x23 "Name",
    DDF_NODE = 0x24 "Node",
    DDF_NODE_FORMAT = 0x25 "node",
    DDF_NODE_NAME = 0x26 "NodeName",
    DDF_NULL = 0x27 "null",
    DDF_OCCURRENCE = 0x28 "Occurrence",
    DDF_ONE = 0x29 "One",
    DDF_ONE_OR_MORE = 0x2A "OneOrMore",
    DDF_ONE_OR_N = 0x2B "OneOrN",
    DDF_PATH = 0x2C "Path",
    DDF_PERMANENT = 0x2D "Permanent",
    DDF_REPLACE = 0x2E "Replace",
    DDF_RT_PROPERTIES = 0x2F "RTProperties",
    DDF_SCOPE = 0x30 "Scope",
    DDF_SIZE = 0x31 "Size",
    DDF_TIME = 0x32 "time",
    DDF_TITLE = 0x33 "Title",
    DDF_TSTAMP = 0x34 "TStamp",
    DDF_TYPE = 0x35 "Type",
    DDF_VALUE = 0x36 "Value",
    DDF_VER_DTD = 0x37 "VerDTD",
    DDF_VER_NO = 0x38 "VerNo",
    DDF_XML = 0x39 "xml",
    DDF_ZERO_OR_MORE = 0x3A "ZeroOrMore",
    DDF_ZERO_OR_N = 0x3B "ZeroOrN",
    DDF_ZERO_OR_ONE = 0x3C "ZeroOrOne",
});

/// The namespace of a code page's vocabulary.
pub(crate) fn page_namespace(page: u8) -> &'static str {
    match page {
        PAGE_METINF => METINF_NAMESPACE,
        PAGE_DDF => DDF_NAMESPACE,
        _ => SYNCML_NAMESPACE,
    }
}

/// The code page of a namespace, which may be written in any case.
pub(crate) fn namespace_page(ns: &[u8]) -> Option<u8> {
    if ns.eq_ignore_ascii_case(DDF_NAMESPACE.as_bytes()) {
        Some(PAGE_DDF)
    } else if ns.eq_ignore_ascii_case(METINF_NAMESPACE.as_bytes()) {
        Some(PAGE_METINF)
    } else if ns
        .get(..13)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"SYNCML:SYNCML"))
    {
        Some(PAGE_SYNCML)
    } else {
        None
    }
}

/// Namespace of the DM DDF / TNDS vocabulary.
pub const DDF_NAMESPACE: &str = "syncml:dmddf1.2";
/// Namespace of the MetInf vocabulary.
pub const METINF_NAMESPACE: &str = "syncml:metinf";
/// Namespace of the SyncML vocabulary, as embedded XML reports it (any SyncML version).
pub const SYNCML_NAMESPACE: &str = "SYNCML:SYNCML1.2";

/// WBXML global tokens (WAP-192-WBXML §7.1), the same on every code page.
pub(crate) mod global {
    pub(crate) const SWITCH_PAGE: u8 = 0x00;
    pub(crate) const END: u8 = 0x01;
    pub(crate) const ENTITY: u8 = 0x02;
    pub(crate) const STR_I: u8 = 0x03;
    pub(crate) const LITERAL: u8 = 0x04;
    pub(crate) const EXT_I_0: u8 = 0x40;
    pub(crate) const EXT_I_1: u8 = 0x41;
    pub(crate) const EXT_I_2: u8 = 0x42;
    pub(crate) const PI: u8 = 0x43;
    pub(crate) const LITERAL_C: u8 = 0x44;
    pub(crate) const EXT_T_0: u8 = 0x80;
    pub(crate) const EXT_T_1: u8 = 0x81;
    pub(crate) const EXT_T_2: u8 = 0x82;
    pub(crate) const STR_T: u8 = 0x83;
    pub(crate) const LITERAL_A: u8 = 0x84;
    pub(crate) const EXT_0: u8 = 0xC0;
    pub(crate) const EXT_1: u8 = 0xC1;
    pub(crate) const EXT_2: u8 = 0xC2;
    pub(crate) const OPAQUE: u8 = 0xC3;
    pub(crate) const LITERAL_AC: u8 = 0xC4;
    /// Bit set in a tag token when the element has attributes.
    pub(crate) const HAS_ATTRS: u8 = 0x80;
    /// Bit set in a tag token when the element has content.
    pub(crate) const HAS_CONTENT: u8 = 0x40;
}

/// WBXML public identifiers of the SyncML DTDs.
pub(crate) mod public_id {
    /// `-//SYNCML//DTD SyncML 1.2//EN`.
    pub(crate) const SYNCML_12: u32 = 0x1201;
    /// `-//SYNCML//DTD SyncML 1.1//EN`.
    pub(crate) const SYNCML_11: u32 = 0x0FD3;
    /// `-//SYNCML//DTD SyncML 1.0//EN`.
    pub(crate) const SYNCML_10: u32 = 0x0FD1;
    /// Public id written as an index into the string table.
    pub(crate) const LITERAL: u32 = 0;
    /// Unknown public id.
    pub(crate) const UNKNOWN: u32 = 1;
}

/// IANA MIBenum of UTF-8, the charset of every SyncML DM WBXML document.
pub(crate) const CHARSET_UTF8: u32 = 106;
/// IANA MIBenum of US-ASCII, a subset of UTF-8 and accepted as such.
pub(crate) const CHARSET_US_ASCII: u32 = 3;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_tokens_agree_on_every_page() {
        for page in [PAGE_SYNCML, PAGE_METINF, PAGE_DDF] {
            let mut seen = 0;
            for token in 0..0x40u8 {
                if let Some(tag) = Tag::from_token(page, token) {
                    seen += 1;
                    assert_eq!(Tag::from_name(page, tag.name().as_bytes()), Some(tag));
                }
            }
            assert!(seen > 15, "page {page} has only {seen} tags");
        }
    }

    #[test]
    fn names_are_found_by_hash_and_others_are_not() {
        for page in [PAGE_SYNCML, PAGE_METINF, PAGE_DDF] {
            for token in 0..0x40u8 {
                let Some(tag) = Tag::from_token(page, token) else {
                    continue;
                };
                let name = tag.name();
                assert_eq!(Tag::from_name(page, name.as_bytes()), Some(tag));
                assert_eq!(
                    Tag::from_token_name(page, &std::format!("x:{name}")),
                    Some(tag)
                );
                // Near misses probe and give up.
                let mut longer = std::string::String::from(name);
                longer.push('x');
                assert_eq!(Tag::from_name(page, longer.as_bytes()), None);
                assert_eq!(Tag::from_name(page, &name.as_bytes()[1..]), None);
            }
            assert_eq!(Tag::from_name(page, b""), None);
        }
        assert_eq!(Tag::from_name(3, b"Add"), None);
        assert_eq!(Tag::from_token(3, 5), None);
        assert_eq!(Tag::from_token(PAGE_SYNCML, 0x40), None);
        assert_eq!(Tag::SYNC_ML.name(), "SyncML");
        assert_eq!(Tag::CORRELATOR.name(), "Correlator");
    }

    #[test]
    fn tokens_match_the_published_tables() {
        // Spot checks against the values libwbxml writes (omadm-facts §1.3, §1.4, §1.7).
        assert_eq!(Tag::SYNC_ML.token(), 0x2D);
        assert_eq!(Tag::REPLACE.token(), 0x20);
        assert_eq!(Tag::CORRELATOR.token(), 0x3C);
        assert_eq!(Tag::MAX_MSG_SIZE.token(), 0x0C);
        assert_eq!(Tag::MAX_OBJ_SIZE.token(), 0x15);
        assert_eq!(Tag::DDF_MGMT_TREE.token(), 0x20);
        assert_eq!(Tag::DDF_ZERO_OR_ONE.token(), 0x3C);
        assert_eq!(Tag::from_token(PAGE_SYNCML, 0x30), None);
        assert_eq!(Tag::from_name(PAGE_METINF, b"Add"), None);
    }
}
