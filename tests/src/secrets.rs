//! The template's secrets in the local Secrets Manager (moto), so the functions read them
//! through the same code as in AWS.

use crate::exotel::{API_KEY, API_TOKEN};
use crate::LocalError;
use aws_config::SdkConfig;
use aws_sdk_secretsmanager::error::ProvideErrorMetadata;

/// A secret of the template, as the local run stores it.
pub struct LocalSecret {
    /// The variable that names the secret for the functions.
    pub id_var: &'static str,
    /// Its name after the stack prefix, as in template.yaml.
    pub name: &'static str,
    /// The variable a developer sets to choose the local value.
    pub value_var: &'static str,
    pub default: fn() -> String,
}

pub const LOCAL_SECRETS: [LocalSecret; 7] = [
    LocalSecret {
        id_var: "EXOTEL_HEARTBEAT_TOKEN_SECRET_ID",
        name: "exotel-heartbeat-token",
        value_var: "EXOTEL_HEARTBEAT_TOKEN",
        default: || "local-dev-token-0123456789".into(),
    },
    LocalSecret {
        id_var: "EXOTEL_CALLS_TOKEN_SECRET_ID",
        name: "exotel-calls-token",
        value_var: "EXOTEL_CALLS_TOKEN",
        default: || "local-exotel-calls-token-0123456789".into(),
    },
    LocalSecret {
        id_var: "VOIPSTUDIO_WEBHOOK_TOKEN_SECRET_ID",
        name: "voipstudio-webhook-token",
        value_var: "VOIPSTUDIO_WEBHOOK_TOKEN",
        default: || "local-voipstudio-token-0123456789".into(),
    },
    LocalSecret {
        id_var: "TELERIVET_WEBHOOK_SECRET_ID",
        name: "telerivet-webhook-secret",
        value_var: "TELERIVET_WEBHOOK_SECRET",
        default: || "local-telerivet-secret-0123456789".into(),
    },
    LocalSecret {
        id_var: "TELERIVET_API_SECRET_ID",
        name: "telerivet-api-key",
        value_var: "TELERIVET_API_KEY",
        default: || "local-telerivet-api-key-0123456789".into(),
    },
    LocalSecret {
        id_var: "DASHBOARD_TOKEN_SECRET_ID",
        name: "dashboard-token",
        value_var: "DASHBOARD_TOKEN",
        default: || "local-dashboard-token-0123456789".into(),
    },
    LocalSecret {
        id_var: "EXOTEL_API_SECRET_ID",
        name: "exotel-api",
        value_var: "EXOTEL_API_CREDENTIALS",
        // The credentials the local Exotel accepts, as Exotel's API settings page gives them.
        default: || serde_json::json!({"api_key": API_KEY, "api_token": API_TOKEN}).to_string(),
    },
];

impl LocalSecret {
    /// The developer's value, or the local default.
    pub fn value(&self) -> String {
        std::env::var(self.value_var).unwrap_or_else(|_| (self.default)())
    }
}

/// The local value of the secret `value_var` chooses.
pub fn local_value(value_var: &str) -> String {
    LOCAL_SECRETS
        .iter()
        .find(|s| s.value_var == value_var)
        .map_or_else(
            || std::env::var(value_var).unwrap_or_default(),
            LocalSecret::value,
        )
}

/// Stores `value` as the current version of the secret `name` (created if new) and returns
/// its ARN, as a Secret resource's `Ref` gives it in AWS.
pub async fn put(config: &SdkConfig, name: &str, value: &str) -> Result<String, LocalError> {
    let client = aws_sdk_secretsmanager::Client::new(config);
    let created = client
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await;
    let arn = match created {
        Ok(out) => out.arn,
        Err(e) if e.code() == Some("ResourceExistsException") => {
            client
                .put_secret_value()
                .secret_id(name)
                .secret_string(value)
                .send()
                .await
                .map_err(LocalError::aws)?
                .arn
        }
        Err(e) => return Err(LocalError::aws(e)),
    };
    arn.ok_or_else(|| LocalError::Aws(format!("secret {name}: no ARN in the answer")))
}

/// Stores every template secret under `prefix/` and returns `(id_var, name)` for the
/// functions' environment: names, not ARNs, since moto gives a secret a new ARN after each
/// reset and a running emulator keeps the environment it started with.
pub async fn put_all(
    config: &SdkConfig,
    prefix: &str,
) -> Result<Vec<(&'static str, String)>, LocalError> {
    let mut env = Vec::with_capacity(LOCAL_SECRETS.len());
    for secret in &LOCAL_SECRETS {
        let name = format!("{prefix}/{}", secret.name);
        put(config, &name, &secret.value()).await?;
        env.push((secret.id_var, name));
    }
    Ok(env)
}
