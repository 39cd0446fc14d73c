use super::*;
use serde_json::json;

/// The reader the derived one was: the rows written before must read the same.
#[derive(Debug, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Derived {
    Monitor(MonitorState),
    Watchdog(WatchdogState),
}

impl From<Derived> for HeartbeatRow {
    fn from(row: Derived) -> Self {
        match row {
            Derived::Monitor(m) => Self::Monitor(m),
            Derived::Watchdog(w) => Self::Watchdog(w),
        }
    }
}

fn both(row: serde_json::Value) -> (Result<HeartbeatRow, String>, Result<HeartbeatRow, String>) {
    (
        serde_json::from_value::<HeartbeatRow>(row.clone()).map_err(|e| e.to_string()),
        serde_json::from_value::<Derived>(row)
            .map(HeartbeatRow::from)
            .map_err(|e| e.to_string()),
    )
}

#[test]
fn rows_read_as_the_derived_reader_read_them() {
    let monitor = json!({
        "kind": "monitor",
        "last_heartbeat_at": "2026-11-01T10:00:00Z",
        "status": "WARNING",
        "lines": {
            "07930000000": {
                "phone_number": "+917930000000",
                "incoming_since": "2026-11-01T09:00:00+05:30",
                "outgoing_since": null,
                "alternate_exophones": ["+918030752599"]
            },
            "07930000001": {"incoming_since": "2026-11-01T10:00:00Z"}
        },
        "outage_started_at": "2026-11-01T09:00:00Z",
        "last_notified_at": null,
        "details_checked_at": "2026-11-01T09:30:00Z",
        "added_later": {"nested": [1, 2]}
    });
    let (read, derived) = both(monitor.clone());
    assert!(matches!(read, Ok(HeartbeatRow::Monitor(_))), "{read:?}");
    assert_eq!(read, derived);

    let mut minimal = monitor;
    for field in [
        "lines",
        "outage_started_at",
        "last_notified_at",
        "details_checked_at",
    ] {
        if let Some(fields) = minimal.as_object_mut() {
            fields.remove(field);
        }
    }
    let (read, derived) = both(minimal);
    assert!(read.is_ok());
    assert_eq!(read, derived);

    for row in [
        json!({"kind": "watchdog", "silence": "LATE", "last_heard": "2026-11-01T10:00:00Z"}),
        json!({"kind": "watchdog", "silence": "HEARD"}),
    ] {
        let (read, derived) = both(row);
        assert!(matches!(read, Ok(HeartbeatRow::Watchdog(_))), "{read:?}");
        assert_eq!(read, derived);
    }
}

#[test]
fn what_the_derived_reader_refused_is_refused() {
    for row in [
        json!({"last_heartbeat_at": "2026-11-01T10:00:00Z", "status": "OK"}),
        json!({"kind": "gauge", "status": "OK"}),
        json!({"kind": "monitor", "status": "OK"}),
        json!({"kind": "monitor", "last_heartbeat_at": "yesterday", "status": "OK"}),
        json!({"kind": "monitor", "last_heartbeat_at": "2026-11-01T10:00:00Z", "status": "FINE"}),
        json!({"kind": "monitor", "last_heartbeat_at": "2026-11-01T10:00:00Z", "status": "OK",
               "lines": {"bad sid": {}}}),
        json!({"kind": "watchdog"}),
        json!(["monitor"]),
    ] {
        let (read, derived) = both(row.clone());
        assert!(
            read.is_err() && derived.is_err(),
            "{row}: {read:?} / {derived:?}"
        );
    }
}

#[test]
fn a_written_row_reads_back() {
    let row = HeartbeatRow::Watchdog(WatchdogState {
        silence: Silence::Down,
        last_heard: None,
    });
    let written = serde_json::to_value(&row).unwrap();
    assert_eq!(written["kind"], "watchdog");
    assert_eq!(
        serde_json::from_value::<HeartbeatRow>(written).unwrap(),
        row
    );
}

#[test]
fn empty_line_fields_are_not_written_and_old_rows_with_them_still_read() {
    let line = LineState {
        incoming_since: Some("2026-11-01T10:00:00Z".parse().unwrap()),
        ..LineState::default()
    };
    let written = serde_json::to_value(&line).unwrap();
    assert_eq!(written, json!({"incoming_since": "2026-11-01T10:00:00Z"}));
    let old = json!({
        "phone_number": null,
        "incoming_since": "2026-11-01T10:00:00Z",
        "outgoing_since": null,
        "alternate_exophones": []
    });
    assert_eq!(serde_json::from_value::<LineState>(old).unwrap(), line);
    assert_eq!(serde_json::from_value::<LineState>(written).unwrap(), line);
}
