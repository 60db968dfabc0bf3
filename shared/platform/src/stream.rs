//! The JetStream stream that holds every case event.

use async_nats::jetstream::{self, stream};
use clearline_contracts::subjects;
use std::time::Duration;

/// How long the broker remembers a `Nats-Msg-Id`: a relay that crashed after publishing and
/// before marking the row sent republishes within this window and the broker drops the copy.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(10 * 60);

/// How long events are kept: long enough to rebuild a read model from the stream.
pub const MAX_AGE: Duration = Duration::from_secs(400 * 24 * 3600);

/// The prefix of a client's reply subjects (JetStream API answers, PubAcks, pulled
/// messages): one per client name, so a deployment can let each service subscribe to its
/// own replies only (`_INBOX_intake.>`), never to another service's.
pub fn inbox_prefix(client_name: &str) -> String {
    format!("_INBOX_{client_name}")
}

/// Connects to NATS (as `login`'s user when given) and makes sure the stream exists. Every
/// service calls this at start, so whichever starts first creates the stream and the others
/// find it. A deployment creates the stream itself, with its replicas, and allows the
/// services only to look it up.
pub async fn connect(
    url: &str,
    client_name: &str,
    login: Option<(&str, &str)>,
) -> anyhow::Result<(async_nats::Client, jetstream::Context)> {
    let mut options = async_nats::ConnectOptions::new();
    if let Some((user, password)) = login {
        options = options.user_and_password(user.to_string(), password.to_string());
    }
    let client = options
        .name(client_name)
        .custom_inbox_prefix(inbox_prefix(client_name))
        .retry_on_initial_connect()
        .connection_timeout(Duration::from_secs(5))
        .connect(url)
        .await?;
    let js = jetstream::new(client.clone());
    ensure_stream(&js).await?;
    Ok((client, js))
}

pub async fn ensure_stream(js: &jetstream::Context) -> anyhow::Result<stream::Stream> {
    let created = js
        .get_or_create_stream(stream::Config {
            name: subjects::STREAM.to_string(),
            subjects: vec![subjects::SUBJECTS.to_string()],
            retention: stream::RetentionPolicy::Limits,
            storage: stream::StorageType::File,
            duplicate_window: DUPLICATE_WINDOW,
            max_age: MAX_AGE,
            ..Default::default()
        })
        .await;
    match created {
        Ok(stream) => Ok(stream),
        // Services start together: another one created the stream between our look and our
        // create, and nats-server 2.9 answers the loser "subjects overlap". Use the winner's.
        Err(error) => js
            .get_stream(subjects::STREAM)
            .await
            .map_err(|_| error.into()),
    }
}
