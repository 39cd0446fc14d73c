use super::*;

#[test]
fn reads_the_monitor_table_from_the_template() {
    let spec = TableSpec::from_template(crate::TEMPLATE, "MonitorTable").unwrap();
    assert_eq!(spec.key_schema[0].attribute_name, "pk");
    assert_eq!(
        spec.time_to_live.attribute_name,
        dialtone_shared::store::TTL_ATTRIBUTE
    );
    assert_eq!(
        spec.global_secondary_indexes[0].index_name,
        dialtone_shared::store::ALERTS_INDEX
    );
}

#[test]
fn a_missing_resource_is_an_error() {
    assert!(TableSpec::from_template(crate::TEMPLATE, "NoSuchTable").is_err());
}

/// The names `AccountTimezone` accepts: its `AllowedValues`, read from the template.
fn account_timezones_allowed() -> std::collections::BTreeSet<String> {
    let doc: serde_norway::Value = serde_norway::from_str(crate::TEMPLATE).unwrap();
    let parameter = &doc["Parameters"]["AccountTimezone"];
    assert!(
        parameter.get("AllowedPattern").is_none(),
        "AccountTimezone: AllowedValues say which zones; a pattern beside them would narrow them"
    );
    parameter["AllowedValues"]
        .as_sequence()
        .expect("AccountTimezone has AllowedValues")
        .iter()
        .map(|v| {
            v.as_str()
                .expect("each allowed value is a string")
                .to_owned()
        })
        .collect()
}

#[test]
fn account_timezone_allows_exactly_the_zones_chrono_tz_knows() {
    let allowed = account_timezones_allowed();
    let known: std::collections::BTreeSet<String> = chrono_tz::TZ_VARIANTS
        .iter()
        .map(|tz| tz.name().to_owned())
        .collect();
    let missing: Vec<_> = known.difference(&allowed).collect();
    let unknown: Vec<_> = allowed.difference(&known).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "template.yaml's AccountTimezone and chrono_tz::TZ_VARIANTS disagree: \
         not allowed but known to the functions {missing:?}; \
         allowed but unknown to the functions (they would refuse to start) {unknown:?}"
    );
    for zone in ["Asia/Kolkata", "Europe/London", "America/New_York", "UTC"] {
        assert!(allowed.contains(zone), "{zone}");
    }
}

#[test]
fn account_timezone_refuses_mistyped_zones() {
    let allowed = account_timezones_allowed();
    for typo in [
        "Europe/Londn",
        "Asia/Kolkatta",
        "",
        "europe/london",
        "Asia/Kolkata ",
        "IST",
    ] {
        assert!(!allowed.contains(typo), "{typo:?} is allowed");
        assert!(typo.parse::<chrono_tz::Tz>().is_err(), "{typo:?} parses");
    }
}

#[test]
fn account_timezone_default_is_allowed_and_is_the_functions_default() {
    let doc: serde_norway::Value = serde_norway::from_str(crate::TEMPLATE).unwrap();
    let default = doc["Parameters"]["AccountTimezone"]["Default"]
        .as_str()
        .expect("AccountTimezone has a Default");
    assert!(account_timezones_allowed().contains(default));
    assert_eq!(default, "Asia/Kolkata");
}
