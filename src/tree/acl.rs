//! Access control lists (OMA-TS-DM_TND §7.7): `Add=srv1&Get=*&Replace=srv1+srv2`.
//!
//! An ACL names, per command, the servers that may use it; `*` is any authenticated
//! server. A node whose ACL is empty inherits its parent's; the root always has one. There
//! is no entry for `Copy`, which needs the rights of the commands it amounts to.

use crate::schema::AccessSet;

/// Why an ACL text is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AclError;

impl core::fmt::Display for AclError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("malformed ACL")
    }
}

impl core::error::Error for AclError {}

/// The commands an ACL can name.
const COMMANDS: [(&str, AccessSet); 5] = [
    ("Add", AccessSet::ADD),
    ("Delete", AccessSet::DELETE),
    ("Exec", AccessSet::EXEC),
    ("Get", AccessSet::GET),
    ("Replace", AccessSet::REPLACE),
];

/// A validated ACL, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Acl<'a>(&'a str);

impl<'a> Acl<'a> {
    /// The empty ACL: inherit the parent's.
    pub const EMPTY: Acl<'static> = Acl("");

    /// Checks `text` against the ACL grammar.
    pub fn parse(text: &'a str) -> Result<Acl<'a>, AclError> {
        if text.is_empty() {
            return Ok(Acl(text));
        }
        for entry in text.split('&') {
            let (command, servers) = entry.split_once('=').ok_or(AclError)?;
            COMMANDS
                .iter()
                .find(|(name, _)| *name == command)
                .ok_or(AclError)?;
            if servers.is_empty() {
                return Err(AclError);
            }
            for server in servers.split('+') {
                let valid = server == "*"
                    || (!server.is_empty()
                        && server.chars().all(|c| {
                            !matches!(c, '=' | '&' | '*' | '+')
                                && !c.is_whitespace()
                                && !c.is_control()
                        }));
                if !valid {
                    return Err(AclError);
                }
            }
        }
        Ok(Acl(text))
    }

    /// An ACL already known to be valid (stored after a check, or compiled from a DDF).
    /// Checking it again would cost every access check; a text that is not an ACL only
    /// grants nothing.
    pub(crate) const fn trusted(text: &'a str) -> Acl<'a> {
        Acl(text)
    }

    /// The ACL text.
    pub fn as_str(&self) -> &'a str {
        self.0
    }

    /// Whether the ACL is empty (the node inherits).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `server` may use `command` (one command of an [`AccessSet`]).
    pub fn allows(&self, command: AccessSet, server: &str) -> bool {
        // Every access check comes here: scan the bytes instead of splitting strings.
        let Some(name) = COMMANDS
            .iter()
            .find(|(_, set)| *set == command)
            .map(|(n, _)| n.as_bytes())
        else {
            return false;
        };
        let server = server.as_bytes();
        let mut rest = self.0.as_bytes();
        while !rest.is_empty() {
            let end = rest.iter().position(|&b| b == b'&').unwrap_or(rest.len());
            let (entry, tail) = rest.split_at(end);
            rest = tail.get(1..).unwrap_or(&[]);
            let Some(servers) = entry.strip_prefix(name).and_then(|r| r.strip_prefix(b"=")) else {
                continue;
            };
            if servers
                .split(|&b| b == b'+')
                .any(|s| s == b"*" || s == server)
            {
                return true;
            }
        }
        false
    }

    /// The commands `server` may use.
    pub fn granted(&self, server: &str) -> AccessSet {
        self.entries()
            .filter(|(_, servers)| servers.split('+').any(|s| s == "*" || s == server))
            .fold(AccessSet::NONE, |acc, (c, _)| acc.union(c))
    }

    /// `(command, servers)` pairs, servers still `+`-joined.
    pub fn entries(&self) -> impl Iterator<Item = (AccessSet, &'a str)> {
        self.0
            .split('&')
            .filter(|e| !e.is_empty())
            .filter_map(|entry| {
                let (command, servers) = entry.split_once('=')?;
                let set = COMMANDS.iter().find(|(n, _)| *n == command)?.1;
                Some((set, servers))
            })
    }
}

/// Writes the ACL that grants `commands` to `server` alone, e.g. for the node a server adds
/// without the right to replace its parent's ACL.
pub fn write_grant(
    out: &mut impl core::fmt::Write,
    commands: AccessSet,
    server: &str,
) -> core::fmt::Result {
    let mut first = true;
    for (name, set) in COMMANDS {
        if commands.contains(set) {
            if !first {
                out.write_char('&')?;
            }
            out.write_str(name)?;
            out.write_char('=')?;
            out.write_str(server)?;
            first = false;
        }
    }
    Ok(())
}

/// Writes `acl` without `server`: commands left with no server are dropped (used when a
/// DM account, and with it a server identity, is deleted).
pub fn write_without(
    out: &mut impl core::fmt::Write,
    acl: Acl<'_>,
    server: &str,
) -> core::fmt::Result {
    let mut first_entry = true;
    for (set, servers) in acl.entries() {
        let kept = servers.split('+').filter(|s| *s != server);
        if kept.clone().next().is_none() {
            continue;
        }
        let name = COMMANDS
            .iter()
            .find(|(_, s)| *s == set)
            .map_or("", |(n, _)| n);
        if !first_entry {
            out.write_char('&')?;
        }
        out.write_str(name)?;
        out.write_char('=')?;
        for (i, s) in kept.enumerate() {
            if i > 0 {
                out.write_char('+')?;
            }
            out.write_str(s)?;
        }
        first_entry = false;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::String;

    #[test]
    fn grammar() {
        for ok in [
            "",
            "Get=*",
            "Add=srvA&Delete=srvA&Replace=srvA+srvB&Get=*",
            "Exec=a.b-c_d:1",
        ] {
            assert!(Acl::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "Get", "Get=", "Copy=a", "get=a", "Get=a b", "Get=a&", "&Get=a", "Get=a++b", "Get=*a",
            "Get=a=b",
        ] {
            assert_eq!(Acl::parse(bad), Err(AclError), "{bad}");
        }
    }

    #[test]
    fn checks() {
        let acl = Acl::parse("Add=srvA&Replace=srvA+srvB&Get=*").unwrap();
        assert!(acl.allows(AccessSet::ADD, "srvA"));
        assert!(!acl.allows(AccessSet::ADD, "srvB"));
        assert!(acl.allows(AccessSet::REPLACE, "srvB"));
        assert!(acl.allows(AccessSet::GET, "anyone"));
        assert!(!acl.allows(AccessSet::DELETE, "srvA"));
        assert!(!acl.allows(AccessSet::EXEC, "srvA"));
        assert_eq!(
            acl.granted("srvA"),
            AccessSet::ADD
                .union(AccessSet::REPLACE)
                .union(AccessSet::GET)
        );
        // No prefix matching.
        assert!(!acl.allows(AccessSet::ADD, "srv"));
    }

    #[test]
    fn writing() {
        let mut s = String::new();
        write_grant(&mut s, AccessSet::ALL, "srv1").unwrap();
        assert_eq!(s, "Add=srv1&Delete=srv1&Exec=srv1&Get=srv1&Replace=srv1");
        assert!(Acl::parse(&s).is_ok());
        let mut s = String::new();
        let acl = Acl::parse("Add=a&Replace=a+b&Get=*").unwrap();
        write_without(&mut s, acl, "a").unwrap();
        assert_eq!(s, "Replace=b&Get=*");
    }
}
