use super::*;
use chrono::TimeZone;
use proptest::prelude::*;

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
}

fn window() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap()
}

/// The strings stored before the keys were typed, each read back as its key and printed
/// again exactly.
#[test]
fn every_stored_form_is_read_and_printed_as_it_was() {
    let cases = [
        (
            "metrics:2026-11-22:all",
            CounterKey::CallLog {
                day: day(),
                bucket: CallLogBucket::All,
            },
        ),
        (
            "metrics:2026-11-22:direction:inbound",
            CounterKey::CallLog {
                day: day(),
                bucket: CallLogBucket::Direction("inbound".into()),
            },
        ),
        (
            "metrics:2026-11-22:exophone:08030752599",
            CounterKey::CallLog {
                day: day(),
                bucket: CallLogBucket::ExoPhone("08030752599".into()),
            },
        ),
        (
            "calls:voipstudio:+918030752599:2026-11-22",
            CounterKey::Calls {
                provider: "voipstudio".into(),
                line: CounterLine::Line("+918030752599".into()),
                day: day(),
            },
        ),
        (
            "calls:exotel:unknown-line:2026-11-22",
            CounterKey::Calls {
                provider: "exotel".into(),
                line: CounterLine::Unknown,
                day: day(),
            },
        ),
        (
            "calls:exotel:all:2026-11-22",
            CounterKey::Calls {
                provider: "exotel".into(),
                line: CounterLine::All,
                day: day(),
            },
        ),
        (
            "calls-agent:exotel-webrtc:agent_001:2026-11-22",
            CounterKey::CallAgent {
                provider: "exotel-webrtc".into(),
                agent: "agent_001".into(),
                day: day(),
            },
        ),
        (
            "telerivet:sms:PJ2ad8:2026-11-22",
            CounterKey::Sms {
                project: "PJ2ad8".into(),
                day: day(),
            },
        ),
        (
            "telerivet:sms-failures:PJ2ad8:2026-11-22T10:00:00+00:00",
            CounterKey::SmsFailures {
                project: "PJ2ad8".into(),
                window: window(),
            },
        ),
        (
            "telerivet:sms-sends:PJ2ad8:2026-11-22T10:00:00+00:00",
            CounterKey::SmsSends {
                project: "PJ2ad8".into(),
                window: window(),
            },
        ),
        (
            "telerivet:auth-failures:2026-11-22T10:00:00+00:00",
            CounterKey::AuthFailures { window: window() },
        ),
    ];
    // What a provider sent empty is kept empty, and read back.
    let empty = [
        (
            "metrics:2026-11-22:direction:",
            CounterKey::CallLog {
                day: day(),
                bucket: CallLogBucket::Direction(String::new()),
            },
        ),
        (
            "telerivet:sms::2026-11-22",
            CounterKey::Sms {
                project: String::new(),
                day: day(),
            },
        ),
        (
            "telerivet:sms-failures::2026-11-22T10:00:00+00:00",
            CounterKey::SmsFailures {
                project: String::new(),
                window: window(),
            },
        ),
    ];
    for (text, key) in cases.into_iter().chain(empty) {
        assert_eq!(text.parse::<CounterKey>(), Ok(key.clone()), "{text}");
        assert_eq!(key.to_string(), text);
    }
}

#[test]
fn a_day_is_written_yyyy_mm_dd_whatever_the_year() {
    let early = NaiveDate::from_ymd_opt(987, 1, 2).unwrap();
    let key = CounterKey::Sms {
        project: "P".into(),
        day: early,
    };
    assert_eq!(key.to_string(), "telerivet:sms:P:0987-01-02");
    assert_eq!(key.to_string().parse::<CounterKey>(), Ok(key));
}

#[test]
fn daily_counters_know_their_day_and_windows_have_none() {
    assert_eq!(
        CounterKey::Sms {
            project: "P".into(),
            day: day()
        }
        .day(),
        Some(day())
    );
    assert_eq!(CounterKey::AuthFailures { window: window() }.day(), None);
}

