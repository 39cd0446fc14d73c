use super::super::parse_page;
use super::*;
use proptest::prelude::*;

const RECORDED_DAY: &str = include_str!("../../../events/exotel/calls-recorded-day.json");

/// The scan's contract: a page it reads, serde_json reads the same.
fn agrees(text: &str) -> Option<PageRecords<'_>> {
    let scanned = scan_page(text)?;
    match parse_page(text) {
        Ok(parsed) => assert_eq!(scanned, parsed, "{text}"),
        Err(e) => panic!("the scan read a page serde_json refuses ({e}): {text}"),
    }
    Some(scanned)
}

#[test]
fn reads_the_recorded_day_as_serde_json_does() {
    let page = agrees(RECORDED_DAY).expect("a page as Exotel writes it is scanned");
    assert!(page.calls.len() > 50);
}

#[test]
fn reads_pages_exotel_could_write_and_agrees() {
    for page in [
        r#"{"Calls":[]}"#,
        r#" { "Metadata" : null , "Calls" : [ ] } "#,
        r#"{"Metadata":{"NextPageUri":null,"Total":12},"Calls":[]}"#,
        r#"{"Metadata":{"NextPageUri":"  "},"Calls":[]}"#,
        r#"{"Metadata":{"NextPageUri":"/v1/Accounts/a/Calls.json?Page=2"},"Calls":[{}]}"#,
        "{\"Calls\":[{\"Sid\":\"a\",\"DateCreated\":\"2026-11-01 09:15:00\"}\r\n,\t{\"Sid\":\"b\"}]}",
        r#"{"Calls":[{"Sid":"a","DateCreated":" 2026-11-01 09:15:00 ","Duration":"61","Status":"completed"}]}"#,
        r#"{"Calls":[{"Sid":"a","DateCreated":"2026-11-01 09:15:00","Duration":61.9e0}]}"#,
        r#"{"Calls":[{"Sid":"a","DateCreated":"2026-11-01 09:15:00","Duration":-0.5E-3}]}"#,
        r#"{"Calls":[{"Sid":"a","DateCreated":"2026-11-01 09:15:00","Duration":"\u0036\u0031"}]}"#,
        r#"{"Calls":[{"Sid":"a","DateCreated":"2026-11-01 09:15:00","Duration":1e400}]}"#,
        r#"{"Calls":[{"Sid":"a","DateCreated":"2026-11-01 09:15:00","Duration":{"a":[true]}}]}"#,
        r#"{"Calls":[{"Sid":"a","DateCreated":"2026-11-01","Status":null,"Direction":null}]}"#,
        r#"{"Calls":[{"Sid":null,"DateCreated":"2026-11-01 09:15:00"}]}"#,
        r#"{"Calls":[{"Uri":"\/v1\/x \"q\" \ud800","Price":[[],{},[{"k":[-0,1.5,2e+9]}]],"x":false}]}"#,
        r#"{"Extra":{"\u00e9":"é"},"Calls":[{"Sid":"é→☎","DateCreated":"2026-11-01 09:15:00"}]}"#,
    ] {
        assert!(agrees(page).is_some(), "not scanned: {page}");
    }
}

