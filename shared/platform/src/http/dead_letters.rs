//! `/api/v1/dead-letters`: every consuming service lists, shows and replays its own dead
//! letters (see [`crate::dead_letters`]). Supervisors and admins read; admins replay.

use super::{ApiError, ApiPath, AuthUser, JwtKeys, Role};
use crate::dead_letters::{self, DeadLetter, ReplayOutcome};
use axum::extract::{FromRef, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use clearline_contracts::CaseEvent;
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

#[derive(Clone)]
pub struct DeadLetterApi {
    pub db: DatabaseConnection,
    pub keys: Arc<JwtKeys>,
}

impl FromRef<DeadLetterApi> for Arc<JwtKeys> {
    fn from_ref(api: &DeadLetterApi) -> Self {
        api.keys.clone()
    }
}

pub fn router(api: DeadLetterApi) -> Router {
    Router::new()
        .route("/api/v1/dead-letters", get(list))
        .route("/api/v1/dead-letters/{event_id}", get(show))
        .route("/api/v1/dead-letters/{event_id}/replay", post(replay))
        .with_state(api)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// true: the resolved ones too.
    pub all: Option<bool>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeadLetterList {
    pub dead_letters: Vec<DeadLetterDetail>,
}

/// A dead letter with what its bytes say (event type and case facts, never personal data),
/// so an operator sees which case it holds up without opening each one.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeadLetterDetail {
    #[serde(flatten)]
    pub letter: DeadLetter,
    pub event_type: Option<String>,
    pub case_number: Option<String>,
    pub unit: Option<String>,
    pub service_type: Option<String>,
}

impl DeadLetterDetail {
    /// The letter and what its stored bytes decode to (nothing when they do not decode).
    fn read(letter: DeadLetter, payload: &[u8]) -> DeadLetterDetail {
        let event = CaseEvent::decode_checked(payload).ok();
        DeadLetterDetail {
            letter,
            event_type: event.as_ref().map(|e| e.r#type.clone()),
            case_number: event.as_ref().map(|e| e.case_number.clone()),
            unit: event.as_ref().map(|e| e.unit.clone()),
            service_type: event.map(|e| e.service_type),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReplayReport {
    pub event_id: Uuid,
    pub outcome: ReplayOutcome,
    /// The dead letter as it stands after the replay (its error, when it failed again).
    pub letter: DeadLetter,
}

/// How long a replay request waits for the consumer to take it up (it looks every second).
const REPLAY_WAIT: Duration = Duration::from_secs(10);

fn readers(user: &AuthUser) -> Result<(), ApiError> {
    user.require_any(&[Role::Supervisor, Role::Admin])
}

async fn list(
    State(api): State<DeadLetterApi>,
    user: AuthUser,
    axum::extract::Query(query): axum::extract::Query<ListQuery>,
) -> Result<Json<DeadLetterList>, ApiError> {
    readers(&user)?;
    let dead_letters = dead_letters::list(&api.db, !query.all.unwrap_or(false))
        .await
        .map_err(ApiError::internal)?
        .into_iter()
        .map(|(letter, payload)| DeadLetterDetail::read(letter, &payload))
        .collect();
    Ok(Json(DeadLetterList { dead_letters }))
}

async fn find(api: &DeadLetterApi, event_id: Uuid) -> Result<(DeadLetter, Vec<u8>), ApiError> {
    dead_letters::get(&api.db, event_id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| {
            ApiError::not_found("dead_letter_not_found", "no dead letter with that event id")
        })
}

async fn show(
    State(api): State<DeadLetterApi>,
    user: AuthUser,
    ApiPath(event_id): ApiPath<Uuid>,
) -> Result<Json<DeadLetterDetail>, ApiError> {
    readers(&user)?;
    let (letter, payload) = find(&api, event_id).await?;
    Ok(Json(DeadLetterDetail::read(letter, &payload)))
}

async fn replay(
    State(api): State<DeadLetterApi>,
    user: AuthUser,
    ApiPath(event_id): ApiPath<Uuid>,
) -> Result<Json<ReplayReport>, ApiError> {
    user.require_any(&[Role::Admin])?;
    let (mut letter, _) = find(&api, event_id).await?;
    let mut outcome = dead_letters::request_replay(&api.db, &letter, &user.id)
        .await
        .map_err(ApiError::internal)?;
    let asked = Instant::now();
    while outcome == ReplayOutcome::Requested && asked.elapsed() < REPLAY_WAIT {
        tokio::time::sleep(Duration::from_millis(100)).await;
        letter = find(&api, event_id).await?.0;
        outcome = dead_letters::replay_state(&letter);
    }
    tracing::info!(event_id = %event_id, consumer = %letter.consumer, ?outcome, "dead letter replay");
    Ok(Json(ReplayReport {
        event_id,
        outcome,
        letter,
    }))
}
