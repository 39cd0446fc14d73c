//! Structured JSON logs for CloudWatch, filtered by `RUST_LOG` (default `info`).

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // A second init (tests that build several handlers in one process) is harmless.
    let _ = subscriber(filter, std::io::stdout).try_init();
}

/// One JSON object a line. The innermost span's fields ride along under `span` (a webhook
/// request's `request_id` and `provider`, from the pipeline), so that every line of one
/// request can be found by its id; the list of outer spans would only repeat them.
pub fn subscriber<W>(filter: EnvFilter, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .without_time()
        .with_target(false)
        .with_writer(writer)
        .finish()
}

/// Lambda's report of the error that ended a scheduled or stream invocation (its
/// `errorType` and `errorMessage`), written once for every function's error type:
/// `diagnostic!(WatchdogError)` reports the type's name, `diagnostic!(E, E::error_type)`
/// a name per variant. The message is the error's `Display`, which never quotes a secret
/// or a whole phone number.
#[macro_export]
macro_rules! diagnostic {
    ($error:ident) => {
        $crate::diagnostic!($error, |_: &$error| stringify!($error));
    };
    ($error:ty, $error_type:expr) => {
        impl From<$error> for $crate::telemetry::Diagnostic {
            fn from(error: $error) -> Self {
                Self {
                    error_type: ($error_type)(&error).into(),
                    error_message: error.to_string(),
                }
            }
        }
    };
}

pub use lambda_http::lambda_runtime::Diagnostic;
