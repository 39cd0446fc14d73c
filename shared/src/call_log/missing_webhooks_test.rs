use super::*;

const PROVIDER: &str = "exotel-webrtc";

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
}

fn policy() -> MissingWebhookPolicy {
    MissingWebhookPolicy {
        lag: Duration::hours(4),
        min_calls: 20,
        above_percent: 5.0,
        country: CountryCode::parse("91").unwrap(),
        left_out: BTreeSet::new(),
    }
}

fn fields(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

fn listed_key(line: &str, day: NaiveDate) -> CounterKey {
    CounterKey::CallLog {
        day,
        bucket: CallLogBucket::ExoPhone(line.into()),
    }
}

fn notified_key(provider: &str, line: CounterLine, day: NaiveDate) -> CounterKey {
    CounterKey::Calls {
        provider: provider.into(),
        line,
        day,
    }
}

fn line(text: &str) -> CounterLine {
    CounterLine::Line(text.into())
}

/// A day's counters as the call log and the notifications leave them: the call log writes
/// the ExoPhone `0…`, the notifications `+91…` (or, where Exotel sent it so, `0…` too).
fn counters() -> BTreeMap<CounterKey, BTreeMap<String, i64>> {
    let other_day = day() - Duration::days(1);
    BTreeMap::from([
        (
            listed_key("08030752522", day()),
            fields(&[("total", 40), ("answered", 30)]),
        ),
        (listed_key("07930061010", day()), fields(&[("total", 30)])),
        (listed_key("02248906300", day()), fields(&[("total", 12)])),
        (
            listed_key("08030752522", other_day),
            fields(&[("total", 99)]),
        ),
        (
            CounterKey::CallLog {
                day: day(),
                bucket: CallLogBucket::All,
            },
            fields(&[("total", 82)]),
        ),
        (
            notified_key(PROVIDER, line("+918030752522"), day()),
            fields(&[("total", 50), ("calls", 36), ("answered", 27)]),
        ),
        (
            notified_key(PROVIDER, line("07930061010"), day()),
            fields(&[("total", 30), ("calls", 30)]),
        ),
        (
            notified_key(PROVIDER, CounterLine::Unknown, day()),
            fields(&[("calls", 2)]),
        ),
        (
            notified_key(PROVIDER, CounterLine::All, day()),
            fields(&[("calls", 68)]),
        ),
        (
            notified_key("voipstudio", line("+912248906300"), day()),
            fields(&[("calls", 12)]),
        ),
        (
            notified_key(PROVIDER, line("+918030752522"), other_day),
            fields(&[("calls", 99)]),
        ),
    ])
}

fn set(lines: &[&str]) -> BTreeSet<String> {
    lines.iter().map(|l| (*l).to_owned()).collect()
}

#[test]
fn both_sides_are_read_per_exophone_in_one_form() {
    let country = policy().country;
    let listed = listed_per_line(day(), &counters(), &country);
    assert_eq!(
        listed,
        BTreeMap::from([
            ("+912248906300".to_owned(), 12),
            ("+917930061010".to_owned(), 30),
            ("+918030752522".to_owned(), 40),
        ])
    );
    let (notified, without_line) = notified_per_line(day(), PROVIDER, &counters(), &country);
    assert_eq!(
        notified,
        BTreeMap::from([
            ("+917930061010".to_owned(), 30),
            ("+918030752522".to_owned(), 36),
        ]),
        "another provider's counters and other days are not read"
    );
    assert_eq!(without_line, 2);
}

#[test]
fn a_line_that_reads_as_no_number_is_matched_by_its_text() {
    let country = policy().country;
    assert_eq!(line_id(" sip-trunk-7 ", &country), "sip-trunk-7");
    assert_eq!(line_id("08030752522", &country), "+918030752522");
}

#[test]
fn each_active_line_is_compared_and_silent_or_configured_lines_left_out() {
    let country = policy().country;
    let counters = counters();
    let listed = listed_per_line(day(), &counters, &country);
    let (notified, without_line) = notified_per_line(day(), PROVIDER, &counters, &country);
    let active = set(&["+918030752522", "+917930061010"]);
    let mut policy = policy();
    policy.left_out = set(&["+917930061010"]);
    let compared = compare_day(day(), &listed, &notified, without_line, &active, &policy);
    assert_eq!(
        compared.lines,
        BTreeMap::from([(
            "+918030752522".to_owned(),
            LineComparison {
                listed: 40,
                notified: 36,
                missing: 4
            }
        )])
    );
    assert_eq!(compared.silent_lines, ["+912248906300"]);
    assert_eq!(compared.left_out_lines, ["+917930061010"]);
    assert_eq!((compared.missing(), compared.listed()), (4, 40));
    assert_eq!(compared.notified_without_line, 2);
}

#[test]
fn more_notified_than_listed_is_nothing_missing() {
    let listed = BTreeMap::from([("+918030752522".to_owned(), 10)]);
    let notified = BTreeMap::from([("+918030752522".to_owned(), 12)]);
    let compared = compare_day(
        day(),
        &listed,
        &notified,
        0,
        &set(&["+918030752522"]),
        &policy(),
    );
    assert_eq!(compared.lines["+918030752522"].missing, 0);
}

#[test]
fn a_line_whose_webhook_stopped_today_is_still_compared_from_its_past_week() {
    let listed = BTreeMap::from([("+918030752522".to_owned(), 25)]);
    let compared = compare_day(
        day(),
        &listed,
        &BTreeMap::new(),
        0,
        &set(&["+918030752522"]),
        &policy(),
    );
    assert_eq!(compared.lines["+918030752522"].missing, 25);
    assert!(missing_webhooks_alert(&compared, &policy(), chrono_tz::Asia::Kolkata).is_some());
}

fn one_line(listed: u64, notified: u64) -> DayComparison {
    compare_day(
        day(),
        &BTreeMap::from([("+918030752522".to_owned(), listed)]),
        &BTreeMap::from([("+918030752522".to_owned(), notified)]),
        0,
        &set(&["+918030752522"]),
        &policy(),
    )
}

#[test]
fn the_threshold_needs_enough_calls_and_more_than_the_share_missing() {
    let line = |listed, notified| one_line(listed, notified).lines["+918030752522"].clone();
    // 5 % of 40 is 2: two missing is not more than 5 %, three is.
    assert!(!over_threshold(&line(40, 38), &policy()));
    assert!(over_threshold(&line(40, 37), &policy()));
    // Everything missing, but fewer calls than the minimum.
    assert!(!over_threshold(&line(19, 0), &policy()));
    assert!(over_threshold(&line(20, 0), &policy()));
    // A threshold of 0 %: any call missing alerts, none does not.
    let mut strict = policy();
    strict.above_percent = 0.0;
    assert!(over_threshold(&line(20, 19), &strict));
    assert!(!over_threshold(&line(20, 20), &strict));
}

#[test]
fn a_tenth_missing_raises_one_alert_for_the_day_with_a_stable_id() {
    let tz = chrono_tz::Asia::Kolkata;
    let compared = one_line(40, 36);
    let alert = missing_webhooks_alert(&compared, &policy(), tz).expect("an alert");
    assert_eq!(alert.kind, AlertKind::WebhooksMissing);
    assert_eq!(alert.severity, Severity::Warning);
    assert_eq!(
        alert.status,
        "4 of 40 calls on +918030752522 on 2026-11-20 had no notification (threshold 5.0%)"
    );
    assert_eq!(
        alert.notes,
        ["+918030752522: 4 of 40 calls listed had no notification (10.0%)"]
    );
    assert_eq!(
        alert.id(),
        "call-log:missing-webhooks:2026-11-20@webhooks_missing@2026-11-20T18:30:00+00:00"
    );
    // Compared again (a run that stopped before its cursor was saved): the same alert.
    assert_eq!(
        missing_webhooks_alert(&one_line(40, 36), &policy(), tz).map(|a| a.id()),
        Some(alert.id())
    );
    assert!(missing_webhooks_alert(&one_line(40, 39), &policy(), tz).is_none());
}

#[test]
fn the_alert_names_every_line_past_the_threshold_worst_first() {
    let listed = BTreeMap::from([
        ("+918030752522".to_owned(), 40),
        ("+917930061010".to_owned(), 100),
        ("+912248906300".to_owned(), 50),
    ]);
    let notified = BTreeMap::from([
        ("+918030752522".to_owned(), 36),
        ("+917930061010".to_owned(), 80),
        ("+912248906300".to_owned(), 50),
    ]);
    let active = set(&["+918030752522", "+917930061010", "+912248906300"]);
    let compared = compare_day(day(), &listed, &notified, 3, &active, &policy());
    let alert = missing_webhooks_alert(&compared, &policy(), chrono_tz::Asia::Kolkata).unwrap();
    assert_eq!(alert.lines_affected, 2);
    assert!(alert
        .status
        .starts_with("24 of 140 calls on 2 ExoPhones on 2026-11-20"));
    assert_eq!(
        alert.notes,
        [
            "+917930061010: 20 of 100 calls listed had no notification (20.0%)",
            "+918030752522: 4 of 40 calls listed had no notification (10.0%)",
            "3 notified calls never named their ExoPhone (only status updates arrived)",
        ]
    );
}

fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
}

