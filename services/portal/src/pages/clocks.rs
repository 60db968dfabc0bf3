//! What every case list shows about time besides the status: the promised-time level as a
//! badge, what an open case waits on and for how long, and, for the queues approval and
//! fulfilment own, the backlog's view of each listed case, so that they too sort by what
//! is due first and show the badge.

use crate::api::dto::{CaseItem, CaseLookup};
use crate::api::Service;
use crate::i18n::{self, Lang};
use crate::{clock, AppState};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use uuid::Uuid;

/// A promised-time warning or breach, as a badge.
pub struct SlaBadge {
    /// `warning` or `breached`: the badge's style and the tests' handle.
    pub level: &'static str,
    pub label: &'static str,
}

pub fn sla_badge(lang: Lang, level: Option<&str>) -> Option<SlaBadge> {
    let t = lang.t();
    match level? {
        "warning" => Some(SlaBadge {
            level: "warning",
            label: t.sla_warning,
        }),
        "breached" => Some(SlaBadge {
            level: "breached",
            label: t.sla_breached,
        }),
        _ => None,
    }
}

/// What an open case waits on, since when and for how long, and why a person must look.
pub struct Waiting {
    pub code: String,
    pub reason: String,
    pub since: String,
    pub duration: String,
    pub attention: Option<String>,
}

pub fn waiting(app: &AppState, lang: Lang, item: &CaseItem) -> Option<Waiting> {
    let code = item.wait_reason.as_deref()?;
    Some(Waiting {
        code: code.to_string(),
        reason: i18n::wait_reason(lang, code),
        since: item
            .waiting_since
            .map(|t| app.zone.datetime(t))
            .unwrap_or_default(),
        duration: item
            .waiting_seconds
            .map(|s| clock::age(lang, s))
            .unwrap_or_default(),
        attention: item.attention.as_deref().map(|a| i18n::attention(lang, a)),
    })
}

/// A task of another service's queue and the backlog's row of its case.
pub struct Queued<T> {
    pub task: T,
    pub case: Option<CaseItem>,
    /// The backlog's running deadline when it knows the case, else the task's own.
    pub due: Option<DateTime<Utc>>,
}

impl<T> Queued<T> {
    pub fn level(&self) -> Option<&str> {
        self.case.as_ref().and_then(|c| c.sla_level.as_deref())
    }

    pub fn badge(&self, lang: Lang) -> Option<SlaBadge> {
        sla_badge(lang, self.level())
    }

    pub fn past_due(&self, now: DateTime<Utc>) -> bool {
        self.due.is_some_and(|d| d < now)
    }
}

/// Joins a queue's tasks with the backlog's rows and sorts them what is due first: by the
/// due time (none last), a breach before a warning at the same time, else as given.
pub async fn due_first<T>(
    app: &AppState,
    token: &str,
    tasks: Vec<T>,
    case_id: impl Fn(&T) -> Uuid,
    own_due: impl Fn(&T) -> Option<DateTime<Utc>>,
) -> Vec<Queued<T>> {
    let ids: Vec<Uuid> = tasks.iter().map(&case_id).collect();
    let mut cases = lookup(app, token, &ids).await;
    let mut queued: Vec<Queued<T>> = tasks
        .into_iter()
        .map(|task| {
            let case = cases.remove(&case_id(&task));
            let due = case.as_ref().and_then(|c| c.due_at).or(own_due(&task));
            Queued { task, case, due }
        })
        .collect();
    let rank = |level: Option<&str>| match level {
        Some("breached") => 0,
        Some("warning") => 1,
        _ => 2,
    };
    queued.sort_by_key(|q| (q.due.is_none(), q.due, rank(q.level())));
    queued
}

/// The backlog's rows of the listed cases, by id. A queue still works without them (no
/// badges, the owning service's order), so a failure is logged and gives none.
async fn lookup(app: &AppState, token: &str, ids: &[Uuid]) -> HashMap<Uuid, CaseItem> {
    if ids.is_empty() {
        return HashMap::new();
    }
    let list: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    let path = format!("/api/v1/cases/lookup?ids={}", list.join(","));
    match app
        .api
        .get::<CaseLookup>(token, Service::Backlog, &path)
        .await
    {
        Ok(found) => found
            .items
            .into_iter()
            .map(|item| (item.case_id, item))
            .collect(),
        Err(error) => {
            tracing::warn!(code = error.code(), "promised-time levels unavailable");
            HashMap::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_two_levels_become_badges_in_either_language() {
        let warning = sla_badge(Lang::Zh, Some("warning")).map(|b| (b.level, b.label));
        assert_eq!(warning, Some(("warning", "临近超时")));
        let breached = sla_badge(Lang::En, Some("breached")).map(|b| (b.level, b.label));
        assert_eq!(breached, Some(("breached", "Past due")));
        assert!(sla_badge(Lang::Zh, Some("something")).is_none());
        assert!(sla_badge(Lang::Zh, None).is_none());
    }
}
