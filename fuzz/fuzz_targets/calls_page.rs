//! Bulk Call Details pages (`records::read_page`: serde_json, each record judged on its
//! own), one record alone (`CallRecord::from_json`, also given the whole input), and the
//! page's `NextPageUri` as the client follows it: the API credentials go with that request,
//! so a URI the client accepts must stay on the configured origin, under the account, with
//! no credentials of its own.
#![no_main]

use dialtone_shared::call_log::records::{read_page, CallRecord};
use dialtone_shared::exotel::client::{ExotelApi, ExotelClient};
use dialtone_shared::secret::Secret;
use libfuzzer_sys::fuzz_target;
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
            credentials: dialtone_shared::secrets::Cached::fixed(
                dialtone_shared::exotel::client::ApiCredentials {
                    api_key: "fuzz-api-key".into(),
                    api_token: Secret::new("fuzz-api-token-0123456789".into()).unwrap(),
                },
            ),
            spacing: Duration::ZERO,
            budget: 1,
            retry_base: Duration::from_millis(1),
            max_attempts: 1,
        })
        .unwrap()
    })
}

/// What holds of any record read: the ExoPhone is given or absent, never empty.
fn check(call: &CallRecord<'_>) {
    assert!(call.exophone.as_deref() != Some(""), "{call:?}");
}

fuzz_target!(|body: &[u8]| {
    if let Ok(text) = std::str::from_utf8(body) {
        match CallRecord::from_json(text) {
            Ok(call) => check(&call),
            Err(reason) => {
                let _ = reason.label();
            }
        }
    }
    let Ok(page) = read_page(body) else {
        return;
    };
    for call in &page.calls {
        match call {
            Ok(call) => check(call),
            Err(reason) => {
                let _ = reason.label();
            }
        }
    }
    if let Some(uri) = &page.next_page_uri {
        assert!(
            !uri.trim().is_empty(),
            "a blank NextPageUri is no next page"
        );
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
