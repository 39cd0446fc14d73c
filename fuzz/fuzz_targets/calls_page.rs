//! Bulk Call Details pages (`records::read_page`, which reads the records as it reads the
//! page; each record of a page it reads must read the same through `CallRecord::from_json`
//! alone, which is also given the whole input; a page its fast scan reads, serde_json must
//! read the same), and the page's
//! `NextPageUri` as the client follows it: the API credentials go with that request, so a
//! URI the client accepts must stay on the configured origin, under the account, with no
//! credentials of its own.
#![no_main]

use dialtone_shared::exotel::client::{ExotelApi, ExotelClient};
use dialtone_shared::call_log::records::{parse_page, read_page, scan_page, CallRecord};
use dialtone_shared::secret::Secret;
use libfuzzer_sys::fuzz_target;
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::sync::OnceLock;
use std::time::Duration;

const BASE: &str = "https://api.exotel.com";
const ACCOUNT_PATH: &str = "/v1/Accounts/dialtonelocal1/";

/// Built once: it sends nothing, `follow` only resolves and checks URIs.
fn client() -> &'static ExotelClient {
    static CLIENT: OnceLock<ExotelClient> = OnceLock::new();
    CLIENT.get_or_init(|| {
        ExotelClient::new(ExotelApi {
            base: BASE.into(),
            account_sid: "dialtonelocal1".into(),
            credentials: dialtone_shared::secrets::Cached::fixed(dialtone_shared::exotel::client::ApiCredentials {
                api_key: "fuzz-api-key".into(),
                api_token: Secret::new("fuzz-api-token-0123456789".into()).unwrap(),
            }),
            spacing: Duration::ZERO,
            budget: 1,
            retry_base: Duration::from_millis(1),
            max_attempts: 1,
        })
        .unwrap()
    })
}

/// The page's records as JSON text, to read each alone (its fields as `read_page` reads
/// them: serde also takes a struct from an array of its fields).
#[derive(Deserialize)]
struct RawCalls<'a> {
    #[serde(rename = "Calls", borrow)]
    calls: Vec<&'a RawValue>,
    #[serde(rename = "Metadata", default)]
    _metadata: Option<IgnoredAny>,
}

fuzz_target!(|body: &[u8]| {
    if let Ok(text) = std::str::from_utf8(body) {
        let _ = CallRecord::from_json(text);
        if let Some(scanned) = scan_page(text) {
            match parse_page(text) {
                Ok(parsed) => assert_eq!(scanned, parsed, "{text}"),
                Err(e) => panic!("scanned a page serde_json refuses ({e}): {text}"),
            }
        }
    }
    let Ok(page) = read_page(body) else {
        return;
    };
    let raw: RawCalls = serde_json::from_slice(body).expect("a page read_page reads has Calls");
    assert_eq!(raw.calls.len(), page.calls.len());
    for (raw, call) in raw.calls.iter().zip(&page.calls) {
        assert_eq!(&CallRecord::from_json(raw.get()), call, "{}", raw.get());
    }
    for call in &page.calls {
        if let Err(reason) = call {
            let _ = reason.label();
        }
    }
    if let Some(uri) = &page.next_page_uri {
        if let Ok(next) = client().follow(uri) {
            assert_eq!(next.origin().ascii_serialization(), BASE, "{uri:?}");
            assert!(next.path().starts_with(ACCOUNT_PATH), "{uri:?} -> {next}");
            assert!(
                next.username().is_empty() && next.password().is_none(),
                "{uri:?}"
            );
        }
    }
});
