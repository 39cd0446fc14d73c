//! What the dispatcher may add to an alert on its way out: facts a provider's API knows
//! that the receiver did not wait for (the heartbeat's lines' details, `heartbeat::enrich`).
//! The alert is stored first; this never holds it back longer than the enricher's deadline.

use dialtone_shared::alert::Alert;
use dialtone_shared::heartbeat::enrich::DetailsEnricher;
use std::future::Future;

/// The dispatcher's one question to whoever can add to an alert.
pub trait AlertEnricher: Send + Sync {
    /// The alert as it should go out, or `None` to publish it as stored.
    fn enrich(&self, alert: &Alert) -> impl Future<Output = Option<Alert>> + Send;
}

/// `None`: no provider's API configured, alerts go out as stored.
impl<E: AlertEnricher> AlertEnricher for Option<E> {
    async fn enrich(&self, alert: &Alert) -> Option<Alert> {
        match self {
            Some(enricher) => enricher.enrich(alert).await,
            None => None,
        }
    }
}

impl AlertEnricher for DetailsEnricher {
    async fn enrich(&self, alert: &Alert) -> Option<Alert> {
        DetailsEnricher::enrich(self, alert).await
    }
}
