use super::*;
use std::sync::atomic::{AtomicU32, Ordering};

/// A loader that answers from a script: each read takes the next answer (the last one
/// repeats), and the number of reads is counted.
fn scripted(
    answers: Vec<Result<&'static str, &'static str>>,
) -> (
    Arc<AtomicU32>,
    impl Fn() -> BoxFuture<'static, Result<String, ConfigError>> + Send + Sync + 'static,
) {
    let reads = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&reads);
    let load = move || {
        let n = counter.fetch_add(1, Ordering::SeqCst) as usize;
        let answer = answers[n.min(answers.len() - 1)];
        Box::pin(async move {
            answer
                .map(str::to_owned)
                .map_err(|reason| ConfigError::SecretUnreadable {
                    name: "TEST_SECRET_ID",
                    reason: reason.to_owned(),
                })
        }) as BoxFuture<'static, Result<String, ConfigError>>
    };
    (reads, load)
}

const TTL: Duration = Duration::from_secs(300);

#[tokio::test(start_paused = true)]
async fn a_value_is_read_again_once_older_than_its_lifetime() {
    let (reads, load) = scripted(vec![Ok("first"), Ok("rotated")]);
    let cached = Cached::load(TTL, load).await.unwrap();
    assert_eq!(*cached.get().await.unwrap(), "first");
    tokio::time::advance(TTL - Duration::from_secs(1)).await;
    assert_eq!(*cached.get().await.unwrap(), "first", "still fresh");
    assert_eq!(reads.load(Ordering::SeqCst), 1, "no read while fresh");
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(*cached.get().await.unwrap(), "rotated");
    assert_eq!(reads.load(Ordering::SeqCst), 2);
    assert_eq!(
        *cached.clone().get().await.unwrap(),
        "rotated",
        "clones share the cache"
    );
    assert_eq!(reads.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn a_failed_read_at_cold_start_fails_naming_the_variable() {
    let (_, load) = scripted(vec![Err("ResourceNotFoundException: gone")]);
    let err = Cached::load(TTL, load).await.unwrap_err();
    assert!(err.to_string().contains("TEST_SECRET_ID"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn an_outage_keeps_the_last_value_for_a_while_asking_again_only_after_a_pause() {
    let (reads, load) = scripted(vec![
        Ok("first"),
        Err("ServiceUnavailable"),
        Err("ServiceUnavailable"),
        Ok("back"),
    ]);
    let cached = Cached::load(TTL, load).await.unwrap();
    tokio::time::advance(TTL).await;
    assert_eq!(*cached.get().await.unwrap(), "first", "stale but usable");
    assert_eq!(reads.load(Ordering::SeqCst), 2);
    assert_eq!(*cached.get().await.unwrap(), "first");
    assert_eq!(
        reads.load(Ordering::SeqCst),
        2,
        "no second read within the pause"
    );
    tokio::time::advance(RETRY_PAUSE).await;
    assert_eq!(*cached.get().await.unwrap(), "first");
    assert_eq!(reads.load(Ordering::SeqCst), 3);
    tokio::time::advance(RETRY_PAUSE).await;
    assert_eq!(*cached.get().await.unwrap(), "back");
    assert_eq!(reads.load(Ordering::SeqCst), 4);
}

#[tokio::test(start_paused = true)]
async fn a_value_too_old_is_not_used_when_it_cannot_be_read_again() {
    let (reads, load) = scripted(vec![Ok("first"), Err("AccessDeniedException: no")]);
    let cached = Cached::load(TTL, load).await.unwrap();
    tokio::time::advance(TTL + MAX_STALE).await;
    let err = cached.get().await.unwrap_err();
    assert!(err.to_string().contains("AccessDeniedException"), "{err}");
    assert!(cached.get().await.is_err(), "nor within the pause");
    assert_eq!(reads.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn a_value_is_read_again_early_for_a_mismatch_at_most_once_a_pause() {
    let (reads, load) = scripted(vec![Ok("first"), Ok("rotated")]);
    let cached = Cached::load(TTL, load).await.unwrap();
    assert_eq!(*cached.reread().await.unwrap(), "first", "just read");
    assert_eq!(reads.load(Ordering::SeqCst), 1);
    tokio::time::advance(RETRY_PAUSE).await;
    assert_eq!(*cached.reread().await.unwrap(), "rotated");
    assert_eq!(*cached.reread().await.unwrap(), "rotated");
    assert_eq!(*cached.get().await.unwrap(), "rotated");
    assert_eq!(
        reads.load(Ordering::SeqCst),
        2,
        "one early read in the pause"
    );
}

#[tokio::test(start_paused = true)]
async fn a_fixed_value_is_never_read() {
    let cached = Cached::fixed("fixed".to_owned());
    tokio::time::advance(TTL * 100).await;
    assert_eq!(*cached.get().await.unwrap(), "fixed");
    assert_eq!(format!("{cached:?}"), "Cached { ttl: None, .. }");
}

#[test]
fn the_previous_secret_is_accepted_until_its_overlap_ends_and_no_longer() {
    use crate::secret::Secret;
    use crate::secrets::Rotating;
    let now = chrono::Utc::now();
    let rotating = Rotating {
        current: Secret::new("current-secret-0123456789".into()).unwrap(),
        previous: Some((
            Secret::new("previous-secret-0123456789".into()).unwrap(),
            now + chrono::Duration::minutes(1),
        )),
    };
    assert!(rotating.matches("current-secret-0123456789", now));
    assert!(rotating.matches("previous-secret-0123456789", now));
    let later = now + chrono::Duration::minutes(1);
    assert!(!rotating.matches("previous-secret-0123456789", later));
    assert!(rotating.matches("current-secret-0123456789", later));
    assert!(!rotating.matches("", now));
}
