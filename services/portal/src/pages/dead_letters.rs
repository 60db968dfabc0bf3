//! Dead letters across the consuming services: the events no delivery could apply, which
//! case each holds up and why, a page per letter, and (admins only) a replay. Each service
//! keeps its own (`/api/v1/dead-letters`); this page asks them all and says which it could
//! not reach rather than showing a shorter list as if it were complete.

use super::clerk::encode;
use super::{after_post, posted_form, render, Chrome, Nav, PageError, ADMIN, DEAD_LETTERS};
use crate::api::dto::{DeadLetter, DeadLetterList};
use crate::api::{ApiFailure, Service};
use crate::i18n::{self, Lang};
use crate::session::Viewer;
use crate::AppState;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

/// How much of an error the list shows; the letter's page shows all of it.
const ERROR_PREVIEW_CHARS: usize = 160;

pub struct LetterRow {
    pub service_code: &'static str,
    pub service: String,
    pub event_id: Uuid,
    pub event: String,
    pub case_id: Option<Uuid>,
    pub case_number: String,
    pub unit: String,
    pub error: String,
    pub deliveries: i64,
    pub failed: String,
    pub resolved: bool,
}

/// The event's name in words: from the decoded type, else the subject's last part.
fn event_name(lang: Lang, letter: &DeadLetter) -> String {
    let code = letter.event_type.clone().unwrap_or_else(|| {
        letter
            .subject
            .rsplit('.')
            .next()
            .unwrap_or_default()
            .to_string()
    });
    i18n::event(lang, &code)
}

fn row(app: &AppState, lang: Lang, service: Service, letter: DeadLetter) -> LetterRow {
    let mut error: String = letter.error.chars().take(ERROR_PREVIEW_CHARS).collect();
    if error.len() < letter.error.len() {
        error.push('…');
    }
    LetterRow {
        service_code: service.name(),
        service: i18n::service(lang, service.name()),
        event: event_name(lang, &letter),
        event_id: letter.event_id,
        case_id: letter.case_id,
        case_number: letter.case_number.unwrap_or_default(),
        unit: letter.unit.unwrap_or_default(),
        error,
        deliveries: letter.deliveries,
        failed: app.zone.datetime(letter.failed_at),
        resolved: letter.resolved_at.is_some(),
    }
}

#[derive(Template)]
#[template(path = "dead_letters.html")]
struct ListPage {
    c: Chrome,
    rows: Vec<LetterRow>,
    unreachable: Vec<String>,
    show_resolved: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    all: Option<String>,
}

/// `GET /dead-letters`: every consuming service's, newest first.
pub async fn list(
    State(app): State<AppState>,
    viewer: Viewer,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    viewer.require(DEAD_LETTERS)?;
    let lang = viewer.lang;
    let token = viewer.bearer(&app.keys)?;
    let show_resolved = query.all.is_some_and(|a| !a.is_empty());
    let path = format!("/api/v1/dead-letters?all={show_resolved}");
    let answers = futures::future::join_all(
        Service::ALL
            .iter()
            .map(|s| app.api.get::<DeadLetterList>(&token, *s, &path)),
    )
    .await;
    let mut rows = Vec::new();
    let mut unreachable = Vec::new();
    for (service, answer) in Service::ALL.into_iter().zip(answers) {
        match answer {
            Ok(list) => rows.extend(
                list.dead_letters
                    .into_iter()
                    .map(|letter| (letter.failed_at, row(&app, lang, service, letter))),
            ),
            Err(ApiFailure::Refused { status: 403, .. }) => return Err(PageError::Forbidden(lang)),
            Err(error) => {
                tracing::warn!(
                    service = service.name(),
                    code = error.code(),
                    "dead letters unavailable"
                );
                unreachable.push(i18n::service(lang, service.name()));
            }
        }
    }
    rows.sort_by_key(|(failed_at, _)| std::cmp::Reverse(*failed_at));
    let page = ListPage {
        c: Chrome::new(&viewer, lang.t().dead_letters_title, Nav::DeadLetters),
        rows: rows.into_iter().map(|(_, row)| row).collect(),
        unreachable,
        show_resolved,
    };
    render(lang, &page)
}

