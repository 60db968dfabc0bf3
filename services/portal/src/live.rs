//! Live updates: the portal listens to every case event with a plain (core) NATS
//! subscription on `clearline.case.>`, never a durable consumer, so it takes nothing away
//! from the services and a portal restart loses nothing but notifications. Each event is
//! passed on as a server-sent event to the browsers whose user may see its unit; pages then
//! fetch their live region again.

use crate::pages::errors::PageError;
use crate::session::Viewer;
use crate::AppState;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use clearline_contracts::subjects::SUBJECTS;
use clearline_contracts::CaseEvent;
use clearline_platform::shutdown::Shutdown;
use futures::{Stream, StreamExt};
use prost::Message;
use serde::Serialize;
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::broadcast;

/// What a browser learns about an event: enough to know which page region changed.
#[derive(Debug, Clone, Serialize)]
pub struct LiveEvent {
    #[serde(rename = "type")]
    pub kind: String,
    pub unit: String,
    pub case_number: String,
    pub case_id: String,
}

/// Fans events out to every open page.
#[derive(Clone)]
pub struct Hub {
    tx: broadcast::Sender<LiveEvent>,
    /// Cancelled at shutdown, so open streams end instead of holding the server open.
    closed: Shutdown,
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new()
    }
}

impl Hub {
    pub fn new() -> Hub {
        // A page that falls this far behind skips ahead; it refetches its region anyway.
        let (tx, _) = broadcast::channel(1024);
        Hub {
            tx,
            closed: Shutdown::new(),
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.tx.subscribe()
    }

    pub fn publish(&self, event: LiveEvent) {
        // No open page is not an error.
        let _ = self.tx.send(event);
    }
}

/// Relays case events from NATS to the hub until `shutdown`.
pub async fn listen(nats: async_nats::Client, hub: Hub, shutdown: Shutdown) {
    let mut subscription = match nats.subscribe(SUBJECTS).await {
        Ok(s) => s,
        Err(error) => {
            tracing::error!(%error, "portal could not subscribe to case events; no live updates");
            return;
        }
    };
    loop {
        tokio::select! {
            () = shutdown.cancelled() => {
                hub.closed.cancel();
                break;
            }
            message = subscription.next() => {
                let Some(message) = message else { break };
                match CaseEvent::decode(message.payload.as_ref()) {
                    Ok(event) => hub.publish(LiveEvent {
                        kind: event.r#type,
                        unit: event.unit,
                        case_number: event.case_number,
                        case_id: event.case_id,
                    }),
                    Err(error) => tracing::warn!(%error, subject = %message.subject, "undecodable case event skipped"),
                }
            }
        }
    }
    let _ = subscription.unsubscribe().await;
}

/// `GET /live`: the signed-in user's stream of case events (their unit's, or all units'
/// for staff above the stations).
pub async fn stream(
    State(app): State<AppState>,
    viewer: Viewer,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, PageError> {
    let user = viewer.signed_in()?.clone();
    let receiver = app.live.subscribe();
    let closed = app.live.closed.clone();
    let events = futures::stream::unfold(receiver, move |mut receiver| {
        let unit = user.unit.clone();
        let closed = closed.clone();
        async move {
            loop {
                let next = tokio::select! {
                    () = closed.cancelled() => return None,
                    next = receiver.recv() => next,
                };
                match next {
                    Ok(event) => {
                        if unit.as_ref().is_some_and(|u| *u != event.unit) {
                            continue;
                        }
                        let data = serde_json::to_string(&event).unwrap_or_default();
                        return Some((Ok(Event::default().event("case").data(data)), receiver));
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        return Some((Ok(Event::default().event("case").data("{}")), receiver));
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
