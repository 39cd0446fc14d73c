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
