//! Reading a [`HeartbeatRow`] field by field. serde's derived reader of an internally tagged
//! enum first copies the whole row into a generic tree to find its `kind`, then reads the
//! variant from that copy: for the monitor row of a 20 000-line fleet that copy was a third
//! of decoding it. Here each field is read straight into its type, in whatever order the
//! row's fields come (a DynamoDB item has no order), and the variant is built at the end.

use super::watchdog::{Silence, WatchdogState};
use super::{HeartbeatRow, HeartbeatStatus, LineState, MonitorState};
use crate::exophone::ExoPhoneSid;
use chrono::{DateTime, Utc};
use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::fmt;

impl<'de> Deserialize<'de> for HeartbeatRow {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(RowVisitor)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Monitor,
    Watchdog,
}

/// The fields of both variants; others are skipped, as the derived reader skips them.
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum Field {
    Kind,
    LastHeartbeatAt,
    Status,
    Lines,
    OutageStartedAt,
    LastNotifiedAt,
    DetailsCheckedAt,
    Silence,
    LastHeard,
    #[serde(other)]
    Other,
}

struct RowVisitor;

impl<'de> Visitor<'de> for RowVisitor {
    type Value = HeartbeatRow;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a heartbeat state row with a `kind`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<HeartbeatRow, A::Error> {
        let mut kind = None;
        let mut last_heartbeat_at: Option<DateTime<Utc>> = None;
        let mut status: Option<HeartbeatStatus> = None;
        let mut lines: Option<BTreeMap<ExoPhoneSid, LineState>> = None;
        // `null` and absent are both `None`, as with the derived `#[serde(default)]`.
        let mut outage_started_at: Option<Option<DateTime<Utc>>> = None;
        let mut last_notified_at: Option<Option<DateTime<Utc>>> = None;
        let mut details_checked_at: Option<Option<DateTime<Utc>>> = None;
        let mut silence: Option<Silence> = None;
        let mut last_heard: Option<Option<DateTime<Utc>>> = None;
        while let Some(field) = map.next_key()? {
            match field {
                Field::Kind => kind = Some(map.next_value::<Kind>()?),
                Field::LastHeartbeatAt => last_heartbeat_at = Some(map.next_value()?),
                Field::Status => status = Some(map.next_value()?),
                Field::Lines => lines = Some(map.next_value()?),
                Field::OutageStartedAt => outage_started_at = Some(map.next_value()?),
                Field::LastNotifiedAt => last_notified_at = Some(map.next_value()?),
                Field::DetailsCheckedAt => details_checked_at = Some(map.next_value()?),
                Field::Silence => silence = Some(map.next_value()?),
                Field::LastHeard => last_heard = Some(map.next_value()?),
                Field::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        match kind.ok_or_else(|| de::Error::missing_field("kind"))? {
            Kind::Monitor => Ok(HeartbeatRow::Monitor(MonitorState {
                last_heartbeat_at: last_heartbeat_at
                    .ok_or_else(|| de::Error::missing_field("last_heartbeat_at"))?,
                status: status.ok_or_else(|| de::Error::missing_field("status"))?,
                lines: lines.unwrap_or_default(),
                outage_started_at: outage_started_at.flatten(),
                last_notified_at: last_notified_at.flatten(),
                details_checked_at: details_checked_at.flatten(),
            })),
            Kind::Watchdog => Ok(HeartbeatRow::Watchdog(WatchdogState {
                silence: silence.ok_or_else(|| de::Error::missing_field("silence"))?,
                last_heard: last_heard.flatten(),
            })),
        }
    }
}

#[cfg(test)]
#[path = "row_test.rs"]
mod tests;