#[test]
fn leaves_to_serde_json_what_is_not_plain() {
    for page in [
        // Escapes where serde_json would decode them.
        r#"{"Calls":[{"Sid":"g\u006fod","DateCreated":"2026-11-01 09:15:00"}]}"#,
        r#"{"Calls":[{"S\u0069d":"a"}]}"#,
        r#"{"C\u0061lls":[]}"#,
        r#"{"Metadata":{"NextPageUri":"\/v1"},"Calls":[]}"#,
        // Records serde_json judges one by one.
        r#"{"Calls":[17,{"Sid":"a"}]}"#,
        r#"{"Calls":[{"Sid":42}]}"#,
        r#"{"Calls":[{"Sid":"a","Sid":"a"}]}"#,
        r#"{"Calls":[{"Sid":"a","Duration":1,"Duration":2}]}"#,
        r#"{"Calls":[{"Sid":"a","Status":["completed"]}]}"#,
        // Pages serde_json refuses or reads otherwise.
        r#"{"Calls":[],"Calls":[]}"#,
        r#"{"Metadata":[],"Calls":[]}"#,
        r#"{"Metadata":{"NextPageUri":7},"Calls":[]}"#,
        r#"{"Metadata":{}}"#,
        r#"[[]]"#,
        r#"{"Calls":{}}"#,
        r#"{"Calls":[],}"#,
        r#"{"Calls":[{"Sid":"a",}]}"#,
        r#"{"Calls":[]} x"#,
        r#"{"Calls":[{"Sid":"a","x":01}]}"#,
        r#"{"Calls":[{"Sid":"a","x":1.}]}"#,
        r#"{"Calls":[{"Sid":"a","x":-}]}"#,
        r#"{"Calls":[{"Sid":"a","x":1e}]}"#,
        r#"{"Calls":[{"Sid":"a","x":nul}]}"#,
        r#"{"Calls":[{"Sid":"a","x":"\q"}]}"#,
        r#"{"Calls":[{"Sid":"a","x":"\u12"}]}"#,
        "{\"Calls\":[{\"Sid\":\"a\u{1}\"}]}",
        "{\"Calls\":[{\"Sid\":\"a\",\"x\":\"tab\there\"}]}",
        r#"{"Calls":[{"Sid":"a""#,
        "",
    ] {
        assert!(scan_page(page).is_none(), "scanned: {page}");
    }
    let nested = |depth: usize| {
        format!(
            r#"{{"Calls":[{{"x":{}1{}}}]}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        )
    };
    assert!(scan_page(&nested(MAX_DEPTH + 1)).is_none());
    assert!(agrees(&nested(MAX_DEPTH)).is_some());
}

#[test]
fn finds_the_first_special_byte_in_every_position() {
    for len in 0..20 {
        for at in 0..=len {
            for special_byte in [b'"', b'\\', 0x00, 0x1f] {
                let mut bytes = vec![b'a'; len];
                // Bytes above ASCII and just above the controls never count.
                bytes.iter_mut().step_by(3).for_each(|b| *b = 0xe2);
                bytes.iter_mut().skip(1).step_by(5).for_each(|b| *b = 0x20);
                if at < len {
                    bytes[at] = special_byte;
                }
                assert_eq!(special(&bytes, 0), at, "{bytes:?}");
                assert_eq!(special(&bytes, at.min(len)), at);
            }
        }
    }
}

/// A JSON value of any kind, as text: plain, escaped, spaced, nested, kept fields or not.
fn any_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_owned()),
        Just("true".to_owned()),
        "-?(0|[1-9][0-9]{0,3})(\\.[0-9]{1,3})?([eE][+-]?[0-9]{1,3})?",
        "\"[ a-z0-9:/é-]{0,12}\"",
        "\"([a-z]|\\\\[\"\\\\/bfnrt]|\\\\u[0-9a-fA-F]{4}){0,6}\"",
        Just("\"2026-11-01 09:15:00\"".to_owned()),
    ];
    leaf.prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec((any_key(), inner), 0..4).prop_map(|members| {
                let members: Vec<String> =
                    members.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                format!("{{{}}}", members.join(" ,"))
            }),
        ]
    })
}

fn any_key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\"Sid\"".to_owned()),
        Just("\"DateCreated\"".to_owned()),
        Just("\"Status\"".to_owned()),
        Just("\"Direction\"".to_owned()),
        Just("\"PhoneNumberSid\"".to_owned()),
        Just("\"Duration\"".to_owned()),
        Just("\"Price\"".to_owned()),
        Just("\"Uri\"".to_owned()),
        Just("\"To\"".to_owned()),
        Just("\"AnsweredBy\"".to_owned()),
    ]
}

