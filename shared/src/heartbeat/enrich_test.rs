use super::*;
use crate::alert::{AlertKind, DedupKey, LineImpact, Severity};
use crate::exophone::{Direction, Outage};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn sid(s: &str) -> ExoPhoneSid {
    ExoPhoneSid::parse(s).unwrap()
}

fn line(s: &str, direction: Direction, change: LineChange) -> LineImpact {
    LineImpact {
        sid: sid(s),
        phone_number: None,
        direction,
        change,
        alternate_exophones: vec![],
        outage: None,
        last_check_time: None,
    }
}

/// A line the alert newly names: the only kind read from the details API.
fn newly(s: &str, direction: Direction) -> LineImpact {
    line(s, direction, LineChange::NewlyAffected)
}

fn fleet_alert(lines: Vec<LineImpact>) -> Alert {
    Alert {
        dedup_key: DedupKey::fleet(Source::ExotelHeartbeat),
        source: Source::ExotelHeartbeat,
        kind: AlertKind::FleetStatus,
        severity: Severity::Critical,
        status: "CRITICAL".into(),
        occurred_at: "2026-11-22T10:02:00Z".parse().unwrap(),
        lines,
        lines_omitted: 0,
        lines_affected: 1,
        outage_seconds: None,
        notes: vec![],
    }
}

/// One ExoPhone as Get ExoPhone Details answers it (the document's response, with an
/// outage on each direction and the alternates as a JSON array).
fn details_body(exophone: &str, incoming: &str, outgoing: &str) -> serde_json::Value {
    json!({
      "request_id": "0f403dff8d854ca08c570a94717aa7d9",
      "method": "GET",
      "http_code": 200,
      "metadata": {"page_size": 1, "page": 0},
      "response": [{
        "code": 200, "error_data": null, "status": "success",
        "data": {
          "sid": exophone,
          "date_created": "2018-08-22T12:22:49Z",
          "date_updated": "2018-08-24T11:25:49Z",
          "friendly_name": exophone,
          "account_sid": "acme1",
          "phone_number": "+911139585476",
          "capabilities": {"voice": true},
          "connectivity": {
            "incoming_call": {"status": incoming, "last_check_time": "2018-08-24T11:25:49Z",
                              "alternate_exophone": ["+911139585400", "+911139585401"]},
            "outgoing_call": {"status": outgoing, "last_check_time": "2018-08-24T11:20:00Z",
                              "alternate_exophone": null}
          }
        }
      }]
    })
}

fn read(body: serde_json::Value) -> Vec<ExoPhoneDetails> {
    crate::exotel::details::read_blocks(&body).unwrap().lines
}

#[test]
fn only_the_heartbeats_newly_affected_lines_are_looked_up_each_once_and_a_few() {
    let mut lines = vec![
        newly("01139585476", Direction::Incoming),
        newly("01139585476", Direction::Outgoing),
        line(
            "02222222222",
            Direction::Incoming,
            LineChange::StillAffected,
        ),
        line("03333333333", Direction::Incoming, LineChange::Recovered),
    ];
    for n in 0..10 {
        lines.push(line(
            &format!("0444444444{n}"),
            Direction::Incoming,
            LineChange::NewlyAffected,
        ));
    }
    let sids = lines_to_enrich(&fleet_alert(lines.clone()));
    assert_eq!(sids.len(), MAX_LINES_ENRICHED);
    assert_eq!(sids[0], sid("01139585476"));
    assert_eq!(sids[1], sid("04444444440"));

    let mut sms = fleet_alert(lines);
    sms.source = Source::Telerivet;
    assert!(lines_to_enrich(&sms).is_empty());
}

#[test]
fn each_direction_gets_its_outage_kind_last_check_and_alternates() {
    let alert = fleet_alert(vec![
        newly("01139585476", Direction::Incoming),
        newly("01139585476", Direction::Outgoing),
    ]);
    let details = read(details_body(
        "01139585476",
        "major_outage",
        "partial_network_outage",
    ));
    let enriched = with_details(&alert, &details).expect("the details add to the alert");
    let [incoming, outgoing] = &enriched.lines[..] else {
        panic!("two lines")
    };
    assert_eq!(incoming.outage, Some(Outage::MajorOutage));
    assert_eq!(
        incoming.last_check_time,
        Some("2018-08-24T11:25:49Z".parse().unwrap())
    );
    assert_eq!(
        incoming.alternate_exophones,
        ["+911139585400", "+911139585401"]
    );
    assert_eq!(
        incoming.phone_number.as_ref().unwrap().as_str(),
        "+911139585476"
    );
    assert_eq!(outgoing.outage, Some(Outage::PartialNetworkOutage));
    assert!(
        outgoing.alternate_exophones.is_empty(),
        "null: none offered"
    );
    assert_eq!(
        incoming.exotel_says().unwrap(),
        "major outage, calls are not connecting (checked 2018-08-24 11:25 UTC)"
    );
    let text = crate::notice::text_body(&enriched);
    assert!(
        text.contains("alternate: +911139585400, +911139585401"),
        "{text}"
    );
    assert!(text.contains("partial network outage"), "{text}");
}

