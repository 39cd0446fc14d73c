//! The heartbeat monitor's decision: a pure function of (stored state, heartbeat).

use super::model::{Heartbeat, HeartbeatStatus};
use crate::alert::{
    Alert, AlertKind, DedupKey, LineChange, LineImpact, Severity, Source, MAX_ALERT_LINES,
};
use crate::exophone::{Direction, ExoPhoneSid};
use crate::exotel::details::{ExoPhoneDetails, LineHealth};
use crate::phone::E164;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::{btree_map, BTreeMap};
use std::iter::Peekable;

const SOURCE: Source = Source::ExotelHeartbeat;

/// Within WARNING, more line changes than this in one heartbeat are one fleet alert, not a
/// storm (and the whole decision stays well inside one DynamoDB transaction's 100 items).
pub const MAX_LINE_ALERTS: usize = 20;

/// Noise control.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertPolicy {
    /// An outage that stays unchanged is announced again after this long.
    pub repeat_interval: Duration,
}

impl Default for AlertPolicy {
    fn default() -> Self {
        Self {
            repeat_interval: Duration::hours(4),
        }
    }
}

/// One affected line: since when each direction has been failing. Empty fields are not
/// written (a fleet's state lists every affected line, so each byte counts 20 000 times);
/// rows that have them, `null` or `[]`, read the same. The instants are chrono's RFC 3339
/// (`2026-11-01T10:00:00Z`), read with any offset.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<E164>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incoming_since: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outgoing_since: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alternate_exophones: Vec<String>,
}

impl LineState {
    fn since(&self, direction: Direction) -> Option<DateTime<Utc>> {
        match direction {
            Direction::Incoming => self.incoming_since,
            Direction::Outgoing => self.outgoing_since,
        }
    }

    fn set_since(&mut self, direction: Direction, at: DateTime<Utc>) {
        match direction {
            Direction::Incoming => self.incoming_since = Some(at),
            Direction::Outgoing => self.outgoing_since = Some(at),
        }
    }

    fn clear(&mut self, direction: Direction) {
        match direction {
            Direction::Incoming => self.incoming_since = None,
            Direction::Outgoing => self.outgoing_since = None,
        }
    }
}

/// What the monitor remembers between heartbeats: the newest heartbeat applied, the
/// fleet status, and only the lines that are affected.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitorState {
    pub last_heartbeat_at: DateTime<Utc>,
    pub status: HeartbeatStatus,
    #[serde(default)]
    pub lines: BTreeMap<ExoPhoneSid, LineState>,
    /// When the fleet last left OK; `None` while OK.
    #[serde(default)]
    pub outage_started_at: Option<DateTime<Utc>>,
    /// When an alert about the current outage was last emitted (for the repeat interval).
    #[serde(default)]
    pub last_notified_at: Option<DateTime<Utc>>,
    /// When the lines were last learned from the ExoPhone details API (PAYLOAD_TOO_LARGE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details_checked_at: Option<DateTime<Utc>>,
}

