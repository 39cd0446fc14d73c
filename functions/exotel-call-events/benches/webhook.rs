//! CPU of the Exotel call-events receiver's own work per webhook, network excluded, as
//! percentiles of individually timed iterations: verify the URL token, parse, decide,
//! build the commit. The sample is the missed call of `events/` (a call row, a callback
//! owed, the day's counters), from an empty state.
//!
//! `cargo bench -p exotel-call-events --bench webhook`

use dialtone_shared::calls::receiver::{CallReceiver, ExotelCalls};
use dialtone_shared::secret::Secret;
use dialtone_testkit::bench::{handle, iterations, report, request, time_each};

fn main() {
    let request = request(include_str!("../../../events/exotel-call-missed-call.json"));
    let receiver = CallReceiver::<ExotelCalls>::new(
        dialtone_shared::secrets::Cached::fixed(
            Secret::new("local-exotel-calls-token-0123456789".into()).expect("token"),
        ),
        chrono_tz::Asia::Kolkata,
    );
    let timings = time_each(2_000, iterations(), || {
        handle(&receiver, &request, Vec::new())
    });
    report("exotel-call-events sample", &timings, &[]);
}