fn days(list: &[NaiveDate]) -> Vec<String> {
    list.iter().map(ToString::to_string).collect()
}

#[test]
fn a_day_is_compared_once_its_end_and_the_lag_are_read_and_only_if_read_whole() {
    let lag = Duration::hours(4);
    let since = Some(at("2026-11-19 10:00:00"));
    // The 19th was read from 10:00 only: never compared. The 20th once 04:00 on the 21st
    // has been read.
    assert!(days_to_compare(None, since, Some(at("2026-11-21 03:59:59")), lag).is_empty());
    assert_eq!(
        days(&days_to_compare(
            None,
            since,
            Some(at("2026-11-21 04:00:00")),
            lag
        )),
        ["2026-11-20"]
    );
    // Once compared, not again; the next day in its turn.
    let done = NaiveDate::from_ymd_opt(2026, 11, 20);
    assert!(days_to_compare(done, since, Some(at("2026-11-22 03:00:00")), lag).is_empty());
    assert_eq!(
        days(&days_to_compare(
            done,
            since,
            Some(at("2026-11-22 04:15:00")),
            lag
        )),
        ["2026-11-21"]
    );
    // A read that began at midnight covers that day whole.
    assert_eq!(
        days(&days_to_compare(
            None,
            Some(at("2026-11-19 00:00:00")),
            Some(at("2026-11-21 05:00:00")),
            lag
        )),
        ["2026-11-19", "2026-11-20"]
    );
    // Nothing read yet, or no read finished: nothing compared.
    assert!(days_to_compare(None, None, Some(at("2026-11-21 05:00:00")), lag).is_empty());
    assert!(days_to_compare(None, since, None, lag).is_empty());
}

