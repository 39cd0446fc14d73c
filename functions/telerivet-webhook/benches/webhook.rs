//! CPU of the Telerivet receiver's own work per webhook, network excluded, as percentiles
//! of individually timed iterations (the criterion bench `incoming_message` gives the
//! mean): verify the secret, parse the form, decide, build the commit. The sample is the
//! incoming message of `events/` (contact, state, phone, media, unicode, an auto-reply).
//!
//! `cargo bench -p telerivet-webhook --bench webhook`

mod common;

use common::receiver;
use dialtone_testkit::bench::{handle, iterations, report, request, time_each};

fn main() {
    let request = request(include_str!(
        "../../../events/telerivet-incoming-message.json"
    ));
    let receiver = receiver();
    let timings = time_each(2_000, iterations(), || {
        handle(&receiver, &request, Vec::new())
    });
    report("telerivet-webhook sample", &timings, &[]);
}