#[derive(Template)]
#[template(path = "dead_letter.html")]
struct LetterPage {
    c: Chrome,
    letter: LetterRow,
    subject: String,
    full_error: String,
    consumer: String,
    replays: i64,
    /// When the last replay was asked for, and the user id who asked (shown verbatim).
    last_replay: Option<(String, String)>,
    resolved_at: Option<String>,
    may_replay: bool,
    message: Option<&'static str>,
    refused: Option<&'static str>,
}

#[derive(Debug, Default, Deserialize)]
pub struct LetterQuery {
    replayed: Option<String>,
    refused: Option<String>,
}

fn service_of(lang: Lang, name: &str) -> Result<Service, PageError> {
    Service::parse(name).ok_or(PageError::NotFound(lang))
}

/// `GET /dead-letters/{service}/{event_id}`.
pub async fn show(
    State(app): State<AppState>,
    viewer: Viewer,
    Path((service, event_id)): Path<(String, Uuid)>,
    Query(query): Query<LetterQuery>,
) -> Result<Response, PageError> {
    let user = viewer.require(DEAD_LETTERS)?;
    let lang = viewer.lang;
    let t = lang.t();
    let service = service_of(lang, &service)?;
    let token = viewer.bearer(&app.keys)?;
    let letter: DeadLetter = app
        .api
        .get(&token, service, &format!("/api/v1/dead-letters/{event_id}"))
        .await
        .map_err(|e| PageError::from_api(lang, e))?;
    let page = LetterPage {
        subject: letter.subject.clone(),
        full_error: letter.error.clone(),
        consumer: letter.consumer.clone(),
        replays: letter.replays,
        last_replay: letter.replayed_at.map(|at| {
            (
                app.zone.datetime(at),
                letter.replayed_by.clone().unwrap_or_default(),
            )
        }),
        resolved_at: letter.resolved_at.map(|at| app.zone.datetime(at)),
        may_replay: user.has_any(ADMIN) && letter.resolved_at.is_none(),
        message: match query.replayed.as_deref() {
            Some("applied") => Some(t.replay_applied),
            Some("failed") => Some(t.replay_failed),
            Some("requested") => Some(t.replay_requested),
            Some("already_resolved") => Some(t.replay_already),
            _ => None,
        },
        refused: query.refused.map(|code| i18n::refusal(lang, &code)),
        c: Chrome::new(&viewer, t.dead_letter_title, Nav::DeadLetters),
        letter: row(&app, lang, service, letter),
    };
    render(lang, &page)
}

/// `POST /dead-letters/{service}/{event_id}/replay` (admins): has the letter's consumer
/// apply it again and comes back to its page with what happened.
pub async fn replay(
    State(app): State<AppState>,
    viewer: Viewer,
    Path((service, event_id)): Path<(String, Uuid)>,
    body: Bytes,
) -> Result<Response, PageError> {
    posted_form(&viewer, &body, ADMIN)?;
    let lang = viewer.lang;
    let name = service;
    let service = service_of(lang, &name)?;
    let token = viewer.bearer(&app.keys)?;
    let back = format!("/dead-letters/{name}/{event_id}");
    let path = format!("/api/v1/dead-letters/{event_id}/replay");
    let result = app.api.post(&token, service, &path, &json!({}), None).await;
    let outcome = result
        .as_ref()
        .ok()
        .and_then(|report| report["outcome"].as_str())
        .unwrap_or_default()
        .to_string();
    after_post(
        lang,
        result,
        &format!("{back}?replayed={}", encode(&outcome)),
        |code| format!("{back}?refused={}", encode(code)),
    )
}
