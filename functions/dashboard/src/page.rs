//! The page a person opens: server-rendered HTML with inline CSS and an inline SVG chart, no
//! script and nothing fetched from elsewhere. It refreshes itself every minute.
//!
//! Every figure that comes from `/api/dashboard` is marked with `data-figure="<JSON
//! pointer>"` and shows the API's value as is (`—` for none), so a browser test can check
//! the page against the API.

use crate::signin::{Minted, SHARE_HOURS};
use crate::view::{Dashboard, TutorialMetrics};
use dialtone_shared::alert::human_duration;
use lambda_http::http::StatusCode;
use maud::{html, Markup, PreEscaped, DOCTYPE};

const STYLE: &str = r#"
:root{--ok:#1a7f37;--warn:#9a6700;--crit:#cf222e;--muted:#57606a;--line:#d0d7de;--bg:#f6f8fa}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;background:var(--bg)}
header{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;padding:1rem;background:#fff;border-bottom:1px solid var(--line)}
header h1{font-size:1.15rem;margin:0}
main{max-width:1100px;margin:0 auto;padding:1rem;display:grid;grid-template-columns:minmax(0,1fr);gap:1rem}
.badge{display:inline-block;padding:.2rem .6rem;border-radius:1rem;font-weight:600;color:#fff;background:var(--muted)}
.badge.OK{background:var(--ok)}.badge.WARNING,.badge.PAYLOAD_TOO_LARGE{background:var(--warn)}.badge.CRITICAL{background:var(--crit)}
.muted{color:var(--muted)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(9.5rem,1fr));gap:.75rem}
.card,section{background:#fff;border:1px solid var(--line);border-radius:.5rem;padding:.8rem;min-width:0}
.card .n{display:block;font-size:1.6rem;font-weight:650}
.card .l{color:var(--muted);font-size:.85rem}
section h2{font-size:1rem;margin:0 0 .5rem}
table{width:100%;border-collapse:collapse;font-size:.9rem}
th,td{text-align:left;padding:.3rem .4rem;border-bottom:1px solid var(--line);vertical-align:top}
.affected{color:var(--crit);font-weight:600}.ok{color:var(--ok)}
.critical{border-left:4px solid var(--crit)}.warning{border-left:4px solid var(--warn)}.info{border-left:4px solid var(--muted)}
ul.alerts{list-style:none;margin:0;padding:0;display:grid;gap:.4rem}
ul.alerts li{padding:.3rem .6rem;background:var(--bg);overflow-wrap:anywhere}
svg{width:100%;height:auto}
svg rect{fill:#0969da}svg text{font-size:10px;fill:var(--muted)}
.scroll{overflow-x:auto}
form.inline{display:inline-flex;gap:.4rem;align-items:center;margin:0}
header form.inline:first-of-type{margin-left:auto}
label{display:block;font-weight:600;margin:.6rem 0 .3rem}
input,select,button{font:inherit;padding:.5rem .7rem;border:1px solid var(--line);border-radius:.4rem;background:#fff;color:inherit}
input[type=password],input[type=text]{width:100%}
button{background:#0969da;border-color:#0969da;color:#fff;font-weight:600;cursor:pointer}
button.quiet{background:#fff;color:#1f2328;border-color:var(--line)}
.signin{max-width:26rem;margin:3rem auto}
.signin button{margin-top:.8rem;width:100%}
.notice{padding:.5rem .7rem;background:#fff8c5;border:1px solid #d4a72c;border-radius:.4rem}
"#;

/// A figure from the API, shown as the API has it.
fn figure(pointer: &str, value: Option<String>) -> Markup {
    html! { span data-figure=(pointer) { (value.unwrap_or_else(|| "—".into())) } }
}

fn card(label: &str, pointer: &str, value: Option<String>) -> Markup {
    html! { div.card { span.n { (figure(pointer, value)) } span.l { (label) } } }
}

fn ago(seconds: Option<i64>) -> String {
    match seconds {
        Some(s) if s >= 0 => format!("{} ago", human_duration(s)),
        Some(_) => "just now".into(),
        None => "never".into(),
    }
}

fn chart(metrics: &TutorialMetrics) -> Markup {
    let max = metrics
        .hourly_distribution
        .iter()
        .copied()
        .max()
        .unwrap_or(0)
        .max(1);
    let (width, height, bar) = (720.0, 170.0, 26.0);
    html! {
        svg viewBox="0 0 720 190" role="img" aria-label="Calls by hour of the day" {
            @for (hour, count) in metrics.hourly_distribution.iter().enumerate() {
                @let h = height * (*count as f64) / (max as f64);
                @let x = hour as f64 * width / 24.0 + 2.0;
                rect x=(format!("{x:.1}")) y=(format!("{:.1}", height - h)) width=(bar) height=(format!("{h:.1}"))
                    data-hour=(hour) data-count=(count) {
                    title { (format!("{hour}:00 — {count} calls")) }
                }
                @if hour % 3 == 0 {
                    text x=(format!("{x:.1}")) y="185" { (format!("{hour}:00")) }
                }
            }
        }
    }
}

/// What the page offers besides the figures.
#[derive(Clone, Copy, Debug)]
pub struct Controls {
    /// A browser session, which can be signed out of.
    pub signed_in: bool,
    /// May mint share links (not a session that came from one).
    pub can_share: bool,
}

fn hours_select() -> Markup {
    html! {
        select name="hours" aria-label="share link lasts" {
            @for hours in SHARE_HOURS {
                option value=(hours) selected[hours == 24] { (hours) " h" }
            }
        }
    }
}

pub fn dashboard(view: &Dashboard, controls: Controls) -> Markup {
    let m = &view.metrics;
    let health = &view.health;
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(&health.status.to_string(), true))
            body {
                header {
                    h1 { "dialtone" }
                    span class={ "badge " (health.status) } { (figure("/health/status", Some(health.status.clone()))) }
                    span.muted { "last heartbeat " (ago(health.last_heartbeat_age_seconds)) }
                    @if health.silence != "HEARD" {
                        span.badge.CRITICAL { "heartbeats " (figure("/health/silence", Some(health.silence.to_owned()))) }
                    }
                    span.muted { (view.day) " · " (view.time_zone) }
                    @if controls.can_share {
                        form.inline method="post" action="share" {
                            (hours_select())
                            button.quiet type="submit" { "Share link" }
                        }
                    }
                    @if controls.signed_in {
                        form.inline method="post" action="signout" {
                            button.quiet type="submit" { "Sign out" }
                        }
                    }
                }
                main {
                    div.cards {
                        (card("calls today", "/metrics/totalCalls", Some(m.total_calls.to_string())))
                        (card("answer rate", "/metrics/answerRate", Some(m.answer_rate.clone())))
                        (card("average talk time", "/metrics/avgDuration", Some(m.avg_duration.clone())))
                        (card("peak hour", "/metrics/peakHour", m.peak_hour.clone()))
                        (card("missed", "/metrics/missed", Some(m.missed.to_string())))
                        (card("busy", "/metrics/busy", Some(m.busy.to_string())))
                        (card("failed", "/metrics/failed", Some(m.failed.to_string())))
                        (card("outgoing SMS", "/sms/sent", Some(view.sms.sent.to_string())))
                        (card("SMS delivered", "/sms/delivered", Some(view.sms.delivered.to_string())))
                        (card("SMS delivery rate %", "/sms/deliveryRate", view.sms.delivery_rate.clone()))
                        (card("SMS failed", "/sms/failed", Some(view.sms.failed.to_string())))
                        (card("SMS stuck", "/sms/gateways/stuck", Some(view.sms.gateways.stuck.to_string())))
                        (card("SMS links clicked", "/sms/clicked", Some(view.sms.clicked.to_string())))
                        div.card { span.n { (view.callbacks.len()) } span.l { "callbacks owed" } }
                    }
                    section {
                        h2 { "Calls by hour" }
                        (chart(m))
                        p.muted {
                            "Exotel's call log read through "
                            @match view.data_as_of {
                                Some(t) => (t.format("%Y-%m-%d %H:%M UTC")),
                                None => "— (not read yet)",
                            }
                            "; a call is listed once it ends."
                        }
                    }
                    section {
                        h2 { "Open alerts" }
                        @if view.open_alerts.is_empty() {
                            p.muted { "None." }
                        } @else {
                            ul.alerts {
                                @for (i, alert) in view.open_alerts.iter().enumerate() {
                                    li class=(alert.severity) {
                                        (figure(&format!("/openAlerts/{i}/subject"), Some(alert.subject.clone())))
                                        br;
                                        span.muted { (alert.occurred_at.format("%Y-%m-%d %H:%M UTC")) }
                                    }
                                }
                            }
                        }
                    }
                    section {
                        h2 { "Lines" }
                        @if health.details.is_empty() {
                            p.muted { "No line is affected." }
                        } @else {
                            div.scroll { table {
                                tr { th { "ExoPhone" } th { "number" } th { "incoming" } th { "outgoing" } th { "alternate" } }
                                @for (i, line) in health.details.iter().enumerate() {
                                    tr {
                                        td { (figure(&format!("/health/details/{i}/sid"), Some(line.sid.clone()))) }
                                        td { (figure(&format!("/health/details/{i}/phoneNumber"), line.phone_number.clone())) }
                                        td class=(line.incoming) {
                                            (figure(&format!("/health/details/{i}/incoming"), Some(line.incoming.to_owned())))
                                            @if let Some(outage) = line.incoming_outage { br; span.muted { (figure(&format!("/health/details/{i}/incomingOutage"), Some(outage.to_owned()))) } }
                                        }
                                        td class=(line.outgoing) {
                                            (figure(&format!("/health/details/{i}/outgoing"), Some(line.outgoing.to_owned())))
                                            @if let Some(outage) = line.outgoing_outage { br; span.muted { (figure(&format!("/health/details/{i}/outgoingOutage"), Some(outage.to_owned()))) } }
                                        }
                                        td {
                                            (line.alternate_exophones.join(", "))
                                            @if let Some(checked) = line.last_check_time { br; span.muted { "checked " (checked.format("%H:%M UTC")) } }
                                        }
                                    }
                                }
                            } }
                        }
                    }
                    @if !view.sms.by_type.is_empty() {
                        section {
                            h2 { "Messages by type" }
                            div.scroll { table {
                                tr { th { "type" } th { "incoming" } th { "outgoing" } }
                                @for (kind, counts) in &view.sms.by_type {
                                    tr {
                                        td { (kind) }
                                        td { (figure(&format!("/sms/byType/{}/incoming", pointer_escape(kind)), Some(counts.incoming.to_string()))) }
                                        td { (figure(&format!("/sms/byType/{}/outgoing", pointer_escape(kind)), Some(counts.outgoing.to_string()))) }
                                    }
                                }
                            } }
                        }
                    }
                    @if !view.sms.gateways.not_sending.is_empty() {
                        section {
                            h2 { "SMS gateways not sending" }
                            div.scroll { table {
                                tr { th { "phone" } th { "stuck since" } th { "messages waiting" } th { "oldest" } }
                                @for (i, phone) in view.sms.gateways.not_sending.iter().enumerate() {
                                    tr {
                                        td { (figure(&format!("/sms/gateways/notSending/{i}/phoneId"), Some(phone.phone_id.clone()))) }
                                        td { (phone.since.format("%Y-%m-%d %H:%M UTC")) }
                                        td { (figure(&format!("/sms/gateways/notSending/{i}/messages"), Some(phone.messages.to_string()))) }
                                        td { (figure(&format!("/sms/gateways/notSending/{i}/oldestMessage"), Some(phone.oldest_message.clone()))) }
                                    }
                                }
                            } }
                        }
                    }
                    (live_calls(view))
                    (agents(view))
                    (missing_webhooks(view))
                    section {
                        h2 { "Callbacks owed" }
                        @if view.callbacks.is_empty() {
                            p.muted { "Everyone who called has been called back." }
                        } @else {
                            div.scroll { table {
                                tr { th { "caller" } th { "missed calls" } th { "waiting" } }
                                @for (i, callback) in view.callbacks.iter().enumerate() {
                                    tr {
                                        td { (figure(&format!("/callbacks/{i}/customer"), Some(callback.customer.clone()))) }
                                        td { (figure(&format!("/callbacks/{i}/missedCalls"), Some(callback.missed_calls.to_string()))) }
                                        td { (human_duration(callback.waiting_seconds)) }
                                    }
                                }
                            } }
                        }
                    }
                    section {
                        h2 { "By direction and line" }
                        div.scroll { table {
                            tr { th { "" } th { "calls" } th { "answer rate" } th { "missed" } th { "average" } }
                            @for (name, metrics, base) in view.by_direction.iter().map(|(k, v)| (k, v, "byDirection")).chain(view.by_line.iter().map(|(k, v)| (k, v, "byLine"))) {
                                tr {
                                    td { (name) }
                                    td { (figure(&format!("/{base}/{}/totalCalls", pointer_escape(name)), Some(metrics.total_calls.to_string()))) }
                                    td { (figure(&format!("/{base}/{}/answerRate", pointer_escape(name)), Some(metrics.answer_rate.clone()))) }
                                    td { (metrics.missed) }
                                    td { (metrics.avg_duration) }
                                }
                            }
                        } }
                    }
                    p.muted { "Generated " (view.generated_at.format("%Y-%m-%d %H:%M:%S UTC")) "; refreshes every minute." }
                }
            }
        }
    }
}

/// The live calls' counts today per provider, one row a figure so that it reads on a
/// phone (a figure the day has not counted yet shows `—`, as the API has none).
fn live_calls(view: &Dashboard) -> Markup {
    const ROWS: [(&str, &str); 6] = [
        ("calls", "calls"),
        ("answered", "answered"),
        ("missed (callers)", "missed"),
        ("outbound unanswered", "unanswered"),
        ("with a recording", "recorded"),
        ("SMS received", "sms"),
    ];
    html! {
        section {
            h2 { "Live calls today" }
            @if view.call_events.is_empty() {
                p.muted { "No call notification today." }
            } @else {
                div.scroll { table {
                    tr { th { "" } @for provider in view.call_events.keys() { th { (provider) } } }
                    @for (label, field) in ROWS {
                        tr {
                            td { (label) }
                            @for (provider, fields) in &view.call_events {
                                td { (figure(&format!("/callEvents/{}/{field}", pointer_escape(provider)), fields.get(field).map(i64::to_string))) }
                            }
                        }
                    }
                } }
            }
        }
    }
}

/// Each agent's calls today: answered, missed, and their talk time.
fn agents(view: &Dashboard) -> Markup {
    html! {
        section {
            h2 { "Agents today" }
            @if view.agents.is_empty() {
                p.muted { "No agent has taken or made a call today." }
            } @else {
                div.scroll { table {
                    tr { th { "agent" } th { "answered" } th { "missed" } th { "talk time" } }
                    @for (i, agent) in view.agents.iter().enumerate() {
                        tr {
                            td { (figure(&format!("/agents/{i}/agent"), Some(agent.agent.clone()))) }
                            td { (figure(&format!("/agents/{i}/answered"), Some(agent.answered.to_string()))) }
                            td class=[(agent.missed > 0).then_some("affected")] { (figure(&format!("/agents/{i}/missed"), Some(agent.missed.to_string()))) }
                            // The average under the total: four columns fit a phone.
                            td {
                                (human_duration(agent.talk_seconds)) br;
                                span.muted { "avg " (figure(&format!("/agents/{i}/averageTalk"), agent.average_talk.clone())) }
                            }
                        }
                    }
                } }
            }
        }
    }
}

/// Calls Exotel listed that no call notification reported, per ExoPhone, on the newest day
/// compared.
fn missing_webhooks(view: &Dashboard) -> Markup {
    let Some(compared) = &view.missing_webhooks else {
        return html! {
            section {
                h2 { "Calls without a notification" }
                p.muted { "No day compared with the Exotel call notifications yet." }
            }
        };
    };
    html! {
        section {
            h2 {
                "Calls without a notification on "
                (figure("/missingWebhooks/day", Some(compared.day.to_string())))
            }
            p {
                (figure("/missingWebhooks/missing", Some(compared.missing.to_string())))
                " of "
                (figure("/missingWebhooks/listed", Some(compared.listed.to_string())))
                " calls in Exotel's call log produced no call notification."
            }
            @if !compared.lines.is_empty() {
                div.scroll { table {
                    tr { th { "ExoPhone" } th { "listed" } th { "notified" } th { "missing" } }
                    @for (line, figures) in &compared.lines {
                        @let base = format!("/missingWebhooks/lines/{}", pointer_escape(line));
                        tr {
                            td { (line) }
                            td { (figure(&format!("{base}/listed"), Some(figures.listed.to_string()))) }
                            td { (figure(&format!("{base}/notified"), Some(figures.notified.to_string()))) }
                            td class=[(figures.missing > 0).then_some("affected")] { (figure(&format!("{base}/missing"), Some(figures.missing.to_string()))) }
                        }
                    }
                } }
            }
            @if !compared.silent_lines.is_empty() || !compared.left_out_lines.is_empty() {
                p.muted {
                    "Not compared: "
                    (compared.silent_lines.len() + compared.left_out_lines.len())
                    " ExoPhones (no notification in 7 days, or left out by configuration)."
                }
            }
        }
    }
}

/// A key inside a JSON pointer (RFC 6901).
fn pointer_escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The head every page shares; the dashboard refreshes itself each minute.
fn head(title: &str, refreshes: bool) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            @if refreshes {
                meta http-equiv="refresh" content="60";
            }
            title { "dialtone — " (title) }
            style { (PreEscaped(STYLE)) }
        }
    }
}

pub fn error(status: StatusCode, message: &str) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(&status.as_u16().to_string(), false))
            body { main { section {
                h2 { (status.as_u16()) " " (status.canonical_reason().unwrap_or("")) }
                p { (message) }
                p { a href="./" { "Back to the dashboard" } }
            } } }
        }
    }
}

