//! The JetStream stream that holds every case event.

use async_nats::jetstream::{self, stream};
use clearline_contracts::subjects;
use std::time::Duration;

/// How long the broker remembers a `Nats-Msg-Id`: a relay that crashed after publishing and
/// before marking the row sent republishes within this window and the broker drops the copy.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(10 * 60);

/// Connects to NATS and makes sure the stream exists. Every service calls this at start, so
/// whichever starts first creates the stream and the others find it.
pub async fn connect(
    url: &str,
    client_name: &str,
) -> anyhow::Result<(async_nats::Client, jetstream::Context)> {
    let client = async_nats::ConnectOptions::new()
        .name(client_name)
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
            // Kept long enough to rebuild a read model from the stream.
            max_age: Duration::from_secs(400 * 24 * 3600),
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
