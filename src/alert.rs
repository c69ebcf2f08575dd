//! The Generic Alert (1226) a management object raises for the session to send: a FUMO
//! result report, for one. It sits below both, so that an object builds its report
//! without depending on the session that carries it.

/// A Generic Alert (1226) the client sends in package 1, e.g. a FUMO result report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenericAlert<'a> {
    /// The `Correlator` of the command that caused it (the server's `Exec`).
    pub correlator: Option<&'a str>,
    /// `Source/LocURI`: the management object node it is about.
    pub source: Option<&'a str>,
    /// `Target/LocURI`, when the alert is addressed to a server-side node.
    pub target: Option<&'a str>,
    /// `Meta/Type`: the alert type, e.g. `urn:oma:at:fumo:1.0:downloadandupdate`.
    pub alert_type: &'a str,
    /// `Meta/Format` of the data, e.g. `int`.
    pub format: &'a str,
    /// `Meta/Mark`: the severity, e.g. `critical`.
    pub mark: Option<&'a str>,
    /// `Data`: the report, e.g. a FUMO result code.
    pub data: &'a str,
}
