//! The dashboard against the local stack, seeded by the other functions (a WARNING
//! heartbeat, Telerivet deliveries, VoIPstudio calls, an aggregator run against the local
//! Exotel): every endpoint, its figures against an independent count, and the 400s.

mod common;

use call_log_aggregator::{run, Deps as AggregatorDeps};
use chrono::{Duration, Utc};
use common::*;
use dashboard::{handler, Deps as DashboardDeps, COOKIE_NAME};
use dialtone_local::exotel::{LocalExotel, Recordings, ACCOUNT_SID, API_KEY, API_TOKEN};
use dialtone_shared::call_log::alerts::AnswerRatePolicy;
use dialtone_shared::call_log::missing_webhooks::MissingWebhookPolicy;
use dialtone_shared::calls::receiver::Voipstudio;
use dialtone_shared::store::DynamoStore;
use serde_json::{json, Value};

const API: &str = include_str!("../../events/dashboard-api.json");
const RANGE: &str = include_str!("../../events/dashboard-range.json");
const HEALTH: &str = include_str!("../../events/dashboard-health.json");
const SIGN_IN: &str = include_str!("../../events/dashboard-signin.json");
const PAGE: &str = include_str!("../../events/dashboard-page.json");
const WARNING: &str = include_str!("../../events/heartbeat-warning.json");
const INCOMING: &str = include_str!("../../events/telerivet-incoming-message.json");
const NOT_DELIVERED: &str = include_str!("../../events/telerivet-send-status-not-delivered.json");
const CALLS: [&str; 4] = [
    include_str!("../../events/voipstudio-missed-initial.json"),
    include_str!("../../events/voipstudio-missed-ringing.json"),
    include_str!("../../events/voipstudio-call-missed.json"),
    include_str!("../../events/voipstudio-queue-missed.json"),
];

async fn get(deps: &DashboardDeps<DynamoStore>, envelope: &str) -> (u16, String) {
    let response = handler(deps, request(envelope))
        .await
        .expect("handler answers");
    let body = match response.body() {
        lambda_http::Body::Text(t) => t.clone(),
        other => panic!("unexpected body {other:?}"),
    };
    (response.status().as_u16(), body)
}

async fn get_json(deps: &DashboardDeps<DynamoStore>, envelope: &str) -> (u16, Value) {
    let (status, body) = get(deps, envelope).await;
    (status, serde_json::from_str(&body).expect("JSON"))
}

fn range(start: &str, end: &str) -> String {
    RANGE
        .replace(
            "\"start\": \"2026-11-01\"",
            &format!("\"start\": \"{start}\""),
        )
        .replace("\"end\": \"2026-11-21\"", &format!("\"end\": \"{end}\""))
        .replace(
            "start=2026-11-01&end=2026-11-21",
            &format!("start={start}&end={end}"),
        )
}

/// The tutorial's `/api/dashboard` metrics of `day`: its aggregate, formatted as its step
/// 4 does (`peakHour` is `null` in an hourless day, where the tutorial would say `"0:00"`).
fn tutorial(served: &[Value], day: &str) -> Value {
    let raw = tutorial_raw(served, &[day]);
    let hours: u64 = raw["hourlyDistribution"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_u64().unwrap())
        .sum();
    json!({
        "totalCalls": raw["total"], "answered": raw["answered"], "missed": raw["missed"],
        "busy": raw["busy"], "failed": raw["failed"],
        "answerRate": format!("{}%", raw["answerRate"].as_str().unwrap()),
        "avgDuration": raw["avgDurationFormatted"],
        "peakHour": if hours == 0 { Value::Null } else { json!(format!("{}:00", raw["peakHour"])) },
        "hourlyDistribution": raw["hourlyDistribution"],
    })
}

/// The tutorial's `aggregateCallMetrics` over the served records of `days`, written out
/// here (its `answerRate` rounding is checked against Node's in the metrics' unit test).
fn tutorial_raw(served: &[Value], days: &[&str]) -> Value {
    let calls = on_days(served, days);
    let count = |s: &str| calls.iter().filter(|c| c["Status"] == s).count() as u64;
    let mut hourly = [0u64; 24];
    let mut total_duration = 0;
    for c in &calls {
        if let Some(hour) = hour_of(c) {
            hourly[hour] += 1;
        }
        if c["Status"] == "completed" {
            total_duration += match &c["Duration"] {
                Value::String(s) => s.parse::<u64>().unwrap(),
                Value::Number(n) => n.as_u64().unwrap(),
                _ => 0,
            };
        }
    }
    let answered = count("completed");
    let average = if answered > 0 {
        (total_duration as f64 / answered as f64).round() as u64
    } else {
        0
    };
    let max = *hourly.iter().max().unwrap();
    let rate = dialtone_shared::call_log::metrics::Metrics {
        total: calls.len() as u64,
        answered,
        ..Default::default()
    }
    .answer_rate_text();
    json!({
        "total": calls.len(), "answered": answered, "missed": count("no-answer"),
        "busy": count("busy"), "failed": count("failed"), "totalDuration": total_duration,
        "hourlyDistribution": hourly, "answerRate": rate, "avgDurationSeconds": average,
        "avgDurationFormatted": format!("{}m {}s", average / 60, average % 60),
        "peakHour": hourly.iter().position(|n| *n == max).unwrap(),
    })
}

