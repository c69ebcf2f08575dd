//! The vocabulary of a DDF node description: value formats, access types, occurrences and
//! scopes, each with the names DDF documents and printouts use.
//!
//! Plain `Copy` values; nothing here knows about a particular schema.

use core::fmt;

/// The format of a node value (DDF `DFFormat`, SyncML `Meta/Format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Format {
    /// `b64`: Base64-encoded binary.
    B64,
    /// `bin`: binary.
    Bin,
    /// `bool`: `true` or `false`.
    Bool,
    /// `chr`: text.
    Chr,
    /// `int`: signed 32-bit integer in decimal.
    Int,
    /// `node`: an interior node, which has children and no value.
    Node,
    /// `null`: a leaf without a value.
    Null,
    /// `xml`: an XML document.
    Xml,
    /// `date`: an ISO 8601 date.
    Date,
    /// `time`: an ISO 8601 time.
    Time,
    /// `float`: a 32-bit IEEE 754 number.
    Float,
}

impl Format {
    /// Every format, in declaration order.
    pub const ALL: [Format; 11] = [
        Format::B64,
        Format::Bin,
        Format::Bool,
        Format::Chr,
        Format::Int,
        Format::Node,
        Format::Null,
        Format::Xml,
        Format::Date,
        Format::Time,
        Format::Float,
    ];

    /// The name used on the wire and in DDF documents, e.g. `"chr"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Format::B64 => "b64",
            Format::Bin => "bin",
            Format::Bool => "bool",
            Format::Chr => "chr",
            Format::Int => "int",
            Format::Node => "node",
            Format::Null => "null",
            Format::Xml => "xml",
            Format::Date => "date",
            Format::Time => "time",
            Format::Float => "float",
        }
    }

    /// The format named `name` (exactly, as the names are case-sensitive), if any.
    pub fn parse(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.as_str() == name)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of the DM formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct UnknownFormat;

impl fmt::Display for UnknownFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unknown format")
    }
}

impl core::str::FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::parse(s).ok_or(UnknownFormat)
    }
}

/// A set of DM commands: the DDF `AccessType` of a node, the commands that may target it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AccessSet(u8);

impl AccessSet {
    /// No command.
    pub const NONE: AccessSet = AccessSet(0);
    /// `Add`.
    pub const ADD: AccessSet = AccessSet(1 << 0);
    /// `Copy`.
    pub const COPY: AccessSet = AccessSet(1 << 1);
    /// `Delete`.
    pub const DELETE: AccessSet = AccessSet(1 << 2);
    /// `Exec`.
    pub const EXEC: AccessSet = AccessSet(1 << 3);
    /// `Get`.
    pub const GET: AccessSet = AccessSet(1 << 4);
    /// `Replace`.
    pub const REPLACE: AccessSet = AccessSet(1 << 5);
    /// Every command.
    pub const ALL: AccessSet = AccessSet(0b11_1111);

    /// Each single command with its name, in the order DDF documents and printouts use.
    pub const COMMANDS: [(AccessSet, &'static str); 6] = [
        (AccessSet::ADD, "Add"),
        (AccessSet::COPY, "Copy"),
        (AccessSet::DELETE, "Delete"),
        (AccessSet::EXEC, "Exec"),
        (AccessSet::GET, "Get"),
        (AccessSet::REPLACE, "Replace"),
    ];

    /// Whether every command of `other` is in `self`.
    pub const fn contains(self, other: AccessSet) -> bool {
        self.0 & other.0 == other.0
    }

    /// The commands in `self` or in `other`.
    #[must_use]
    pub const fn union(self, other: AccessSet) -> AccessSet {
        AccessSet(self.0 | other.0)
    }

    /// The commands in both `self` and `other`.
    #[must_use]
    pub const fn intersection(self, other: AccessSet) -> AccessSet {
        AccessSet(self.0 & other.0)
    }

    /// Whether the set holds no command.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The single command named `name` (`"Add"` .. `"Replace"`), if any.
    pub fn from_command(name: &str) -> Option<AccessSet> {
        AccessSet::COMMANDS
            .into_iter()
            .find(|(_, n)| *n == name)
            .map(|(set, _)| set)
    }

    /// The names of the commands in the set, in [`AccessSet::COMMANDS`] order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        AccessSet::COMMANDS
            .into_iter()
            .filter(move |(set, _)| self.contains(*set))
            .map(|(_, name)| name)
    }
}

