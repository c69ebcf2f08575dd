//! Crate-internal macros. `enum_with_unknown!` builds the protocol code enums (status,
//! alert, FUMO state and result codes): every known value gets a variant, anything else
//! is kept as `Unknown(n)`, so a code read off the wire never fails to convert and never
//! loses its value.

/// Defines a `#[non_exhaustive]` enum over an integer code with an `Unknown(n)` fallback
/// and `From` conversions in both directions.
macro_rules! enum_with_unknown {
    (
        $( #[$enum_attr:meta] )*
        pub enum $name:ident($ty:ty) {
            $(
                $( #[$variant_attr:meta] )*
                $variant:ident = $value:expr
            ),+ $(,)?
        }
    ) => {
        $( #[$enum_attr] )*
        #[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone, Copy, Hash)]
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        #[non_exhaustive]
        pub enum $name {
            $(
                $( #[$variant_attr] )*
                $variant
            ),*,
            /// A code this crate has no name for, kept as received.
            Unknown($ty)
        }

        impl $name {
            /// Every named code with its value. Both conversions search it: one table
            /// takes less flash than the two matches over dozens of values it replaces.
            fn known() -> &'static [($ty, $name)] {
                // A static rather than a constant: one table in flash, with a symbol,
                // so that size reports count it for the library.
                static KNOWN: [($ty, $name); [$(stringify!($variant)),*].len()] =
                    [$( ($value, $name::$variant) ),*];
                &KNOWN
            }
        }

        impl ::core::convert::From<$ty> for $name {
            fn from(value: $ty) -> Self {
                $name::known()
                    .iter()
                    .find(|(v, _)| *v == value)
                    .map_or($name::Unknown(value), |&(_, code)| code)
            }
        }

        impl ::core::convert::From<$name> for $ty {
            fn from(value: $name) -> Self {
                match value {
                    $name::Unknown(other) => other,
                    // Every other variant is in the table: the default is never taken.
                    known => $name::known()
                        .iter()
                        .find(|(_, code)| *code == known)
                        .map_or(0, |&(v, _)| v),
                }
            }
        }
    }
}
