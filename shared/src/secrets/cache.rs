//! A secret's value kept for a few minutes, then read again: a rotated secret takes effect
//! within the cache's lifetime in every warm container, not at their next cold start.

use crate::config::{self, ConfigError};
use futures_util::future::BoxFuture;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// How long a value read is used before it is read again (`SECRET_CACHE_SECONDS`).
pub const DEFAULT_TTL: Duration = Duration::from_secs(300);
/// While Secrets Manager cannot be read, the last value stays in use this much longer
/// than its lifetime (a short outage must not turn every webhook into a 503), then the
/// secret counts as unreadable.
pub const MAX_STALE: Duration = Duration::from_secs(3600);
/// After a failed read, requests use the last value without asking again for this long:
/// each failed read costs the SDK's retries, seconds a provider's request would wait.
pub const RETRY_PAUSE: Duration = Duration::from_secs(30);

/// The cache's lifetime from the environment: `SECRET_CACHE_SECONDS`, default 300.
pub fn ttl_from_env() -> Result<Duration, ConfigError> {
    config::seconds_or("SECRET_CACHE_SECONDS", DEFAULT_TTL)
}

type Load<V> = Box<dyn Fn() -> BoxFuture<'static, Result<V, ConfigError>> + Send + Sync>;

/// A value read from Secrets Manager, read again once it is older than its lifetime.
/// Cheap to clone: clones share one cache.
pub struct Cached<V> {
    inner: Arc<Inner<V>>,
}

struct Inner<V> {
    /// `None`: a fixed value that is never read again (tests, benchmarks, local tools).
    load: Option<(Load<V>, Duration)>,
    slot: Mutex<Slot<V>>,
}

struct Slot<V> {
    value: Arc<V>,
    read_at: Instant,
    /// The last read failed with this error: until the instant, the value in hand is used
    /// (or the error returned) without asking again.
    failed: Option<(Instant, ConfigError)>,
}

impl<V> Clone for Cached<V> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<V> fmt::Debug for Cached<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the value: a secret's `Debug` is redacted, but `V` may be any type.
        f.debug_struct("Cached")
            .field("ttl", &self.inner.load.as_ref().map(|(_, ttl)| ttl))
            .finish_non_exhaustive()
    }
}

impl<V: Send + Sync + 'static> Cached<V> {
    /// A value that never changes.
    pub fn fixed(value: V) -> Self {
        Self {
            inner: Arc::new(Inner {
                load: None,
                slot: Mutex::new(Slot {
                    value: Arc::new(value),
                    read_at: Instant::now(),
                    failed: None,
                }),
            }),
        }
    }

    /// Reads the value once now (a function that cannot read its secret fails at cold
    /// start, naming it), then again whenever it is older than `ttl`.
    pub async fn load<F>(ttl: Duration, load: F) -> Result<Self, ConfigError>
    where
        F: Fn() -> BoxFuture<'static, Result<V, ConfigError>> + Send + Sync + 'static,
    {
        let value = load().await?;
        Ok(Self {
            inner: Arc::new(Inner {
                load: Some((Box::new(load), ttl)),
                slot: Mutex::new(Slot {
                    value: Arc::new(value),
                    read_at: Instant::now(),
                    failed: None,
                }),
            }),
        })
    }

    /// The value in force: the one in hand while it is younger than the lifetime, else a
    /// fresh read. A failed read keeps the value in hand for up to [`MAX_STALE`] longer
    /// (asking again at most every [`RETRY_PAUSE`]); past that the read's error is returned.
    pub async fn get(&self) -> Result<Arc<V>, ConfigError> {
        self.younger_than(None).await
    }

    /// The value read again unless it was read (or a read failed) less than
    /// [`RETRY_PAUSE`] ago: for a candidate that did not match the value in hand, which may
    /// be a secret rotated a moment ago. A flood of wrong candidates costs one read a pause.
    pub async fn reread(&self) -> Result<Arc<V>, ConfigError> {
        self.younger_than(Some(RETRY_PAUSE)).await
    }

    /// The value, read again when older than `max_age` (default: the lifetime).
    async fn younger_than(&self, max_age: Option<Duration>) -> Result<Arc<V>, ConfigError> {
        let mut slot = self.inner.slot.lock().await;
        let Some((load, ttl)) = &self.inner.load else {
            return Ok(Arc::clone(&slot.value));
        };
        let now = Instant::now();
        let age = now.duration_since(slot.read_at);
        if age < max_age.map_or(*ttl, |max| max.min(*ttl)) {
            return Ok(Arc::clone(&slot.value));
        }
        let usable_stale = age < *ttl + MAX_STALE;
        if let Some((quiet_until, error)) = &slot.failed {
            if now < *quiet_until {
                return if usable_stale {
                    Ok(Arc::clone(&slot.value))
                } else {
                    Err(error.clone())
                };
            }
        }
        match load().await {
            Ok(value) => {
                *slot = Slot {
                    value: Arc::new(value),
                    read_at: Instant::now(),
                    failed: None,
                };
                Ok(Arc::clone(&slot.value))
            }
            Err(error) => {
                slot.failed = Some((now + RETRY_PAUSE, error.clone()));
                if usable_stale {
                    // The error names the variable and the service's code, never a value.
                    tracing::warn!(error = %error, age_seconds = age.as_secs(), "secret could not be read again; the last value stays in use");
                    Ok(Arc::clone(&slot.value))
                } else {
                    tracing::error!(error = %error, age_seconds = age.as_secs(), "secret could not be read, and the last value is too old to use");
                    Err(error)
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "cache_test.rs"]
mod tests;