#[test]
fn after_a_long_stop_the_backlog_is_compared_a_week_per_run_oldest_first() {
    let compared = days_to_compare(
        NaiveDate::from_ymd_opt(2026, 11, 1),
        Some(at("2026-10-01 08:00:00")),
        Some(at("2026-11-30 12:00:00")),
        Duration::hours(4),
    );
    assert_eq!(compared.len(), MAX_DAYS_PER_RUN);
    assert_eq!(compared[0].to_string(), "2026-11-02");
    assert_eq!(compared[MAX_DAYS_PER_RUN - 1].to_string(), "2026-11-08");
}

#[test]
fn exophones_to_leave_out_are_read_in_any_form_and_a_typo_is_refused() {
    let country = policy().country;
    assert_eq!(
        left_out_lines(" +918030752522, 07930061010 ,,", &country),
        Ok(set(&["+918030752522", "+917930061010"]))
    );
    assert_eq!(left_out_lines("", &country), Ok(BTreeSet::new()));
    let err = left_out_lines("+918030752522,0793OO61010", &country).unwrap_err();
    assert!(err.contains("0793OO61010"), "{err}");
}

/// The policy's variables are read by no other test: one test sets them in turn.
#[test]
fn the_policy_is_read_from_the_environment_and_a_bad_value_is_named() {
    const VARS: [&str; 5] = [
        "MISSING_WEBHOOK_LAG_SECONDS",
        "MISSING_WEBHOOK_MIN_CALLS",
        "MISSING_WEBHOOK_ALERT_PERCENT",
        "MISSING_WEBHOOK_LEFT_OUT_EXOPHONES",
        "EXOPHONE_COUNTRY_CODE",
    ];
    let clear = || VARS.iter().for_each(|name| std::env::remove_var(name));
    clear();
    assert_eq!(
        MissingWebhookPolicy::load().unwrap(),
        MissingWebhookPolicy::default()
    );

    std::env::set_var("MISSING_WEBHOOK_LAG_SECONDS", "7200");
    std::env::set_var("MISSING_WEBHOOK_MIN_CALLS", "50");
    std::env::set_var("MISSING_WEBHOOK_ALERT_PERCENT", "2.5");
    std::env::set_var("EXOPHONE_COUNTRY_CODE", "65");
    std::env::set_var(
        "MISSING_WEBHOOK_LEFT_OUT_EXOPHONES",
        "061234567, +918030752522",
    );
    let read = MissingWebhookPolicy::load();
    let named = |name: &str, value: &str| {
        std::env::set_var(name, value);
        let err = MissingWebhookPolicy::load().unwrap_err().to_string();
        std::env::remove_var(name);
        err
    };
    let bad_percent = named("MISSING_WEBHOOK_ALERT_PERCENT", "150");
    let bad_country = named("EXOPHONE_COUNTRY_CODE", "091");
    let bad_line = named(
        "MISSING_WEBHOOK_LEFT_OUT_EXOPHONES",
        "08030752522,agent_001",
    );
    let bad_lag = named("MISSING_WEBHOOK_LAG_SECONDS", "-1");
    clear();

    let read = read.unwrap();
    assert_eq!(
        (
            read.lag,
            read.min_calls,
            read.above_percent,
            read.country.as_str()
        ),
        (Duration::hours(2), 50, 2.5, "65")
    );
    assert_eq!(read.left_out, set(&["+6561234567", "+918030752522"]));
    assert!(
        bad_percent.contains("MISSING_WEBHOOK_ALERT_PERCENT"),
        "{bad_percent}"
    );
    assert!(
        bad_country.contains("EXOPHONE_COUNTRY_CODE"),
        "{bad_country}"
    );
    assert!(
        bad_line.contains("MISSING_WEBHOOK_LEFT_OUT_EXOPHONES") && bad_line.contains("agent_001"),
        "{bad_line}"
    );
    assert!(bad_lag.contains("MISSING_WEBHOOK_LAG_SECONDS"), "{bad_lag}");
}
