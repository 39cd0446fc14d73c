use super::*;

#[test]
fn each_agent_of_the_day_is_read_from_their_counter_and_moved_away_ones_are_left_out() {
    let day: NaiveDate = "2026-11-01".parse().unwrap();
    let key = |agent: &str, day: NaiveDate| CounterKey::CallAgent {
        provider: "exotel-webrtc".into(),
        agent: agent.into(),
        day,
    };
    let fields = |pairs: &[(&str, i64)]| -> BTreeMap<String, i64> {
        pairs.iter().map(|(f, n)| ((*f).to_owned(), *n)).collect()
    };
    let counters = BTreeMap::from([
        (
            key("agent_002", day),
            fields(&[
                ("total", 7),
                ("calls", 3),
                ("answered", 2),
                ("missed", 1),
                ("talk_seconds", 355),
                ("talked", 2),
                ("recorded", 1),
                ("device:sip", 2),
            ]),
        ),
        // Its one call moved to the agent who answered it.
        (
            key("agent_001", day),
            fields(&[("total", 2), ("calls", 0), ("missed", 0)]),
        ),
        (
            key("agent_003", day.pred_opt().unwrap()),
            fields(&[("calls", 1)]),
        ),
    ]);
    assert_eq!(
        agents(day, &counters),
        [AgentFigures {
            provider: "exotel-webrtc".into(),
            agent: "agent_002".into(),
            calls: 3,
            answered: 2,
            missed: 1,
            unanswered: 0,
            talk_seconds: 355,
            average_talk: Some("2m 57s".into()),
            recorded: 1,
            devices: BTreeMap::from([("sip".to_owned(), 2)]),
        }]
    );
}