#[tokio::test]
async fn the_dashboard_shows_what_the_other_functions_stored() {
    let stack = stack("dashboard").await;
    // A heartbeat of a minute ago: open alerts are looked for among the last month's.
    let heard = (Utc::now() - Duration::minutes(1))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let warning = WARNING.replace("2026-11-01T10:01:00Z", &heard);
    assert_eq!(send(&heartbeat_deps(&stack), &warning).await.0, 200);
    let telerivet = telerivet_deps(&stack, None);
    for envelope in [INCOMING, NOT_DELIVERED] {
        assert_eq!(send_telerivet(&telerivet, request(envelope)).await.0, 200);
    }
    let calls = call_deps::<Voipstudio>(&stack, VOIPSTUDIO_TOKEN);
    for envelope in CALLS {
        assert_eq!(send_call(&calls, envelope).await.0, 200);
    }
    let recordings = Recordings {
        faults: false,
        ..Recordings::recorded().unwrap()
    };
    let exotel = LocalExotel::start(recordings.clone(), None).await;
    let tz = chrono_tz::Asia::Kolkata;
    let aggregator = AggregatorDeps {
        client: exotel_client(exotel.uri(), ACCOUNT_SID, (API_KEY, API_TOKEN), 50, 2),
        store: DynamoStore::new(stack.dynamodb.clone(), &stack.table),
        tz,
        overlap: Duration::hours(4),
        first_lookback: Duration::days(1),
        answer_rate: AnswerRatePolicy {
            below_percent: 10.0,
            min_calls: 100_000,
        },
        missing_webhooks: MissingWebhookPolicy::default(),
    };
    let now = Utc::now();
    run(&aggregator, now).await.unwrap();
    let now_local = now.with_timezone(&tz).naive_local();
    let served = recordings.calls_between(now_local - Duration::days(1), now_local);
    let today = now_local.date().to_string();
    let yesterday = (now_local.date() - Duration::days(1)).to_string();

    let deps = dashboard_deps(&stack, tz);
    let (status, view) = get_json(&deps, API).await;
    assert_eq!(status, 200);
    assert_eq!(
        view["metrics"],
        tutorial(&served, &today),
        "today's calls, as the tutorial counts them"
    );
    assert_eq!(view["day"], today);
    assert_eq!(view["health"]["status"], "WARNING");
    assert_eq!(view["health"]["details"][0]["sid"], "07930061010");
    assert_eq!(view["health"]["details"][0]["incoming"], "affected");
    assert!(view["generatedAt"].is_string());
    assert_eq!(
        view["health"]["lastUpdated"]
            .as_str()
            .map(|t| t.starts_with(&heard[..19])),
        Some(true)
    );
    let directions: u64 = view["byDirection"]
        .as_object()
        .unwrap()
        .values()
        .map(|m| m["totalCalls"].as_u64().unwrap())
        .sum();
    assert_eq!(directions, view["metrics"]["totalCalls"].as_u64().unwrap());
    assert_eq!(view["sms"]["totals"]["not_delivered"], 1);
    assert_eq!(view["sms"]["totals"]["incoming"], 1);
    let owed: Vec<(&str, u64)> = view["callbacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["customer"].as_str().unwrap(),
                c["missedCalls"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        owed,
        [("+919876500011", 1), ("+919876500022", 1)],
        "longest waiting first"
    );
    let open: Vec<&str> = view["openAlerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert_eq!(open, ["fleet_status"]);

    let (status, mut health) = get_json(&deps, HEALTH).await;
    let mut shown = view["health"].clone();
    // Read a moment apart: the heartbeat's age may differ by a second.
    for h in [&mut health, &mut shown] {
        h.as_object_mut().unwrap().remove("lastHeartbeatAgeSeconds");
    }
    assert_eq!((status, health), (200, shown));

    let (status, two_days) = get_json(&deps, &range(&yesterday, &today)).await;
    assert_eq!(status, 200);
    let mut expected = tutorial(&served, &today);
    let before = tutorial(&served, &yesterday);
    for field in ["totalCalls", "answered", "missed", "busy", "failed"] {
        expected[field] =
            json!(expected[field].as_u64().unwrap() + before[field].as_u64().unwrap());
    }
    for field in ["answered", "missed", "busy", "failed"] {
        assert_eq!(two_days["metrics"][field], expected[field], "{field}");
    }
    assert_eq!(two_days["metrics"]["total"], expected["totalCalls"]);
    // The tutorial's own shape for a range: its raw aggregate, field for field.
    let raw = tutorial_raw(&served, &[&yesterday, &today]);
    assert_eq!(two_days["metrics"], raw, "the tutorial's range metrics");
    assert!(two_days["generatedAt"].is_string());
    let per_line: u64 = two_days["byExoPhone"]
        .as_object()
        .unwrap()
        .values()
        .map(|m| m["total"].as_u64().unwrap())
        .sum();
    assert!(per_line > 0 && per_line <= raw["total"].as_u64().unwrap());
    let as_of: chrono::DateTime<Utc> = two_days["dataAsOf"]
        .as_str()
        .expect("the aggregator has read")
        .parse()
        .unwrap();
    assert!(as_of <= Utc::now() + Duration::seconds(1));
    assert_eq!(
        view["dataAsOf"], two_days["dataAsOf"],
        "the day's view says it too"
    );

    let (status, page) = get(&deps, API.replace("/api/dashboard", "/").as_str()).await;
    assert_eq!(status, 200);
    assert!(page.contains(&format!(
        "<span data-figure=\"/metrics/totalCalls\">{}</span>",
        view["metrics"]["totalCalls"]
    )));
    assert!(page.contains("data-hour=\"23\""));
    assert!(!page.contains("<script"), "no script on the page");

    // A person: the form, then the page by the session cookie alone, then out again.
    let response = handler(&deps, request(SIGN_IN))
        .await
        .expect("handler answers");
    assert_eq!(response.status(), 303);
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    let session = cookie
        .strip_prefix(&format!("{COOKIE_NAME}="))
        .and_then(|rest| rest.split(';').next())
        .expect("the session cookie");
    let (status, by_cookie) = get(&deps, &PAGE.replace("SESSION", session)).await;
    assert_eq!(status, 200);
    assert!(by_cookie.contains(&format!(
        "<span data-figure=\"/metrics/totalCalls\">{}</span>",
        view["metrics"]["totalCalls"]
    )));
    assert!(by_cookie.contains("action=\"signout\"") && by_cookie.contains("action=\"share\""));
    let wrong = SIGN_IN.replace("token=local", "token=xlocal");
    let (status, form) = get(&deps, &wrong).await;
    assert_eq!(status, 401);
    assert!(form.contains("not the dashboard token"));
    let signout = SIGN_IN
        .replace("/signin", "/signout")
        .replace("token=local-dashboard-token-0123456789", "");
    let response = handler(&deps, request(&signout))
        .await
        .expect("handler answers");
    assert_eq!(response.status(), 303);
    assert!(response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .starts_with(&format!("{COOKIE_NAME}=; Path=/; Max-Age=0;")));
}

#[tokio::test]
async fn bad_ranges_are_400s_that_say_what_is_wrong() {
    let stack = stack("dashrange").await;
    let deps = dashboard_deps(&stack, chrono_tz::Asia::Kolkata);
    let today = Utc::now()
        .with_timezone(&chrono_tz::Asia::Kolkata)
        .date_naive();
    let day = |d: i64| (today + Duration::days(d)).to_string();
    let missing = RANGE
        .replace("\"end\": \"2026-11-21\"", "\"other\": \"x\"")
        .replace("&end=2026-11-21", "");
    let cases = [
        (missing, "start and end are required".to_owned()),
        (
            range("2026-11-1", &day(0)),
            "\\\"2026-11-1\\\" is not a date".to_owned(),
        ),
        (
            range("yesterday", &day(0)),
            "\\\"yesterday\\\" is not a date".to_owned(),
        ),
        (
            range(&day(0), &day(-3)),
            format!("start {} is after end {}", day(0), day(-3)),
        ),
        (
            range(&day(0), &day(1)),
            format!("{} is after today", day(1)),
        ),
        (
            range(&day(-500), &day(-480)),
            "older than the 400 days of stored metrics".to_owned(),
        ),
        (
            range(&day(-100), &day(0)),
            "at most 93 days per request".to_owned(),
        ),
    ];
    for (envelope, reason) in cases {
        let (status, body) = get(&deps, &envelope).await;
        assert_eq!(status, 400, "{body}");
        assert!(body.contains(&reason), "{body} should say {reason}");
    }
    let (status, empty) = get_json(&deps, &range(&day(-2), &day(0))).await;
    assert_eq!(
        (
            status,
            &empty["metrics"]["total"],
            &empty["metrics"]["peakHour"],
            &empty["metrics"]["answerRate"]
        ),
        (200, &json!(0), &json!(0), &json!("0.0")),
        "no calls: the tutorial's zeros"
    );
}