impl fmt::Display for AccessSet {
    /// `Add,Get,Replace`, in the fixed command order; `-` for the empty set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("-");
        }
        for (i, name) in self.names().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(name)?;
        }
        Ok(())
    }
}

impl fmt::Debug for AccessSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccessSet({self})")
    }
}

/// How many instances of a node may exist under one parent (DDF `Occurrence`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Occurrence {
    /// Exactly one.
    One,
    /// At most one.
    ZeroOrOne,
    /// Any number.
    ZeroOrMore,
    /// At least one.
    OneOrMore,
    /// At most N.
    ZeroOrN(u16),
    /// At least one, at most N.
    OneOrN(u16),
}

impl Occurrence {
    /// The DDF element name, e.g. `"ZeroOrN"`.
    pub const fn name(self) -> &'static str {
        match self {
            Occurrence::One => "One",
            Occurrence::ZeroOrOne => "ZeroOrOne",
            Occurrence::ZeroOrMore => "ZeroOrMore",
            Occurrence::OneOrMore => "OneOrMore",
            Occurrence::ZeroOrN(_) => "ZeroOrN",
            Occurrence::OneOrN(_) => "OneOrN",
        }
    }

    /// The fewest instances required: 0 or 1.
    pub const fn min(self) -> u16 {
        match self {
            Occurrence::ZeroOrOne | Occurrence::ZeroOrMore | Occurrence::ZeroOrN(_) => 0,
            Occurrence::One | Occurrence::OneOrMore | Occurrence::OneOrN(_) => 1,
        }
    }

    /// The most instances allowed, `None` when unbounded.
    pub const fn max(self) -> Option<u16> {
        match self {
            Occurrence::One | Occurrence::ZeroOrOne => Some(1),
            Occurrence::ZeroOrMore | Occurrence::OneOrMore => None,
            Occurrence::ZeroOrN(n) | Occurrence::OneOrN(n) => Some(n),
        }
    }
}

/// Whether a node is built in or created and deleted at run time (DDF `Scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Scope {
    /// Built into the device; a server cannot delete it.
    Permanent,
    /// Created and deleted at run time.
    Dynamic,
}

impl Scope {
    /// The DDF element name, `"Permanent"` or `"Dynamic"`.
    pub const fn name(self) -> &'static str {
        match self {
            Scope::Permanent => "Permanent",
            Scope::Dynamic => "Dynamic",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip() {
        for f in Format::ALL {
            assert_eq!(Format::parse(f.as_str()), Some(f));
            assert_eq!(f.as_str().parse::<Format>(), Ok(f));
            assert_eq!(std::format!("{f}"), f.as_str());
        }
        assert_eq!(Format::parse("Chr"), None);
        assert_eq!(Format::parse("string"), None);
        assert_eq!("".parse::<Format>(), Err(UnknownFormat));
    }

    #[test]
    fn access_set_prints_in_fixed_order() {
        let set = AccessSet::REPLACE
            .union(AccessSet::ADD)
            .union(AccessSet::GET);
        assert_eq!(std::format!("{set}"), "Add,Get,Replace");
        assert_eq!(std::format!("{set:?}"), "AccessSet(Add,Get,Replace)");
        assert_eq!(std::format!("{}", AccessSet::NONE), "-");
        assert_eq!(
            std::format!("{}", AccessSet::ALL),
            "Add,Copy,Delete,Exec,Get,Replace"
        );
        assert!(set.contains(AccessSet::GET.union(AccessSet::ADD)));
        assert!(!set.contains(AccessSet::DELETE));
        assert!(set.contains(AccessSet::NONE));
        assert_eq!(set.intersection(AccessSet::GET), AccessSet::GET);
        assert_eq!(AccessSet::from_command("Exec"), Some(AccessSet::EXEC));
        assert_eq!(AccessSet::from_command("exec"), None);
    }

    #[test]
    fn occurrence_bounds() {
        assert_eq!((Occurrence::One.min(), Occurrence::One.max()), (1, Some(1)));
        assert_eq!(Occurrence::ZeroOrMore.max(), None);
        assert_eq!(Occurrence::OneOrN(4).max(), Some(4));
        assert_eq!(Occurrence::ZeroOrN(4).min(), 0);
        assert_eq!(Occurrence::OneOrN(4).name(), "OneOrN");
        assert_eq!(Scope::Dynamic.name(), "Dynamic");
    }
}