/// The sign-in form: the token goes in a POST body, never in an address.
pub fn sign_in(notice: Option<&str>) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head("sign in", false))
            body { main { section.signin {
                h2 { "dialtone — sign in" }
                @if let Some(notice) = notice {
                    p.notice role="alert" { (notice) }
                }
                form method="post" action="signin" {
                    label for="token" { "Dashboard token" }
                    input #token type="password" name="token" required autocomplete="current-password"
                        autocapitalize="off" spellcheck="false";
                    button type="submit" { "Sign in" }
                }
                p.muted {
                    "The token is the secret " code { "<stack>/dashboard-token" }
                    " in AWS Secrets Manager (output " code { "DashboardTokenSecretArn" } "). "
                    "This browser then stays signed in for some hours, until you sign out or "
                    "the token changes."
                }
            } } }
        }
    }
}

/// A minted share link, to copy and hand out.
pub fn shared(minted: &Minted) -> Markup {
    let until = minted.expires_at.format("%Y-%m-%d %H:%M UTC").to_string();
    html! {
        (DOCTYPE)
        html lang="en" {
            (head("share link", false))
            body { main { section.signin {
                h2 { "Share link" }
                p { "Anyone with this link can view the dashboard (not share it further) until "
                    strong data-expires-at=(minted.expires_at.to_rfc3339()) { (until) } "." }
                label for="link" { "Link" }
                input #link type="text" readonly value=(minted.url) data-share-url=(minted.url);
                p.muted { "Copy it from the box above: opening it here would turn this session into a view-only one." }
                p.muted { "Changing the dashboard token ends every link and session at once." }
                p { a href="./" { "Back to the dashboard" } }
            } } }
        }
    }
}
