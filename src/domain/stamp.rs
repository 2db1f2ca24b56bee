//! Times leave steward in one format, in the API and in every CLI `--json`:
//! RFC 3339 in UTC, as chrono writes a `DateTime<Utc>`
//! (`2026-12-07T09:30:00Z`, with fractions of a second only when there are
//! some). Inside, a time is [`Millis`]; these serialise one.

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};

use super::Millis;

/// The time `ms` stands for (the epoch for one out of range).
pub fn utc(ms: Millis) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// `#[serde(serialize_with = "crate::domain::stamp::serialize")]`
pub fn serialize<S: Serializer>(ms: &Millis, s: S) -> Result<S::Ok, S::Error> {
    utc(*ms).serialize(s)
}

/// The same for an optional time: `null` when there is none.
pub fn serialize_option<S: Serializer>(ms: &Option<Millis>, s: S) -> Result<S::Ok, S::Error> {
    ms.map(utc).serialize(s)
}

#[cfg(test)]
mod tests {
    #[derive(serde::Serialize)]
    struct T {
        #[serde(serialize_with = "super::serialize")]
        at: i64,
        #[serde(serialize_with = "super::serialize_option")]
        gone: Option<i64>,
    }

    #[test]
    fn times_are_rfc3339_in_utc() {
        let t = serde_json::to_value(T { at: 1_736_899_200_000, gone: None }).unwrap();
        assert_eq!(t, serde_json::json!({"at": "2025-01-15T00:00:00Z", "gone": null}));
        let t = serde_json::to_value(T { at: 1_736_899_200_250, gone: Some(0) }).unwrap();
        assert_eq!(t, serde_json::json!({"at": "2025-01-15T00:00:00.250Z", "gone": "1970-01-01T00:00:00Z"}));
    }
}
