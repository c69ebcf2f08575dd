//! WBXML token tables for SyncML (code page 0), MetInf (code page 1) and the DM DDF/TNDS
//! vocabulary (code page 2), with name lookups for the XML side. One macro invocation per
//! page keeps the token, the name and the lookup in a single row, so the two encodings can
//! never disagree about an element.

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
        let name = match self.page {
            PAGE_SYNCML => syncml_name(self.token),
            PAGE_METINF => metinf_name(self.token),
            PAGE_DDF => ddf_name(self.token),
            _ => None,
        };
        name.unwrap_or("")
    }

    /// Looks a tag up by code page and token.
    #[inline]
    pub(crate) fn from_token(page: u8, token: u8) -> Option<Tag> {
        // A bit per defined token: the WBXML decoders ask this for every tag they meet.
        let defined = match page {
            PAGE_SYNCML => SYNCML_TOKENS,
            PAGE_METINF => METINF_TOKENS,
            PAGE_DDF => DDF_TOKENS,
            _ => 0,
        };
        let known = defined
            .checked_shr(u32::from(token))
            .is_some_and(|d| d & 1 == 1);
        known.then_some(Tag { page, token })
    }

    /// Looks a tag up by code page and name; the name of an embedded element may be given
    /// with a prefix, which is ignored.
    pub(crate) fn from_token_name(page: u8, name: &str) -> Option<Tag> {
        let local = name.rsplit(':').next().unwrap_or(name);
        Tag::from_name(page, local.as_bytes())
    }

    /// Looks a tag up by code page and XML local name.
    pub(crate) fn from_name(page: u8, name: &[u8]) -> Option<Tag> {
        match page {
            PAGE_SYNCML => syncml_lookup(name),
            PAGE_METINF => metinf_lookup(name),
            PAGE_DDF => ddf_lookup(name),
            _ => None,
        }
    }
}

macro_rules! code_page {
    ($page:expr, $name_fn:ident, $lookup_fn:ident, $mask:ident, { $( $konst:ident = $token:literal $name:literal ),+ $(,)? }) => {
        #[allow(missing_docs)]
        impl Tag {
            $( pub(crate) const $konst: Tag = Tag { page: $page, token: $token }; )+
        }

        /// One bit per token defined on the page.
        const $mask: u64 = 0 $( | (1u64 << $token) )+;

        fn $name_fn(token: u8) -> Option<&'static str> {
            match token {
                $( $token => Some($name), )+
                _ => None,
            }
        }

        fn $lookup_fn(name: &[u8]) -> Option<Tag> {
            match name {
                $( n if n == $name.as_bytes() => Some(Tag::$konst), )+
                _ => None,
            }
        }
    };
}

code_page!(PAGE_SYNCML, syncml_name, syncml_lookup, SYNCML_TOKENS, {
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

code_page!(PAGE_METINF, metinf_name, metinf_lookup, METINF_TOKENS, {
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

code_page!(PAGE_DDF, ddf_name, ddf_lookup, DDF_TOKENS, {
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
