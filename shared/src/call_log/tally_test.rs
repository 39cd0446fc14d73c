use super::*;
use crate::call_log::records::RecordError;

fn read(json: &str) -> Result<CallRecord<'_>, RecordError> {
    CallRecord::from_json(json)
}

#[test]
fn a_call_still_going_counts_in_the_total_as_pending_and_settles_once() {
    let text = r#"{"Sid":"c1","DateCreated":"2026-11-01 09:15:00","Status":"in-progress","Direction":"inbound","PhoneNumberSid":"08030752522"}"#;
    let going = Tally::of(&read(text).unwrap());
    assert!(!going.is_final());
    assert_eq!(going.markers(Count::First), ["c1#open"]);
    assert_eq!(
        going.fields(Count::First),
        (vec![("h09".into(), 1), ("pending".into(), 1)], true)
    );
    let done = text
        .replace("in-progress", "completed")
        .replace("}", r#","Duration":"42"}"#);
    let settled = Tally::of(&read(&done).unwrap());
    assert!(settled.is_final());
    assert_eq!(settled.markers(Count::First), ["c1", "c1#open"]);
    assert_eq!(settled.markers(Count::Settle), ["c1"]);
    assert_eq!(
        settled.fields(Count::Settle),
        (
            vec![
                ("answered".into(), 1),
                ("answered_seconds".into(), 42),
                ("pending".into(), -1)
            ],
            false
        ),
        "the total and the hour stay as counted"
    );
}

#[test]
fn a_record_whose_date_cannot_be_read_still_counts_in_no_hour() {
    let err = read(r#"{"Sid":"c2","DateCreated":"01/11/2026 09:15","Status":"busy","Direction":"outbound-api","PhoneNumberSid":"08030752522"}"#)
        .unwrap_err();
    let RecordError::DateCreated { text, call } = err else {
        panic!("a DateCreated error")
    };
    assert_eq!(text, "01/11/2026 09:15");
    let day = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    let tally = Tally::undated(&call, day);
    assert_eq!(tally.hour, None);
    assert_eq!(tally.fields(Count::First), (vec![("busy".into(), 1)], true));
    assert_eq!(
        tally.counter_keys().len(),
        3,
        "all, its direction, its ExoPhone"
    );
    assert_eq!(tally.markers(Count::First), ["c2", "c2#open"]);
}

#[test]
fn a_status_exotel_adds_later_is_final_and_counted_as_other() {
    let tally = Tally::of(
        &read(r#"{"Sid":"c3","DateCreated":"2026-11-01 23:59:59","Status":"canceled"}"#).unwrap(),
    );
    assert!(tally.is_final());
    assert_eq!(
        tally.fields(Count::First),
        (vec![("h23".into(), 1), ("other".into(), 1)], true)
    );
}
