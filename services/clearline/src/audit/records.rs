//! The services' own records, read for the audit: outboxes, the backlog's timeline, and
//! what intake, approval and fulfilment each hold about a case, compared with the backlog.

use chrono::{Duration, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement, Value};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

pub struct OutboxState {
    pub sent: Vec<Uuid>,
    /// Unsent for longer than the grace: the relay is not getting them out.
    pub stuck: Vec<Uuid>,
}

pub async fn outbox(db: &DatabaseConnection, grace_secs: i64) -> Result<OutboxState, DbErr> {
    let rows = db
        .query_all(Statement::from_string(
            db.get_database_backend(),
            "SELECT event_id, created_at, sent_at IS NOT NULL AS sent FROM outbox",
        ))
        .await?;
    let cutoff = Utc::now() - Duration::seconds(grace_secs);
    let mut state = OutboxState {
        sent: Vec::new(),
        stuck: Vec::new(),
    };
    for row in rows {
        let id: Uuid = row.try_get("", "event_id")?;
        let created: chrono::DateTime<Utc> = row.try_get("", "created_at")?;
        if row.try_get::<bool>("", "sent")? {
            state.sent.push(id);
        } else if created < cutoff {
            state.stuck.push(id);
        }
    }
    Ok(state)
}

pub async fn timeline_ids(db: &DatabaseConnection) -> Result<HashSet<Uuid>, DbErr> {
    let rows = db
        .query_all(Statement::from_string(
            db.get_database_backend(),
            "SELECT event_id FROM case_events",
        ))
        .await?;
    rows.iter().map(|r| r.try_get("", "event_id")).collect()
}

/// `(case id, case number, status)` rows of a query.
async fn statuses(
    db: &DatabaseConnection,
    sql: &str,
) -> Result<Vec<(Uuid, String, Option<String>)>, DbErr> {
    let rows = db
        .query_all(Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            Vec::<Value>::new(),
        ))
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("", "case_id")?,
                r.try_get("", "case_number")?,
                r.try_get("", "status")?,
            ))
        })
        .collect()
}

/// Which backlog statuses agree with what a service holds. Each service speaks only for
/// what it decides; a cancelled task is left out (the cancel race is the fold's to settle).
fn agrees(service: &str, held: &str, backlog: &str) -> bool {
    match (service, held) {
        ("intake", "closed" | "rejected" | "cancelled") => backlog == held,
        ("intake", _) => true,
        ("approval", "pending") => backlog == "pending_approval",
        ("approval", "approved") => matches!(
            backlog,
            "awaiting_fulfilment" | "in_fulfilment" | "fulfilled" | "closed"
        ),
        ("approval", "rejected") => backlog == "rejected",
        ("approval", "returned") => backlog == "awaiting_materials",
        ("fulfilment", "awaiting") => backlog == "awaiting_fulfilment",
        ("fulfilment", status) => backlog == status,
        _ => true,
    }
}

pub async fn disagreements(
    intake: &DatabaseConnection,
    approval: &DatabaseConnection,
    fulfilment: &DatabaseConnection,
    backlog: &DatabaseConnection,
) -> Result<Vec<(&'static str, Vec<String>)>, DbErr> {
    let tracked: HashMap<Uuid, Option<String>> = statuses(
        backlog,
        "SELECT case_id, case_number, status FROM backlog_cases",
    )
    .await?
    .into_iter()
    .map(|(id, _, status)| (id, status))
    .collect();
    let sources: [(&'static str, &'static str, &DatabaseConnection, &str); 3] = [
        (
            "intake",
            "intake: cases the backlog lacks or disagrees on",
            intake,
            "SELECT id AS case_id, case_number, status FROM cases",
        ),
        (
            "approval",
            "approval: decisions the backlog lacks or disagrees on",
            approval,
            "SELECT case_id, case_number, status FROM approval_tasks WHERE status <> 'cancelled'",
        ),
        (
            "fulfilment",
            "fulfilment: tasks the backlog lacks or disagrees on",
            fulfilment,
            "SELECT case_id, case_number, status FROM fulfilment_tasks WHERE status <> 'cancelled'",
        ),
    ];
    let mut out = Vec::new();
    for (service, what, db, sql) in sources {
        let mut items = Vec::new();
        for (id, number, held) in statuses(db, sql).await? {
            let held = held.unwrap_or_default();
            match tracked.get(&id) {
                Some(Some(status)) if agrees(service, &held, status) => {}
                Some(Some(status)) => {
                    items.push(format!("{number}: {service} {held}, backlog {status}"))
                }
                _ => items.push(format!("{number}: {service} {held}, not in the backlog")),
            }
        }
        out.push((what, items));
    }
    Ok(out)
}
