//! Protocol code values shared by every layer: SyncML DM status codes and alert codes.
//! Values outside the known set survive as `Unknown(n)` so that nothing read off the
//! wire is lost or refused merely for being new.

enum_with_unknown! {
    /// A SyncML DM status code, as carried in `Status/Data` (OMA-TS-DM_RepPro 1.2).
    pub enum StatusCode(u16) {
        /// 101: in progress.
        InProgress = 101,
        /// 200: command completed.
        Ok = 200,
        /// 202: accepted for processing; the result follows later (FUMO Exec).
        Accepted = 202,
        /// 212: authentication accepted for the rest of the session.
        AuthenticationAccepted = 212,
        /// 213: chunk of a large object accepted and buffered.
        ChunkedItemAccepted = 213,
        /// 214: operation cancelled by the user.
        OperationCancelled = 214,
        /// 215: not executed, because of an earlier user decision.
        NotExecuted = 215,
        /// 216: command inside a failed Atomic was rolled back.
        AtomicRollBackOk = 216,
        /// 304: the user answered "No" to a confirmation alert.
        NotModified = 304,
        /// 400: malformed command.
        BadRequest = 400,
        /// 401: invalid credentials.
        InvalidCredentials = 401,
        /// 403: forbidden for reasons other than the ACL.
        Forbidden = 403,
        /// 404: the target node does not exist.
        NotFound = 404,
        /// 405: the command is not allowed on this node.
        CommandNotAllowed = 405,
        /// 406: optional feature not supported.
        OptionalFeatureNotSupported = 406,
        /// 407: credentials missing.
        MissingCredentials = 407,
        /// 408: request (or user) timed out.
        RequestTimeout = 408,
        /// 412: incomplete command.
        IncompleteCommand = 412,
        /// 413: request entity too large.
        RequestEntityTooLarge = 413,
        /// 414: URI too long.
        UriTooLong = 414,
        /// 415: unsupported media type or format.
        UnsupportedMediaType = 415,
        /// 416: requested range not satisfiable.
        RequestedRangeNotSatisfiable = 416,
        /// 418: the node already exists.
        AlreadyExists = 418,
        /// 420: device full.
        DeviceFull = 420,
        /// 424: reassembled large object does not match its declared size.
        SizeMismatch = 424,
        /// 425: the ACL denies the command.
        PermissionDenied = 425,
        /// 500: command failed.
        CommandFailed = 500,
        /// 501: command not implemented.
        CommandNotImplemented = 501,
        /// 503: service unavailable.
        ServiceUnavailable = 503,
        /// 506: processing error.
        ProcessingError = 506,
        /// 507: an Atomic failed.
        AtomicFailed = 507,
        /// 510: data store failure.
        DataStoreFailure = 510,
        /// 516: an Atomic could not be rolled back.
        AtomicRollBackFailed = 516,
        /// 517: an Atomic's response does not fit.
        AtomicResponseTooLarge = 517,
    }
}

impl StatusCode {
    /// Whether the code reports success (2xx).
    pub fn is_success(self) -> bool {
        (200..300).contains(&u16::from(self))
    }
}

enum_with_unknown! {
    /// A SyncML DM alert code, as carried in `Alert/Data`.
    pub enum AlertCode(u16) {
        /// 1100: show a message.
        Display = 1100,
        /// 1101: ask the user to confirm or reject.
        ConfirmOrReject = 1101,
        /// 1102: ask the user for text.
        TextInput = 1102,
        /// 1103: ask the user to pick one choice.
        SingleChoice = 1103,
        /// 1104: ask the user to pick several choices.
        MultipleChoice = 1104,
        /// 1200: session initiated by the server.
        ServerInitiatedMgmt = 1200,
        /// 1201: session initiated by the client.
        ClientInitiatedMgmt = 1201,
        /// 1222: ask for the next message of a package.
        NextMessage = 1222,
        /// 1223: abort the session.
        SessionAbort = 1223,
        /// 1224: client event.
        ClientEvent = 1224,
        /// 1225: a chunked object ended without its last chunk.
        NoEndOfData = 1225,
        /// 1226: generic alert.
        GenericAlert = 1226,
    }
}

impl AlertCode {
    /// Whether the alert asks for user interaction (1100-1104).
    pub fn is_user_interaction(self) -> bool {
        (1100..=1104).contains(&u16::from(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_codes_survive_round_trip() {
        assert_eq!(StatusCode::from(299), StatusCode::Unknown(299));
        assert_eq!(u16::from(StatusCode::from(299)), 299);
        assert_eq!(StatusCode::from(425), StatusCode::PermissionDenied);
        assert_eq!(u16::from(AlertCode::GenericAlert), 1226);
        assert!(AlertCode::from(1102).is_user_interaction());
        assert!(!AlertCode::from(1200).is_user_interaction());
        assert!(StatusCode::AuthenticationAccepted.is_success());
        assert!(!StatusCode::from(425).is_success());
    }
}