/// A key, now and then written with an escape (which stops the scan).
fn any_written_key() -> impl Strategy<Value = String> {
    prop_oneof![
        30 => any_key(),
        1 => Just("\"D\\u0075ration\"".to_owned()),
    ]
}

/// What a kept field usually holds: a plain string, a date, a number as text, or null.
fn kept_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "\"[ a-z0-9:-]{0,12}\"",
        "\" ?2026-(0[1-9]|1[0-2])-[0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-5][0-9] ?\"",
        "\"[0-9]{1,4}(\\.[0-9])?\"",
        Just("null".to_owned()),
    ]
}

/// A page of records, mostly as Exotel writes them, sometimes with any value in any
/// place; fields in any order, keys sometimes repeated.
fn any_page() -> impl Strategy<Value = String> {
    let value = || prop_oneof![12 => kept_value(), 1 => any_value()];
    let fields = prop_oneof![
        6 => prop::collection::btree_map(any_written_key(), value(), 0..7)
            .prop_map(|fields| fields.into_iter().collect::<Vec<_>>()),
        1 => prop::collection::vec((any_written_key(), value()), 0..7),
    ];
    let record = fields.prop_map(|fields| {
        let fields: Vec<String> = fields.iter().map(|(k, v)| format!("{k}:{v}")).collect();
        format!("{{{}}}", fields.join(","))
    });
    let metadata = prop_oneof![
        3 => prop::option::of(kept_value()).prop_map(|uri| match uri {
            Some(uri) => format!(r#"{{"Total":null,"NextPageUri":{uri},"PageSize":100}}"#),
            None => r#"{"PageSize":100}"#.to_owned(),
        }),
        1 => any_value(),
    ];
    (
        prop::collection::vec(prop_oneof![16 => record, 1 => any_value()], 0..5),
        metadata,
    )
        .prop_map(|(calls, metadata)| {
            format!(
                "{{\"Metadata\": {metadata}, \"Calls\": [{}]}}\n",
                calls.join(", ")
            )
        })
}

proptest! {
    #[test]
    fn any_page_it_reads_serde_json_reads_the_same(page in any_page()) {
        agrees(&page);
    }

    /// Cut or with one byte changed: still never a page serde_json reads otherwise.
    #[test]
    fn a_damaged_page_is_never_read_otherwise(
        page in any_page(),
        at in any::<prop::sample::Index>(),
        byte in prop::sample::select(b"\"\\{}[],:0e.-n \x01x".to_vec()),
        cut in any::<bool>(),
    ) {
        let mut bytes = page.into_bytes();
        let at = at.index(bytes.len());
        if cut {
            bytes.truncate(at);
        } else {
            bytes[at] = byte;
        }
        if let Ok(text) = std::str::from_utf8(&bytes) {
            agrees(text);
        }
    }
}

#[test]
fn plain_generated_pages_are_mostly_scanned() {
    // The agreement tests prove nothing if the scan stops at everything.
    let record = r#"{"Sid":"s","DateCreated":"2026-11-01 09:15:00","Status":"completed","Duration":"7","Price":null}"#;
    let page = format!(r#"{{"Calls":[{}]}}"#, vec![record; 100].join(","));
    let scanned = agrees(&page).expect("scanned");
    assert_eq!(scanned.calls.len(), 100);
    assert_eq!(
        scanned.calls[99].as_ref().map(|c| c.duration_seconds),
        Ok(Some(7))
    );
}

#[test]
fn the_generated_pages_reach_the_scan() {
    // The agreement property proves little if the scan stops at most generated pages.
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = any_page();
    let scanned = (0..500)
        .filter(|_| {
            let page = strategy.new_tree(&mut runner).expect("a page").current();
            scan_page(&page).is_some_and(|p| !p.calls.is_empty())
        })
        .count();
    assert!(
        scanned >= 100,
        "only {scanned} of 500 generated pages scanned"
    );
}
