//! The functions that call Exotel, against the local Exotel (a real HTTP server serving the
//! recorded pages in `events/exotel/`, with a 429 and a 503 on the way) and the local stack:
//! the aggregator's metrics equal an independent count of what was served, and the
//! heartbeat watchdog learns a PAYLOAD_TOO_LARGE fleet's lines, with their alternates.

mod common;

use call_log_aggregator::{run, Deps as AggregatorDeps};
use chrono::{DateTime, NaiveDateTime, Utc};
use common::*;
use dialtone_local::exotel::{LocalExotel, Recordings, ACCOUNT_SID, API_KEY, API_TOKEN};
use dialtone_local::stack::Stack;
use dialtone_shared::call_log::alerts::AnswerRatePolicy;
use dialtone_shared::call_log::missing_webhooks::MissingWebhookPolicy;
use dialtone_shared::exotel::client::ExotelClient;
use dialtone_shared::store::DynamoStore;
use heartbeat_watchdog::{sweep_details, Deps as WatchdogDeps, DetailsSweep};
use serde_json::Value;

const PAYLOAD_TOO_LARGE: &str = include_str!("../../events/heartbeat-payload-too-large.json");

fn client(exotel: &LocalExotel) -> ExotelClient {
    exotel_client(exotel.uri(), ACCOUNT_SID, (API_KEY, API_TOKEN), 20, 3)
}

fn local(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
}

/// The aggregator against this stack and the local Exotel; the answer-rate alert is out of
/// reach (1 000 calls a day at least), so only the figures are compared.
fn aggregator_deps(
    stack: &Stack,
    exotel: &LocalExotel,
    first_lookback: chrono::Duration,
) -> AggregatorDeps<DynamoStore> {
    AggregatorDeps {
        client: client(exotel),
        store: DynamoStore::new(stack.dynamodb.clone(), &stack.table),
        tz: chrono_tz::Asia::Kolkata,
        overlap: chrono::Duration::hours(4),
        first_lookback,
        answer_rate: AnswerRatePolicy {
            below_percent: 10.0,
            min_calls: 1000,
        },
        missing_webhooks: MissingWebhookPolicy::default(),
    }
}

#[tokio::test]
async fn the_aggregator_counts_the_served_day_exactly_through_throttling() {
    let stack = stack("localexotel").await;
    let recordings = Recordings::recorded().unwrap();
    let exotel = LocalExotel::start(recordings.clone(), None).await;
    let deps = aggregator_deps(&stack, &exotel, chrono::Duration::days(2));
    // 02:00 on the 21st in Kolkata: the first run reads from 02:00 on the 19th.
    let now: DateTime<Utc> = "2026-11-20T20:30:00Z".parse().unwrap();
    let report = run(&deps, now).await.unwrap();

    let served =
        recordings.calls_between(local("2026-11-19 02:00:00"), local("2026-11-21 02:00:00"));
    let readable = served.iter().filter(|c| hour_of(c).is_some()).count();
    assert!(
        served.len() > 200,
        "three pages: the 429 and the 503 are on the way"
    );
    // Not a record as the API describes one: no Sid, or a text field neither text nor null.
    let text_or_null = |v: &Value| v.is_string() || v.is_null();
    let shapeless = served
        .iter()
        .filter(|c| {
            !c["Sid"].is_string()
                || ["DateCreated", "Status", "Direction", "PhoneNumberSid"]
                    .iter()
                    .any(|f| !text_or_null(&c[*f]))
        })
        .count();
    assert_eq!(
        report.unreadable.get("shape").copied().unwrap_or(0) as usize,
        shapeless
    );
    assert_eq!(
        report.counted as usize,
        served.len() - shapeless,
        "every record with a Sid counts, one with an unreadable date too"
    );
    assert_eq!(
        report.unreadable.values().sum::<u64>() as usize,
        served.len() - readable
    );

    let items = scan(&stack).await;
    assert_eq!(
        counted_figures(&items, "metrics:2026-11-20:all"),
        tutorial_figures(on_days(&served, &["2026-11-20"]))
    );

    let pages: Vec<Option<String>> = exotel
        .requests()
        .await
        .iter()
        .map(|r| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == "Page")
                .map(|(_, v)| v.into_owned())
        })
        .collect();
    let asked = |p: &str| pages.iter().filter(|q| q.as_deref() == Some(p)).count();
    assert_eq!(
        (asked("1"), asked("2")),
        (2, 2),
        "the 429 and the 503 were retried once each"
    );
}

