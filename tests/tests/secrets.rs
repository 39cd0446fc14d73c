//! Secrets Manager reads, against the local stack: what each function does at cold start.

mod common;

use chrono::{Duration, Utc};
use dialtone_local::{aws, secrets};
use dialtone_shared::config::ConfigError;
use dialtone_shared::exotel::client::ExotelApi;
use dialtone_shared::secrets::SecretsManager;
use std::sync::atomic::{AtomicU32, Ordering};

/// A secret of this test's own, stored with `value`, named by the variable `var`.
async fn stored(var: &'static str, value: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    common::require_local_stack();
    let name = format!(
        "secrets-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    );
    secrets::put(&aws::from_env().await, &name, value)
        .await
        .expect("secret stored");
    // Each test names its secret through a variable of its own: tests run in parallel.
    std::env::set_var(var, &name);
    name
}

async fn manager() -> SecretsManager {
    SecretsManager::new(&aws::from_env().await)
}

#[tokio::test]
async fn reads_the_current_value_without_the_newline_a_file_leaves() {
    stored(
        "DIALTONE_TEST_SECRET_CURRENT",
        "a-token-of-forty-characters-0123456789\n",
    )
    .await;
    let secret = manager()
        .await
        .current("DIALTONE_TEST_SECRET_CURRENT")
        .await
        .unwrap();
    assert!(secret.matches("a-token-of-forty-characters-0123456789"));
}

#[tokio::test]
async fn a_missing_secret_names_the_variable_and_the_service_error() {
    std::env::set_var("DIALTONE_TEST_SECRET_MISSING", "secrets-test-never-created");
    let err = manager()
        .await
        .current("DIALTONE_TEST_SECRET_MISSING")
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("the secret that DIALTONE_TEST_SECRET_MISSING names could not be read: ResourceNotFoundException"),
        "{text}"
    );
}

#[tokio::test]
async fn an_unset_variable_is_named() {
    let err = manager()
        .await
        .current("DIALTONE_TEST_SECRET_SURELY_UNSET")
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        ConfigError::Missing("DIALTONE_TEST_SECRET_SURELY_UNSET")
    ));
}

#[tokio::test]
async fn a_short_value_is_refused_without_being_echoed() {
    stored("DIALTONE_TEST_SECRET_SHORT", "tooshort-SECRET").await;
    let err = manager()
        .await
        .current("DIALTONE_TEST_SECRET_SHORT")
        .await
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(text.contains("at least 16 characters"), "{text}");
    assert!(!text.contains("tooshort"), "{text}");
}

#[tokio::test]
async fn the_previous_value_is_accepted_only_while_the_rotation_is_recent() {
    let var = "DIALTONE_TEST_SECRET_ROTATING";
    let name = stored(var, "first-value-0123456789-abcdefghij").await;
    let secrets = manager().await;
    let day = std::time::Duration::from_secs(24 * 3600);

    let before = secrets.rotating(var, day, Utc::now()).await.unwrap();
    assert!(before.current.matches("first-value-0123456789-abcdefghij"));
    assert!(before.previous.is_none(), "never rotated: nothing previous");

    secrets::put(
        &aws::from_env().await,
        &name,
        "second-value-0123456789-abcdefghij",
    )
    .await
    .unwrap();
    let during = secrets.rotating(var, day, Utc::now()).await.unwrap();
    assert!(during.current.matches("second-value-0123456789-abcdefghij"));
    let previous = during.previous.expect("the replaced value, within a day");
    assert!(previous.0.matches("first-value-0123456789-abcdefghij"));

    let later = secrets
        .rotating(var, day, Utc::now() + Duration::hours(25))
        .await
        .unwrap();
    assert!(later.current.matches("second-value-0123456789-abcdefghij"));
    assert!(
        later.previous.is_none(),
        "a day after the rotation the old value is refused"
    );
}

#[tokio::test]
async fn json_secrets_are_parsed_and_bad_ones_never_echoed() {
    // Exotel's API secret, read as the aggregator and the watchdog read it. The only test
    // of this binary that names these variables.
    std::env::set_var("EXOTEL_ACCOUNT_SID", "dialtonetest1");
    let name = stored(
        "EXOTEL_API_SECRET_ID",
        r#"{"api_key":"key-1","api_token":"token-0123456789abcdef"}"#,
    )
    .await;
    let api = ExotelApi::load(&manager().await, 10).await.unwrap();
    assert_eq!(api.credentials.get().await.unwrap().api_key, "key-1");

    secrets::put(&aws::from_env().await, &name, "not-json-SECRET-VALUE")
        .await
        .unwrap();
    let err = ExotelApi::load(&manager().await, 10).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("not the expected JSON"), "{text}");
    assert!(!text.contains("SECRET-VALUE"), "{text}");
}

#[tokio::test]
async fn a_rotated_secret_reaches_a_warm_function_within_the_cache_lifetime() {
    // Every cache built in this process now lives a second: harmless to the other tests,
    // which read each secret once.
    std::env::set_var("SECRET_CACHE_SECONDS", "1");
    let var = "DIALTONE_TEST_SECRET_CACHED";
    let name = stored(var, "cached-first-0123456789-abcdefghij").await;
    let secrets = manager().await;
    let token = secrets.cached(var).await.unwrap();
    let rotating = secrets
        .cached_rotating(var, std::time::Duration::from_secs(24 * 3600))
        .await
        .unwrap();
    assert!(token
        .get()
        .await
        .unwrap()
        .matches("cached-first-0123456789-abcdefghij"));

    secrets::put(
        &aws::from_env().await,
        &name,
        "cached-second-0123456789-abcdefghij",
    )
    .await
    .unwrap();
    assert!(
        token
            .get()
            .await
            .unwrap()
            .matches("cached-first-0123456789-abcdefghij"),
        "within its lifetime the value in hand is used"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let now = Utc::now();
    assert!(token
        .get()
        .await
        .unwrap()
        .matches("cached-second-0123456789-abcdefghij"));
    let both = rotating.get().await.unwrap();
    assert!(both.matches("cached-second-0123456789-abcdefghij", now));
    assert!(
        both.matches("cached-first-0123456789-abcdefghij", now),
        "the replaced value, within the overlap"
    );
    assert!(
        !both.matches(
            "cached-first-0123456789-abcdefghij",
            now + Duration::hours(25)
        ),
        "and no longer"
    );
}
