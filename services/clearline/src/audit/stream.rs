//! Every event in the stream, read once with an ordered consumer of its own.

use async_nats::jetstream::{self, consumer::pull::OrderedConfig};
use clearline_contracts::{subjects, CaseEvent};
use futures::StreamExt;
use std::collections::HashSet;
use std::time::Duration;

/// The stream's events, each once (a replayed dead letter is the same event again).
pub async fn read_all(js: &jetstream::Context) -> anyhow::Result<Vec<CaseEvent>> {
    let mut stream = js.get_stream(subjects::STREAM).await?;
    let state = stream.info().await?.state.clone();
    if state.messages == 0 {
        return Ok(Vec::new());
    }
    let consumer = stream
        .create_consumer(OrderedConfig {
            deliver_policy: jetstream::consumer::DeliverPolicy::All,
            ..Default::default()
        })
        .await?;
    let mut messages = consumer.messages().await?;
    let mut seen = HashSet::new();
    let mut events = Vec::new();
    loop {
        let next = tokio::time::timeout(Duration::from_secs(10), messages.next())
            .await
            .map_err(|_| {
                anyhow::anyhow!("the stream stopped delivering before its last message")
            })?;
        let Some(message) = next else { break };
        let message = message?;
        let sequence = message
            .info()
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .stream_sequence;
        if let Ok(event) = CaseEvent::decode_checked(&message.payload) {
            if seen.insert(event.event_uuid()) {
                events.push(event);
            }
        }
        if sequence >= state.last_sequence {
            break;
        }
    }
    Ok(events)
}
