//! ExoPhones as Exotel names them: the SID, the direction a line fails in, and what a
//! heartbeat or the ExoPhone details API says about one line. The ground floor under the
//! heartbeat, the Exotel API client and the alerts that name lines.

use crate::phone::E164;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// An ExoPhone SID that is not one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("an ExoPhone SID is empty, too long or has characters other than letters, digits, - and _")]
pub struct InvalidSid;

/// Which way calls fail on a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Incoming,
    Outgoing,
}

impl Direction {
    pub const ALL: [Direction; 2] = [Direction::Incoming, Direction::Outgoing];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Incoming => "incoming",
            Self::Outgoing => "outgoing",
        }
    }
}

/// The identifier Exotel gives an ExoPhone; not always its number.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExoPhoneSid(String);

impl ExoPhoneSid {
    pub fn parse(raw: &str) -> Result<Self, InvalidSid> {
        Self::check(raw)?;
        Ok(Self(raw.to_owned()))
    }

    fn check(raw: &str) -> Result<(), InvalidSid> {
        let ok = !raw.is_empty()
            && raw.len() <= 64
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(())
        } else {
            Err(InvalidSid)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ExoPhoneSid {
    type Error = InvalidSid;
    /// Keeps the string it is given: a 20 000-line heartbeat and its state hold some
    /// 70 000 SIDs, each copied once more before.
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::check(&value)?;
        Ok(Self(value))
    }
}

/// As a plain string; by hand rather than `into = "String"`, which clones every SID to
/// write it.
impl Serialize for ExoPhoneSid {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ExoPhoneSid {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::try_from(String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

impl From<ExoPhoneSid> for String {
    fn from(value: ExoPhoneSid) -> Self {
        value.0
    }
}

impl fmt::Display for ExoPhoneSid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One direction's connectivity block, as in the Get ExoPhone Details API; some heartbeats
/// carry it per line.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connectivity {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub last_check_time: Option<String>,
    #[serde(default)]
    pub alternate_exophone: Option<serde_json::Value>,
}

/// What a heartbeat says about one affected line. Fields Exotel adds later are kept in
/// `extra` rather than dropped.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LineInfo {
    #[serde(default, deserialize_with = "lenient_phone")]
    pub phone_number: Option<E164>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connectivity: Option<BTreeMap<String, Connectivity>>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// How Exotel's monitoring says one direction of a line fails (`connectivity.*.status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outage {
    /// "ExoPhone is inactive and calls are not connecting".
    MajorOutage,
    /// "ExoPhone is working partially and is down from/towards one or more operator
    /// connectivities".
    PartialNetworkOutage,
}

impl Outage {
    /// Exotel's status word; `None` for `active` and for words of unknown meaning.
    pub fn parse(status: &str) -> Option<Self> {
        match status {
            "major_outage" => Some(Self::MajorOutage),
            "partial_network_outage" => Some(Self::PartialNetworkOutage),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::MajorOutage => "major_outage",
            Self::PartialNetworkOutage => "partial_network_outage",
        }
    }

    /// What it means to a person reading an alert.
    pub fn describe(self) -> &'static str {
        match self {
            Self::MajorOutage => "major outage, calls are not connecting",
            Self::PartialNetworkOutage => "partial network outage, some operators cannot connect",
        }
    }
}

impl LineInfo {
    /// The connectivity block of one direction, when Exotel sent one.
    pub fn connectivity(&self, direction: Direction) -> Option<&Connectivity> {
        let key = match direction {
            Direction::Incoming => "incoming_call",
            Direction::Outgoing => "outgoing_call",
        };
        self.connectivity.as_ref()?.get(key)
    }

    /// How this direction fails, by Exotel's monitoring.
    pub fn outage(&self, direction: Direction) -> Option<Outage> {
        Outage::parse(self.connectivity(direction)?.status.as_deref()?)
    }

    /// When Exotel's monitoring last checked this direction (an unreadable time is none).
    pub fn last_check_time(&self, direction: Direction) -> Option<DateTime<Utc>> {
        crate::time_text::iso8601(self.connectivity(direction)?.last_check_time.as_deref()?)
    }

    /// Alternate ExoPhones Exotel suggests for this line and direction, when it offers any.
    pub fn alternates(&self, direction: Direction) -> Vec<String> {
        let Some(value) = self
            .connectivity(direction)
            .and_then(|c| c.alternate_exophone.as_ref())
        else {
            return Vec::new();
        };
        match value {
            serde_json::Value::String(s) => vec![s.clone()],
            serde_json::Value::Array(items) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// A number that is not E.164 does not make the heartbeat unreadable: the line is still
/// known by its SID, so an outage is still reported.
fn lenient_phone<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<E164>, D::Error> {
    let raw: Option<String> = Option::deserialize(d)?;
    Ok(raw.and_then(|r| E164::parse(r.trim()).ok()))
}
