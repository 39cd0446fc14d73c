//! CPU of the VoIPstudio receiver's own work per webhook, network excluded, as percentiles
//! of individually timed iterations: verify the URL token, parse, decide, build the
//! commit. The sample is the missed call of `events/` (a call row, a callback owed, the
//! day's counters), from an empty state.
//!
//! `cargo bench -p voipstudio-webhook --bench webhook`

use dialtone_shared::calls::receiver::{CallReceiver, Voipstudio};
use dialtone_shared::secret::Secret;
use dialtone_testkit::bench::{handle, iterations, report, request, time_each};

fn main() {
    let request = request(include_str!("../../../events/voipstudio-call-missed.json"));
    let receiver = CallReceiver::<Voipstudio>::new(
        dialtone_shared::secrets::Cached::fixed(
            Secret::new("local-voipstudio-token-0123456789".into()).expect("token"),
        ),
        chrono_tz::Asia::Kolkata,
    );
    let timings = time_each(2_000, iterations(), || {
        handle(&receiver, &request, Vec::new())
    });
    report("voipstudio-webhook sample", &timings, &[]);
}
