//! Every variable a function reads at cold start is set by template.yaml: each function's
//! own configuration loader runs with exactly the environment the template gives it (its
//! secrets stored in the local Secrets Manager), and must start.
//!
//! One test in a binary of its own: it sets the process environment, which no other test
//! may see half-changed.

use dialtone_local::aws;
mod common;

use dialtone_local::secrets::{self, LOCAL_SECRETS};
use dialtone_shared::calls::receiver::{CallsConfig, ExotelCalls, Voipstudio};
use dialtone_shared::secrets::SecretsManager;
use serde_norway::{Mapping, Value};
use std::collections::{BTreeMap, BTreeSet};

const TEMPLATE: &str = include_str!("../../template.yaml");

/// Parameters whose default is empty but which a deployer using every feature sets.
const FEATURE_PARAMETERS: [(&str, &str); 2] = [
    ("ExotelAccountSid", "dialtonelocal1"),
    ("TelerivetProjectId", "PJdialtonelocal1"),
];

/// A function of the template: the binary it deploys and the environment it gets.
struct Function {
    binary: String,
    env: BTreeMap<String, Value>,
}

fn functions(template: &Value) -> Vec<Function> {
    let globals = template["Globals"]["Function"]["Environment"]["Variables"]
        .as_mapping()
        .cloned()
        .unwrap_or_default();
    let resources = template["Resources"].as_mapping().expect("Resources");
    resources
        .values()
        .filter(|r| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .map(|r| {
            let own = r["Properties"]["Environment"]["Variables"]
                .as_mapping()
                .cloned()
                .unwrap_or_default();
            let env = globals
                .iter()
                .chain(own.iter())
                .map(|(k, v)| (k.as_str().expect("variable name").to_owned(), v.clone()))
                .collect();
            Function {
                binary: r["Metadata"]["BuildProperties"]["Binary"]
                    .as_str()
                    .expect("BuildProperties.Binary")
                    .to_owned(),
                env,
            }
        })
        .collect()
}

/// A variable's value as a deployment with every feature on would give it.
fn resolve(value: &Value, parameters: &Mapping) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Tagged(tagged) if tagged.tag == "Ref" => {
            let name = tagged.value.as_str().expect("!Ref names a string");
            if let Some((_, value)) = FEATURE_PARAMETERS.iter().find(|(p, _)| *p == name) {
                return (*value).to_owned();
            }
            match parameters.get(name) {
                Some(parameter) => resolve(&parameter["Default"], parameters),
                // A resource: its name or ARN, which no loader parses.
                None => format!("template-env-{name}"),
            }
        }
        // The condition's true branch: the feature on.
        Value::Tagged(tagged) if tagged.tag == "If" => resolve(&tagged.value[1], parameters),
        Value::Null => String::new(),
        other => panic!("a variable's value the test cannot resolve: {other:?}"),
    }
}

/// Runs the loader `binary`'s main.rs runs at cold start.
async fn load(binary: &str, secrets: &SecretsManager) -> Result<(), String> {
    match binary {
        "exotel-heartbeat" => {
            started(dialtone_shared::heartbeat::receiver::Config::load(secrets).await)
        }
        "telerivet-webhook" => {
            started(dialtone_shared::telerivet::receiver::Config::load(secrets).await)
        }
        "voipstudio-webhook" => started(CallsConfig::load::<Voipstudio>(secrets).await),
        "exotel-call-events" => started(CallsConfig::load::<ExotelCalls>(secrets).await),
        "dashboard" => started(dashboard::Config::load(secrets).await),
        "heartbeat-watchdog" => started(heartbeat_watchdog::Config::load(secrets).await),
        "call-log-aggregator" => started(call_log_aggregator::Config::load(secrets).await),
        "callback-watchdog" => started(callback_watchdog::Config::from_env()),
        "sms-watchdog" => started(sms_watchdog::Config::load(secrets).await),
        "alert-dispatcher" => started(alert_dispatcher::Config::load(secrets).await),
        "slack-notifier" => started(slack_notifier::Config::load(secrets).await),
        other => Err(format!(
            "no loader known for {other}: add its main.rs loader here"
        )),
    }
}

fn started<T, E: std::fmt::Display>(loaded: Result<T, E>) -> Result<(), String> {
    loaded.map(drop).map_err(|e| e.to_string())
}

/// Secret names by the variable that names them: the local run's, and a Slack webhook.
async fn stored_secrets() -> BTreeMap<&'static str, String> {
    let config = aws::from_env().await;
    let prefix = format!("template-env-{}", std::process::id());
    let mut names: BTreeMap<_, _> = secrets::put_all(&config, &prefix)
        .await
        .expect("secrets stored")
        .into_iter()
        .collect();
    let slack = format!("{prefix}/slack-webhook-url");
    secrets::put(
        &config,
        &slack,
        "https://hooks.slack.com/services/T0000/B0000/template0env0check",
    )
    .await
    .expect("slack secret stored");
    names.insert(slack_notifier::WEBHOOK_URL_VAR, slack);
    names
}

#[tokio::test]
async fn every_function_starts_with_exactly_the_environment_the_template_gives_it() {
    common::require_local_stack();
    let template: Value = serde_norway::from_str(TEMPLATE).expect("template.yaml parses");
    let parameters = template["Parameters"]
        .as_mapping()
        .expect("Parameters")
        .clone();
    let functions = functions(&template);
    assert_eq!(functions.len(), 11, "the template deploys eleven functions");
    let secret_names = stored_secrets().await;
    let secrets = SecretsManager::new(&aws::from_env().await);

    // Every variable any function of the template gets, and every secret variable the
    // local run knows: cleared before each function, so none leaks into another's check.
    let mut all: BTreeSet<String> = functions
        .iter()
        .flat_map(|f| f.env.keys().cloned())
        .collect();
    all.extend(LOCAL_SECRETS.iter().map(|s| s.id_var.to_owned()));
    all.insert(slack_notifier::WEBHOOK_URL_VAR.to_owned());

    let mut failures = Vec::new();
    for function in &functions {
        for name in &all {
            std::env::remove_var(name);
        }
        // With nothing set, the loader must refuse to start: it does read its environment.
        if load(&function.binary, &secrets).await.is_ok() {
            failures.push(format!(
                "{}: started with an empty environment",
                function.binary
            ));
        }
        for (name, value) in &function.env {
            let value = match secret_names.get(name.as_str()) {
                Some(secret) => secret.clone(),
                None if name.ends_with("_SECRET_ID") => {
                    failures.push(format!(
                        "{}: {name} names no secret of the local run",
                        function.binary
                    ));
                    continue;
                }
                None => resolve(value, &parameters),
            };
            std::env::set_var(name, value);
        }
        if let Err(e) = load(&function.binary, &secrets).await {
            failures.push(format!("{}: {e}", function.binary));
        }
    }
    for name in &all {
        std::env::remove_var(name);
    }
    assert!(
        failures.is_empty(),
        "template.yaml vs the functions' loaders:\n{}",
        failures.join("\n")
    );
}
