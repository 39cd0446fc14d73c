use super::*;
use serde_json::json;

fn line(
    sid: &str,
    incoming: &str,
    outgoing: &str,
    alternate: serde_json::Value,
) -> serde_json::Value {
    json!({"code": 200, "error_data": null, "status": "success", "data": {
        "sid": sid, "phone_number": format!("+91{sid}"), "friendly_name": sid, "number_type": "Landline",
        "connectivity": {
            "incoming_call": {"status": incoming, "last_check_time": "2026-11-20T10:00:00Z", "alternate_exophone": alternate},
            "outgoing_call": {"status": outgoing, "last_check_time": "2026-11-20T10:00:00Z", "alternate_exophone": null}
        }
    }})
}

#[test]
fn lines_are_read_with_their_health_and_alternates() {
    let body = json!({"request_id": "r1", "method": "GET", "http_code": 207,
    "metadata": {"page_size": 3, "page": 0},
    "response": [
        line("8030752522", "major_outage", "active", json!(["+918030752500"])),
        line("7930061010", "active", "partial_network_outage", json!(null)),
        {"code": 404, "status": "failure", "data": null,
         "error_data": {"code": 1000, "description": "Not Found", "message": "Not Found"}},
    ]});
    let read = read_blocks(&body).unwrap();
    assert_eq!(read.unreadable, 1);
    assert_eq!(read.lines.len(), 2);
    let first = &read.lines[0];
    assert_eq!(first.sid.as_str(), "8030752522");
    assert_eq!(
        first.info.phone_number.as_ref().unwrap().as_str(),
        "+918030752522"
    );
    assert_eq!(first.health(Direction::Incoming), LineHealth::Affected);
    assert_eq!(first.health(Direction::Outgoing), LineHealth::Active);
    assert_eq!(
        first.info.alternates(Direction::Incoming),
        vec!["+918030752500"]
    );
    assert_eq!(
        read.lines[1].health(Direction::Outgoing),
        LineHealth::Affected
    );
}

#[test]
fn a_status_exotel_adds_later_concludes_nothing() {
    let body = json!({"response": [line("8030752522", "degraded", "active", json!(null))]});
    let read = read_blocks(&body).unwrap();
    assert_eq!(
        read.lines[0].health(Direction::Incoming),
        LineHealth::Unknown
    );
    let no_block = json!({"response": [{"code": 200, "data": {"sid": "8030752522"}}]});
    assert_eq!(
        read_blocks(&no_block).unwrap().lines[0].health(Direction::Incoming),
        LineHealth::Unknown
    );
}

#[test]
fn a_body_without_a_response_array_is_not_a_details_answer() {
    assert!(read_blocks(&json!({"Calls": []})).is_none());
    let bad_sid = json!({"response": [{"code": 200, "data": {"sid": "../etc"}}]});
    assert_eq!(read_blocks(&bad_sid).unwrap().unreadable, 1);
}
