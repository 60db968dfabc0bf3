//! Names on the broker. One stream holds every case event; each consuming service has one
//! durable pull consumer with no filter subject (nats-server 2.9 ignores a consumer's
//! multiple filters, so a consumer takes the whole stream and skips what it does not handle).

/// The stream that holds `clearline.case.>`.
pub const STREAM: &str = "CLEARLINE_CASES";

/// Every case event's subject starts with this.
pub const SUBJECT_PREFIX: &str = "clearline.case";

/// The wildcard the stream captures.
pub const SUBJECTS: &str = "clearline.case.>";

/// The subject an event of `event_type` is published on.
pub fn subject(event_type: &str) -> String {
    format!("{SUBJECT_PREFIX}.{event_type}")
}