#[tokio::test]
async fn a_payload_too_large_fleet_learns_its_lines_and_their_alternates() {
    let stack = stack("details").await;
    let exotel = LocalExotel::start(Recordings::recorded().unwrap(), None).await;
    let heartbeats = heartbeat_deps(&stack);
    let watchdog = WatchdogDeps {
        store: DynamoStore::new(stack.dynamodb.clone(), &stack.table),
        policy: dialtone_shared::heartbeat::watchdog::WatchdogPolicy {
            interval: chrono::Duration::minutes(5),
            grace: chrono::Duration::minutes(2),
        },
        details: Some(DetailsSweep {
            client: client(&exotel),
            refresh: chrono::Duration::minutes(5),
        }),
    };
    let now: DateTime<Utc> = "2026-11-01T10:07:00Z".parse().unwrap();
    assert_eq!(
        sweep_details(&watchdog, now).await.unwrap(),
        None,
        "no heartbeat yet: nothing to learn"
    );
    assert_eq!(exotel.requests().await.len(), 0);

    assert_eq!(send(&heartbeats, PAYLOAD_TOO_LARGE).await.0, 200);
    let report = sweep_details(&watchdog, now).await.unwrap().unwrap();
    assert_eq!(
        (report.pages, report.lines, report.alerts, report.complete),
        (1, 3, 2, true)
    );
    assert_eq!(exotel.requests().await.len(), 2, "the 429 was retried");
    assert_eq!(
        sweep_details(&watchdog, now + chrono::Duration::minutes(1))
            .await
            .unwrap(),
        None,
        "paced by the refresh interval"
    );

    let received = publish_pending(&stack).await;
    let lines: Vec<(String, String, String, Vec<String>)> = received
        .iter()
        .filter(|r| r.attributes["kind"] == "line_affected")
        .map(|r| {
            let line = &r.alert.lines[0];
            (
                line.sid.to_string(),
                line.direction.as_str().to_owned(),
                line.phone_number
                    .as_ref()
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_default(),
                line.alternate_exophones.clone(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            (
                "02248906300".into(),
                "outgoing".into(),
                "+912248906300".into(),
                vec![]
            ),
            (
                "07930061010".into(),
                "incoming".into(),
                "+917930061010".into(),
                vec!["+918030752522".to_owned()]
            ),
        ]
    );
}

#[tokio::test]
async fn a_backfill_counts_what_the_schedule_missed_and_can_be_repeated() {
    use call_log_aggregator::{backfill, AggregatorError, BackfillRange};
    let stack = stack("backfill").await;
    let recordings = Recordings {
        faults: false,
        ..Recordings::recorded().unwrap()
    };
    let exotel = LocalExotel::start(recordings.clone(), None).await;
    let deps = aggregator_deps(&stack, &exotel, chrono::Duration::hours(6));
    // 18:00 on the 19th in Kolkata: the schedule's first run reads only from noon.
    let now: DateTime<Utc> = "2026-11-19T12:30:00Z".parse().unwrap();
    let scheduled = run(&deps, now).await.unwrap();
    let day = |d: &str| d.parse::<chrono::NaiveDate>().unwrap();
    let range = BackfillRange {
        from: day("2026-11-19"),
        to: day("2026-11-19"),
    };
    let later = now + chrono::Duration::hours(8);
    let filled = backfill(&deps, range, later).await.unwrap();
    let served =
        recordings.calls_between(local("2026-11-19 00:00:00"), local("2026-11-19 23:59:59"));
    assert_eq!(
        filled.already_counted, scheduled.counted,
        "what the schedule counted is recognised"
    );
    let all = counter_json(&scan(&stack).await, "metrics:2026-11-19:all");
    let expected = tutorial_figures(on_days(&served, &["2026-11-19"]));
    assert_eq!(all["total"], expected["total"]);
    assert_eq!(all["answered_seconds"], expected["answered_seconds"]);

    let again = backfill(&deps, range, later).await.unwrap();
    assert_eq!(again.counted, 0, "a repeated backfill changes nothing");
    assert_eq!(
        counter_json(&scan(&stack).await, "metrics:2026-11-19:all")["total"],
        all["total"]
    );

    let reversed = BackfillRange {
        from: day("2026-11-19"),
        to: day("2026-11-18"),
    };
    let future = BackfillRange {
        from: day("2026-11-25"),
        to: day("2026-11-26"),
    };
    let ancient = BackfillRange {
        from: day("2025-01-01"),
        to: day("2025-01-31"),
    };
    for refused in [reversed, future, ancient] {
        assert!(
            matches!(
                backfill(&deps, refused, later).await,
                Err(AggregatorError::Backfill(_))
            ),
            "{refused:?}"
        );
    }
}

#[tokio::test]
async fn a_newly_affected_line_is_announced_with_exotels_details_of_it() {
    use dialtone_shared::exophone::Outage;
    use dialtone_shared::heartbeat::enrich::{DetailsEnricher, EnrichPolicy};
    let stack = stack("enrich").await;
    let exotel = LocalExotel::start(Recordings::recorded().unwrap(), None).await;
    let heartbeats = heartbeat_deps(&stack);
    // 07930061010: incoming failing, as the recorded details say too.
    assert_eq!(
        send(
            &heartbeats,
            include_str!("../../events/heartbeat-warning.json")
        )
        .await
        .0,
        200
    );
    assert_eq!(
        exotel.requests().await.len(),
        0,
        "the heartbeat is stored without waiting for Exotel"
    );
    let enricher = DetailsEnricher::new(
        exotel_client(exotel.uri(), ACCOUNT_SID, (API_KEY, API_TOKEN), 20, 1),
        EnrichPolicy::default(),
    );
    let received = publish_pending_through(&stack, enricher).await;
    let affected: Vec<_> = received
        .iter()
        .filter(|r| {
            r.alert
                .lines
                .iter()
                .any(|l| l.sid.as_str() == "07930061010")
        })
        .collect();
    assert_eq!(affected.len(), 1, "{received:?}");
    let line = &affected[0].alert.lines[0];
    assert_eq!(line.outage, Some(Outage::MajorOutage));
    assert_eq!(
        line.last_check_time,
        Some("2026-11-20T05:40:11Z".parse().unwrap())
    );
    assert_eq!(line.alternate_exophones, ["+918030752522"]);
    let asked: Vec<String> = exotel
        .requests()
        .await
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    assert_eq!(
        asked,
        [format!(
            "/v2/accounts/{ACCOUNT_SID}/incoming-phone-numbers/07930061010"
        )],
        "one request, for the newly affected line"
    );

    // Stored as sent: the dashboard shows what people were told.
    let items = scan(&stack).await;
    let rows = of_entity(&items, "alert");
    let stored: Vec<Value> = rows
        .iter()
        .map(|row| serde_dynamo::from_item::<_, Value>((*row).clone()).unwrap())
        .filter(|row| row["alert"]["lines"][0]["sid"] == "07930061010")
        .collect();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["alert"]["lines"][0]["outage"], "major_outage");
    assert!(stored[0]["published_at"].is_string());
}