impl MonitorState {
    /// A PAYLOAD_TOO_LARGE heartbeat lists no lines: they are to be learned from the details
    /// API, at most once every `refresh`.
    pub fn needs_details(&self, now: DateTime<Utc>, refresh: Duration) -> bool {
        self.status == HeartbeatStatus::PayloadTooLarge
            && self.details_checked_at.is_none_or(|t| now - t >= refresh)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// Newer than anything stored: the state it leads to and the alerts that follow.
    Advance {
        state: MonitorState,
        alerts: Vec<Alert>,
    },
    /// Not newer than the newest heartbeat applied: it changes nothing.
    Stale { newest: DateTime<Utc> },
}

pub fn decide(prev: Option<&MonitorState>, hb: &Heartbeat, policy: &AlertPolicy) -> Decision {
    let at = hb.at_utc();
    if let Some(p) = prev {
        if at <= p.last_heartbeat_at {
            return Decision::Stale {
                newest: p.last_heartbeat_at,
            };
        }
    }
    let empty = BTreeMap::new();
    let prev_status = prev.map_or(HeartbeatStatus::Ok, |p| p.status);
    let prev_lines = prev.map_or(&empty, |p| &p.lines);
    let status = hb.status;

    let lines = match status {
        HeartbeatStatus::Ok => BTreeMap::new(),
        // The heartbeat cannot list the lines: keep what was known rather than guess.
        HeartbeatStatus::PayloadTooLarge => prev_lines.clone(),
        HeartbeatStatus::Warning | HeartbeatStatus::Critical => affected_lines(hb, prev_lines, at),
    };
    let outage_started_at = match status {
        HeartbeatStatus::Ok => None,
        _ => prev.and_then(|p| p.outage_started_at).or(Some(at)),
    };

    let alert = |kind, severity, listed| fleet_alert(kind, severity, status, at, listed);

    let mut alerts = Vec::new();
    // In a block of its own: `impacts` borrows `lines`, which the new state then takes.
    {
        let impacts = compare(prev_lines, &lines);
        match (prev_status, status) {
            (HeartbeatStatus::Ok, HeartbeatStatus::Ok) => {}
            (_, HeartbeatStatus::Ok) => {
                let mut resolved = alert(AlertKind::Resolved, Severity::Info, impacts);
                resolved.outage_seconds = prev
                    .and_then(|p| p.outage_started_at)
                    .map(|start| (at - start).num_seconds());
                alerts.push(resolved);
            }
            (prev_status, HeartbeatStatus::PayloadTooLarge) if prev_status != status => {
                alerts.push(alert(
                    AlertKind::PayloadTooLarge,
                    Severity::Warning,
                    impacts,
                ));
            }
            (prev_status, HeartbeatStatus::Warning | HeartbeatStatus::Critical)
                if prev_status != status =>
            {
                alerts.push(alert(AlertKind::FleetStatus, severity_of(status), impacts));
            }
            (HeartbeatStatus::Warning, HeartbeatStatus::Warning)
                if impacts
                    .clone()
                    .filter(|i| i.change != LineChange::StillAffected)
                    .count()
                    > MAX_LINE_ALERTS =>
            {
                alerts.push(alert(AlertKind::FleetStatus, Severity::Warning, impacts));
            }
            (HeartbeatStatus::Warning, HeartbeatStatus::Warning) => {
                alerts.extend(line_alerts(impacts, status, at));
            }
            // CRITICAL inhibits per-line noise: every line is down, the fleet alert said so.
            _ => {}
        }
    }

    let last_notified_at = prev.and_then(|p| p.last_notified_at);
    let repeat_due = last_notified_at.is_none_or(|t| at - t >= policy.repeat_interval);
    if alerts.is_empty() && status != HeartbeatStatus::Ok && repeat_due {
        alerts.push(alert(
            AlertKind::Reminder,
            severity_of(status),
            compare(&lines, &lines),
        ));
    }

    let state = MonitorState {
        last_heartbeat_at: at,
        status,
        lines,
        outage_started_at,
        details_checked_at: prev.and_then(|p| p.details_checked_at),
        last_notified_at: match status {
            HeartbeatStatus::Ok => None,
            _ if !alerts.is_empty() => Some(at),
            _ => last_notified_at,
        },
    };
    Decision::Advance { state, alerts }
}

/// The lines of a PAYLOAD_TOO_LARGE state, learned from the ExoPhone details API as of `at`:
/// the state they lead to and the line alerts that follow (carrying the alternate ExoPhones
/// Exotel offers). Lines the details do not mention, or mention with a status of unknown
/// meaning, keep what was known. `None` unless the state is PAYLOAD_TOO_LARGE: any other
/// heartbeat listed the lines itself, and is newer news than a details sweep.
pub fn apply_details(
    prev: &MonitorState,
    details: &[ExoPhoneDetails],
    at: DateTime<Utc>,
) -> Option<(MonitorState, Vec<Alert>)> {
    if prev.status != HeartbeatStatus::PayloadTooLarge {
        return None;
    }
    let mut lines = prev.lines.clone();
    for found in details {
        let mut line = lines.remove(&found.sid).unwrap_or_default();
        if found.info.phone_number.is_some() {
            line.phone_number = found.info.phone_number.clone();
        }
        let mut alternates = Vec::new();
        for direction in Direction::ALL {
            match found.health(direction) {
                LineHealth::Active => line.clear(direction),
                LineHealth::Affected => {
                    if line.since(direction).is_none() {
                        line.set_since(direction, at);
                    }
                    alternates.extend(found.info.alternates(direction));
                }
                LineHealth::Unknown => {}
            }
        }
        alternates.dedup();
        line.alternate_exophones = alternates;
        if line.incoming_since.is_some() || line.outgoing_since.is_some() {
            lines.insert(found.sid.clone(), line);
        }
    }
    let impacts = compare(&prev.lines, &lines);
    let status = HeartbeatStatus::PayloadTooLarge;
    let changes = impacts
        .clone()
        .filter(|i| i.change != LineChange::StillAffected)
        .count();
    let mut alerts = if changes > MAX_LINE_ALERTS {
        vec![fleet_alert(
            AlertKind::PayloadTooLarge,
            Severity::Warning,
            status,
            at,
            impacts,
        )]
    } else {
        line_alerts(impacts, status, at)
    };
    for alert in &mut alerts {
        if let Some(enriched) = super::enrich::with_details(alert, details) {
            *alert = enriched;
        }
        alert
            .notes
            .push("lines learned from Exotel's ExoPhone details API".into());
    }
    let state = MonitorState {
        lines,
        details_checked_at: Some(at),
        last_notified_at: if alerts.is_empty() {
            prev.last_notified_at
        } else {
            Some(at)
        },
        ..prev.clone()
    };
    Some((state, alerts))
}

/// One alert about the whole fleet, listing at most [`MAX_ALERT_LINES`] lines. `listed`
/// comes in line order (as [`compare`] gives it): only the lines listed are copied.
fn fleet_alert<'a>(
    kind: AlertKind,
    severity: Severity,
    status: HeartbeatStatus,
    at: DateTime<Utc>,
    listed: impl Iterator<Item = Impact<'a>>,
) -> Alert {
    let mut lines = Vec::new();
    let (mut total, mut lines_affected) = (0_usize, 0_usize);
    let mut last_affected = None;
    for impact in listed {
        total += 1;
        if impact.change != LineChange::Recovered && last_affected != Some(impact.sid) {
            lines_affected += 1;
            last_affected = Some(impact.sid);
        }
        if lines.len() < MAX_ALERT_LINES {
            lines.push(impact.to_line_impact());
        }
    }
    Alert {
        dedup_key: DedupKey::fleet(SOURCE),
        source: SOURCE,
        kind,
        severity,
        status: status.as_str().to_owned(),
        occurred_at: at,
        lines,
        lines_omitted: total.saturating_sub(MAX_ALERT_LINES),
        lines_affected,
        outage_seconds: None,
        notes: Vec::new(),
    }
}

