//! The alerts Telerivet traffic raises from counters: a burst of failed sends, and a
//! webhook that keeps arriving with the wrong secret.

use crate::alert::{Alert, AlertKind, DedupKey, Severity, Source};
use crate::pipeline::ThresholdContext;
use std::collections::BTreeMap;

/// Counter fields holding one error message's count start with this.
pub const ERROR_FIELD_PREFIX: &str = "err:";
/// How many distinct error messages an alert names.
const TOP_ERRORS: usize = 5;

fn total(counts: &BTreeMap<String, i64>) -> i64 {
    counts
        .get(crate::store::COUNTER_TOTAL)
        .copied()
        .unwrap_or_default()
}

fn since(ctx: &ThresholdContext) -> String {
    format!(
        "since {} UTC ({} min window)",
        ctx.window_start.format("%H:%M"),
        ctx.window_minutes
    )
}

/// `N SMS failed in project P since 10:00 UTC` (or `N of the M SMS sent in project P since
/// 10:00 UTC … failed (30%)` when the failure ratio raised it), naming the most common
/// errors.
pub fn sms_failures(counts: &BTreeMap<String, i64>, ctx: &ThresholdContext) -> Alert {
    let mut errors: Vec<(&str, i64)> = counts
        .iter()
        .filter_map(|(field, n)| Some((field.strip_prefix(ERROR_FIELD_PREFIX)?, *n)))
        .collect();
    errors.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut notes: Vec<String> = errors
        .iter()
        .take(TOP_ERRORS)
        .map(|(message, n)| format!("{n} × {message}"))
        .collect();
    if errors.len() > TOP_ERRORS {
        notes.push(format!(
            "…and {} other error messages",
            errors.len() - TOP_ERRORS
        ));
    }
    Alert {
        dedup_key: DedupKey::scoped(Source::Telerivet, &format!("sms-failures:{}", ctx.scope)),
        source: Source::Telerivet,
        kind: AlertKind::SmsFailures,
        severity: Severity::Warning,
        status: match ctx.of {
            Some((failed, sends)) => format!(
                "{failed} of the {sends} SMS sent in project {} {} failed ({:.0}%)",
                ctx.scope,
                since(ctx),
                100.0 * failed as f64 / sends.max(1) as f64,
            ),
            None => format!(
                "{} SMS failed in project {} {}",
                total(counts),
                ctx.scope,
                since(ctx)
            ),
        },
        occurred_at: ctx.window_start,
        lines: Vec::new(),
        lines_omitted: 0,
        lines_affected: 0,
        outage_seconds: None,
        notes,
    }
}

/// Requests with a wrong or empty secret: someone changed one side of the webhook.
pub fn webhook_misconfigured(counts: &BTreeMap<String, i64>, ctx: &ThresholdContext) -> Alert {
    let field = |name: &str| counts.get(name).copied().unwrap_or_default();
    Alert {
        dedup_key: DedupKey::scoped(Source::Telerivet, "webhook-misconfigured"),
        source: Source::Telerivet,
        kind: AlertKind::WebhookMisconfigured,
        severity: Severity::Warning,
        status: format!("{} requests without the right secret {}", total(counts), since(ctx)),
        occurred_at: ctx.window_start,
        lines: Vec::new(),
        lines_omitted: 0,
        lines_affected: 0,
        outage_seconds: None,
        notes: vec![
            format!("{} with a wrong or missing secret (answered 403)", field("wrong_secret")),
            format!(
                "{} status notifications with an empty secret (answered 200, ignored): set a status_secret where messages are sent with a status_url",
                field("empty_secret")
            ),
            "Check the secret in Telerivet (Services → Webhook API, and Project Settings → Webhooks) matches TelerivetWebhookSecret".into(),
        ],
    }
}

#[cfg(test)]
#[path = "alerts_test.rs"]
mod tests;
