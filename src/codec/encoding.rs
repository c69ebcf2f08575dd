//! The two encodings of a SyncML DM message, which every other part of the codec names:
//! on its own so that the errors, the reader and the writer all depend on it and not on
//! one another.

/// A message encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Encoding {
    /// XML (`application/vnd.syncml.dm+xml`).
    Xml,
    /// WBXML (`application/vnd.syncml.dm+wbxml`).
    Wbxml,
}

impl Encoding {
    /// The encoding's name: `XML` or `WBXML`.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Xml => "XML",
            Encoding::Wbxml => "WBXML",
        }
    }

    /// The HTTP content type of a DM message in this encoding.
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Xml => "application/vnd.syncml.dm+xml",
            Encoding::Wbxml => "application/vnd.syncml.dm+wbxml",
        }
    }
}