#[test]
fn other_text_is_no_counter_key() {
    for text in [
        "",
        "metrics:2026-11-22",
        "metrics:2026-13-01:all",
        "metrics:2026-11-22:hour:3",
        "calls:exotel:2026-11-22",
        "calls-agent:exotel-webrtc:2026-11-22",
        "telerivet:sms:2026-11-22",
        "telerivet:sms-failures:P:yesterday",
        "telerivet:auth-failures:",
        "unrecognised:foo",
    ] {
        assert!(text.parse::<CounterKey>().is_err(), "{text:?} was read");
    }
}

proptest! {
    /// Any key printed is read back as itself, whatever its free text holds.
    #[test]
    fn a_printed_key_reads_back(
        project in "[A-Za-z0-9:+_-]{0,20}",
        line in "[A-Za-z0-9:+_-]{0,20}",
        days in 0i64..4000,
        minutes in 0i64..5_000_000,
    ) {
        let day = day() - chrono::Duration::days(days);
        let window = window() - chrono::Duration::minutes(minutes);
        let line = match line.as_str() {
            "all" => CounterLine::All,
            "unknown-line" => CounterLine::Unknown,
            _ => CounterLine::Line(line),
        };
        for key in [
            CounterKey::Calls { provider: "voipstudio".into(), line: line.clone(), day },
            CounterKey::CallAgent { provider: "exotel-webrtc".into(), agent: project.clone(), day },
            CounterKey::Sms { project: project.clone(), day },
            CounterKey::SmsFailures { project: project.clone(), window },
            CounterKey::SmsSends { project: project.clone(), window },
            CounterKey::AuthFailures { window },
            CounterKey::CallLog { day, bucket: CallLogBucket::ExoPhone(project.clone()) },
        ] {
            prop_assert_eq!(key.to_string().parse::<CounterKey>(), Ok(key));
        }
    }
}

#[test]
fn every_stored_state_key_is_read_and_printed_as_it_was() {
    let cases = [
        ("exotel-heartbeat", StateKey::HeartbeatMonitor),
        ("heartbeat-watchdog", StateKey::HeartbeatWatchdog),
        ("call-log-aggregator", StateKey::CallLogCursor),
        ("call-log-aggregator:backfill", StateKey::CallLogBackfill),
        (
            "call-log-aggregator:missing-webhooks",
            StateKey::MissingWebhooks,
        ),
        (
            "call:voipstudio:a1b2:c3",
            StateKey::Call {
                provider: "voipstudio".into(),
                id: "a1b2:c3".into(),
            },
        ),
        (
            "callback:+919812345678",
            StateKey::Callback {
                customer: "+919812345678".into(),
            },
        ),
        (
            "telerivet:message:SM123",
            StateKey::Telerivet {
                object: TelerivetObject::Message,
                id: "SM123".into(),
            },
        ),
        (
            "telerivet:message-metadata:SM123",
            StateKey::Telerivet {
                object: TelerivetObject::MessageMetadata,
                id: "SM123".into(),
            },
        ),
        (
            "telerivet:contact:CT1",
            StateKey::Telerivet {
                object: TelerivetObject::Contact,
                id: "CT1".into(),
            },
        ),
        (
            "telerivet:broadcast:BC1",
            StateKey::Telerivet {
                object: TelerivetObject::Broadcast,
                id: "BC1".into(),
            },
        ),
        (
            "telerivet:phone:PN1",
            StateKey::Telerivet {
                object: TelerivetObject::Phone,
                id: "PN1".into(),
            },
        ),
    ];
    for (text, key) in cases {
        assert_eq!(text.parse::<StateKey>(), Ok(key.clone()), "{text}");
        assert_eq!(key.to_string(), text);
    }
    for text in [
        "",
        "test",
        "call:exotel",
        "telerivet:group:G1",
        "telerivet:contact",
    ] {
        assert!(text.parse::<StateKey>().is_err(), "{text:?} was read");
    }
}