/// One alert per line and direction that started failing or recovered.
fn line_alerts<'a>(
    impacts: impl Iterator<Item = Impact<'a>>,
    status: HeartbeatStatus,
    at: DateTime<Utc>,
) -> Vec<Alert> {
    impacts
        .filter(|i| i.change != LineChange::StillAffected)
        .map(|impact| {
            let (kind, severity) = match impact.change {
                LineChange::Recovered => (AlertKind::LineRecovered, Severity::Info),
                _ => (AlertKind::LineAffected, Severity::Warning),
            };
            Alert {
                dedup_key: DedupKey::line(SOURCE, impact.sid, impact.direction),
                ..fleet_alert(kind, severity, status, at, std::iter::once(impact))
            }
        })
        .collect()
}

fn severity_of(status: HeartbeatStatus) -> Severity {
    match status {
        HeartbeatStatus::Critical => Severity::Critical,
        HeartbeatStatus::Ok => Severity::Info,
        HeartbeatStatus::Warning | HeartbeatStatus::PayloadTooLarge => Severity::Warning,
    }
}

/// The lines the heartbeat lists as affected, keeping when each direction started failing.
/// Every map and set here is sorted by SID, so they are walked side by side, once: a
/// heartbeat can list tens of thousands of lines.
fn affected_lines(
    hb: &Heartbeat,
    prev: &BTreeMap<ExoPhoneSid, LineState>,
    at: DateTime<Utc>,
) -> BTreeMap<ExoPhoneSid, LineState> {
    let mut before_lines = prev.iter().peekable();
    let mut infos = hb.data.iter().peekable();
    let mut incoming = hb.incoming_affected.iter().peekable();
    let mut outgoing = hb.outgoing_affected.iter().peekable();
    let mut lines = Vec::new();
    for sid in hb.incoming_affected.union(&hb.outgoing_affected) {
        let before = seek(&mut before_lines, sid);
        let info = seek(&mut infos, sid);
        let mut line = LineState {
            phone_number: info
                .and_then(|i| i.phone_number.clone())
                .or_else(|| before.and_then(|b| b.phone_number.clone())),
            ..LineState::default()
        };
        let affected = [
            incoming.next_if(|s| *s == sid).is_some(),
            outgoing.next_if(|s| *s == sid).is_some(),
        ];
        for (direction, affected) in Direction::ALL.into_iter().zip(affected) {
            if !affected {
                continue;
            }
            line.set_since(
                direction,
                before.and_then(|b| b.since(direction)).unwrap_or(at),
            );
            if let Some(info) = info {
                for alt in info.alternates(direction) {
                    if !line.alternate_exophones.contains(&alt) {
                        line.alternate_exophones.push(alt);
                    }
                }
            }
        }
        lines.push((sid.clone(), line));
    }
    // In SID order already: the map is built in one pass.
    lines.into_iter().collect()
}