#[test]
fn the_heartbeats_alternates_come_first_and_are_not_repeated() {
    let mut first = newly("01139585476", Direction::Incoming);
    first.alternate_exophones = vec!["+911139585401".into()];
    let alert = fleet_alert(vec![first]);
    let details = read(details_body("01139585476", "major_outage", "active"));
    let enriched = with_details(&alert, &details).unwrap();
    assert_eq!(
        enriched.lines[0].alternate_exophones,
        ["+911139585401", "+911139585400"]
    );
}

#[test]
fn details_of_other_lines_or_saying_nothing_new_change_nothing() {
    let alert = fleet_alert(vec![line(
        "01139585476",
        Direction::Incoming,
        LineChange::StillAffected,
    )]);
    let details = read(details_body("01139585476", "major_outage", "active"));
    assert_eq!(
        with_details(&alert, &details),
        None,
        "still affected: not read"
    );
    let other = read(details_body("09999999999", "major_outage", "active"));
    let newly = fleet_alert(vec![newly("01139585476", Direction::Incoming)]);
    assert_eq!(with_details(&newly, &other), None);
}

fn enricher(server: &MockServer, budget: u32) -> DetailsEnricher {
    DetailsEnricher::new(
        crate::exotel::client::tests::client_with(server, budget, 1),
        EnrichPolicy {
            deadline: Duration::from_millis(800),
            paused_for: Duration::from_secs(60),
        },
    )
}

const DETAILS: &str = "/v2/accounts/acme1/incoming-phone-numbers/01139585476";

/// An Exotel whose details API of the line answers `response`, `times` times.
async fn details_server(
    response: ResponseTemplate,
    times: impl Into<wiremock::Times>,
) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(DETAILS))
        .respond_with(response)
        .expect(times)
        .mount(&server)
        .await;
    server
}

/// The line's details: incoming in a major outage, outgoing active.
fn major_outage() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(details_body("01139585476", "major_outage", "active"))
}

#[tokio::test]
async fn an_alert_is_enriched_through_the_details_api() {
    let server = details_server(major_outage(), 1).await;
    let alert = fleet_alert(vec![newly("01139585476", Direction::Incoming)]);
    let enriched = enricher(&server, 10).enrich(&alert).await.unwrap();
    assert_eq!(enriched.lines[0].outage, Some(Outage::MajorOutage));
}

#[tokio::test]
async fn a_429_stops_the_reading_for_a_while_and_the_alert_goes_out_as_it_is() {
    let server = details_server(ResponseTemplate::new(429), 1).await;
    let enricher = enricher(&server, 10);
    let alert = fleet_alert(vec![newly("01139585476", Direction::Incoming)]);
    assert_eq!(enricher.enrich(&alert).await, None);
    let (found, why) = enricher.read(&[sid("01139585476")]).await;
    assert!(found.is_empty());
    assert_eq!(
        why,
        Some(Skipped::Paused),
        "no second request while throttled"
    );
}

#[tokio::test]
async fn a_slow_exotel_costs_the_alert_no_more_than_the_deadline() {
    let server = details_server(
        ResponseTemplate::new(200)
            .set_body_json(details_body("01139585476", "major_outage", "active"))
            .set_delay(Duration::from_secs(5)),
        ..,
    )
    .await;
    let enricher = enricher(&server, 10);
    let (found, why) = enricher.read(&[sid("01139585476")]).await;
    assert!(found.is_empty());
    assert_eq!(why, Some(Skipped::Deadline));
    let started = std::time::Instant::now();
    let (_, why) = enricher.read(&[sid("01139585476")]).await;
    assert_eq!(
        why,
        Some(Skipped::Paused),
        "the next alerts do not wait again"
    );
    assert!(started.elapsed() < Duration::from_millis(100));
}

#[tokio::test]
async fn an_exotel_that_fails_pauses_the_reading_too() {
    let server = details_server(ResponseTemplate::new(503), 1).await;
    let enricher = enricher(&server, 10);
    let (_, why) = enricher.read(&[sid("01139585476")]).await;
    assert_eq!(why, Some(Skipped::Failed("Exotel answered 503".into())));
    let (_, why) = enricher.read(&[sid("01139585476")]).await;
    assert_eq!(why, Some(Skipped::Paused));
}

#[test]
fn lines_already_told_by_the_details_and_statuses_of_unknown_meaning_add_nothing() {
    let mut told = newly("01139585476", Direction::Incoming);
    told.outage = Some(Outage::MajorOutage);
    assert!(lines_to_enrich(&fleet_alert(vec![told])).is_empty());

    let alert = fleet_alert(vec![newly("01139585476", Direction::Incoming)]);
    let details = read(details_body("01139585476", "degraded", "active"));
    assert_eq!(
        with_details(&alert, &details),
        None,
        "a word Exotel may add later: neither an outage nor active"
    );
}

#[tokio::test]
async fn the_budget_caps_the_requests_a_minute() {
    let server = details_server(major_outage(), 2).await;
    let enricher = enricher(&server, 2);
    let sids = [sid("01139585476"), sid("01139585476"), sid("01139585476")];
    let (found, why) = enricher.read(&sids).await;
    assert_eq!(found.len(), 2);
    assert_eq!(why, Some(Skipped::BudgetSpent));
    let (found, why) = enricher.read(&sids[..1]).await;
    assert!(found.is_empty(), "the same minute: still spent");
    assert_eq!(why, Some(Skipped::BudgetSpent));
}
