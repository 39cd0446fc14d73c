use super::*;

#[test]
fn durations_read_naturally() {
    assert_eq!(human_duration(12), "12s");
    assert_eq!(human_duration(250), "4m 10s");
    assert_eq!(human_duration(3 * 3600 + 300), "3h 5m");
    assert_eq!(human_duration(90_000), "1d 1h");
    assert_eq!(human_duration(-5), "0s");
}

#[test]
fn keys_are_stable_per_condition() {
    let sid = ExoPhoneSid::parse("07930061010").unwrap();
    assert_eq!(
        DedupKey::line(Source::ExotelHeartbeat, &sid, Direction::Incoming).as_str(),
        "exotel-heartbeat:line:07930061010:incoming"
    );
    assert_eq!(
        DedupKey::fleet(Source::ExotelHeartbeat).as_str(),
        "exotel-heartbeat:fleet"
    );
}