/// The value of `sid` in a map walked in SID order, moving past the SIDs before it.
fn seek<'a, V>(
    entries: &mut Peekable<btree_map::Iter<'a, ExoPhoneSid, V>>,
    sid: &ExoPhoneSid,
) -> Option<&'a V> {
    while entries.next_if(|(key, _)| *key < sid).is_some() {}
    entries
        .next_if(|(key, _)| *key == sid)
        .map(|(_, value)| value)
}

/// One (line, direction) affected before or now, and how it changed; borrowed from the
/// states, so that walking a fleet of unchanged lines copies nothing.
#[derive(Clone, Copy)]
struct Impact<'a> {
    sid: &'a ExoPhoneSid,
    /// The line as it is now, or as it was if it is no longer affected.
    line: &'a LineState,
    direction: Direction,
    change: LineChange,
}

impl Impact<'_> {
    fn to_line_impact(self) -> LineImpact {
        LineImpact {
            sid: self.sid.clone(),
            phone_number: self.line.phone_number.clone(),
            direction: self.direction,
            change: self.change,
            alternate_exophones: match self.change {
                LineChange::Recovered => Vec::new(),
                _ => self.line.alternate_exophones.clone(),
            },
            outage: None,
            last_check_time: None,
        }
    }
}

/// Every (line, direction) affected before or now, and how it changed, in line order.
fn compare<'a>(
    before: &'a BTreeMap<ExoPhoneSid, LineState>,
    now: &'a BTreeMap<ExoPhoneSid, LineState>,
) -> impl Iterator<Item = Impact<'a>> + Clone {
    Union {
        before: before.iter().peekable(),
        now: now.iter().peekable(),
    }
    .flat_map(|(sid, b, n)| {
        Direction::ALL.into_iter().filter_map(move |direction| {
            let was = b.and_then(|l| l.since(direction)).is_some();
            let is = n.and_then(|l| l.since(direction)).is_some();
            let change = match (was, is) {
                (false, true) => LineChange::NewlyAffected,
                (true, true) => LineChange::StillAffected,
                (true, false) => LineChange::Recovered,
                (false, false) => return None,
            };
            Some(Impact {
                sid,
                line: n.or(b)?,
                direction,
                change,
            })
        })
    })
}

/// The SIDs of two maps in order, each once, with its value in either.
#[derive(Clone)]
struct Union<'a> {
    before: Peekable<btree_map::Iter<'a, ExoPhoneSid, LineState>>,
    now: Peekable<btree_map::Iter<'a, ExoPhoneSid, LineState>>,
}

impl<'a> Iterator for Union<'a> {
    type Item = (
        &'a ExoPhoneSid,
        Option<&'a LineState>,
        Option<&'a LineState>,
    );

    fn next(&mut self) -> Option<Self::Item> {
        let order = match (self.before.peek(), self.now.peek()) {
            (None, None) => return None,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some((b, _)), Some((n, _))) => b.cmp(n),
        };
        Some(match order {
            Ordering::Less => {
                let (sid, b) = self.before.next()?;
                (sid, Some(b), None)
            }
            Ordering::Greater => {
                let (sid, n) = self.now.next()?;
                (sid, None, Some(n))
            }
            Ordering::Equal => {
                let (sid, b) = self.before.next()?;
                let (_, n) = self.now.next()?;
                (sid, Some(b), Some(n))
            }
        })
    }
}

#[cfg(test)]
#[path = "decide_test.rs"]
mod tests;
