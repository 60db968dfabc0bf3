//! The verdict, once every fault has healed and the system is quiet. Each check reads what
//! a service itself stored (its own database) and compares it with what the clients were
//! told and what each case's story says must have happened; none trusts another service.

use super::clients::Acknowledged;
use super::plan::Plan;
use anyhow::{ensure, Context};
use clearline_contracts::subjects;
use clearline_tests::pipes::Pipes;
use clearline_tests::system::SERVICES;
use clearline_tests::Person;
use sea_orm::{ConnectionTrait, DatabaseConnection, QueryResult, Statement};
use std::collections::{BTreeMap, HashMap, HashSet};
use uuid::Uuid;

/// The figures the checks gather on the way, for the report.
#[derive(Debug, Default)]
pub struct Verdict {
    pub events: i64,
    pub dead_letters: i64,
}

pub async fn all(
    pipes: &Pipes,
    supervisor: &Person,
    acknowledged: &[Acknowledged],
) -> anyhow::Result<Verdict> {
    let plans: HashMap<Uuid, Plan> = acknowledged.iter().map(|a| (a.id, a.plan)).collect();
    ensure!(
        plans.len() == acknowledged.len(),
        "two registrations were answered with the same case"
    );
    intake(pipes.db("intake")?, acknowledged, &plans).await?;
    tasks(pipes, &plans).await?;
    backlog_store(pipes.db("backlog")?, &plans).await?;
    timelines_as_shown(supervisor, acknowledged).await?;
    counters(supervisor, acknowledged).await?;
    let events = emitted_once(pipes, &plans).await?;
    let dead_letters = dead_letters(pipes).await?;
    Ok(Verdict {
        events,
        dead_letters,
    })
}

async fn rows(db: &DatabaseConnection, sql: &str) -> anyhow::Result<Vec<QueryResult>> {
    Ok(db
        .query_all(Statement::from_string(db.get_database_backend(), sql))
        .await?)
}

/// Every acknowledged case exists exactly once at the window, finished as its story ends,
/// nothing else exists, and each idempotency key names the case its clerk was given.
async fn intake(
    db: &DatabaseConnection,
    acknowledged: &[Acknowledged],
    plans: &HashMap<Uuid, Plan>,
) -> anyhow::Result<()> {
    let mut stored = HashMap::new();
    for row in rows(db, "SELECT id, status FROM cases").await? {
        let id: Uuid = row.try_get("", "id")?;
        let status: String = row.try_get("", "status")?;
        ensure!(
            stored.insert(id, status).is_none(),
            "case {id} is stored twice"
        );
    }
    let unacknowledged: Vec<_> = stored.keys().filter(|id| !plans.contains_key(id)).collect();
    ensure!(
        unacknowledged.is_empty(),
        "intake holds {} cases no clerk was told of: {unacknowledged:?}",
        unacknowledged.len()
    );
    for (id, plan) in plans {
        let status = stored.get(id).map(String::as_str);
        ensure!(
            status == Some(plan.outcome()),
            "intake: case {id} ({plan:?}) is {status:?}, not {}",
            plan.outcome()
        );
    }
    let mut by_key = HashMap::new();
    for row in rows(db, "SELECT key, body FROM idempotency_keys").await? {
        let key: String = row.try_get("", "key")?;
        let body: serde_json::Value = row.try_get("", "body")?;
        by_key.insert(key, body["id"].as_str().unwrap_or_default().to_string());
    }
    ensure!(
        by_key.len() == acknowledged.len(),
        "{} idempotency keys for {} cases",
        by_key.len(),
        acknowledged.len()
    );
    for a in acknowledged {
        ensure!(
            by_key.get(&a.key) == Some(&a.id.to_string()),
            "key {} names {:?}, but the clerk was given {}",
            a.key,
            by_key.get(&a.key),
            a.id
        );
    }
    Ok(())
}

/// Approval and fulfilment hold exactly the tasks the stories call for, in their final
/// status; an approval's round counts its submissions, so a submission applied twice shows.
async fn tasks(pipes: &Pipes, plans: &HashMap<Uuid, Plan>) -> anyhow::Result<()> {
    let mut approval = HashMap::new();
    let sql = "SELECT case_id, status, round FROM approval_tasks";
    for row in rows(pipes.db("approval")?, sql).await? {
        let id: Uuid = row.try_get("", "case_id")?;
        let status: String = row.try_get("", "status")?;
        let round: i32 = row.try_get("", "round")?;
        approval.insert(id, (status, i64::from(round)));
    }
    let mut fulfilment = HashMap::new();
    let sql = "SELECT case_id, status FROM fulfilment_tasks";
    for row in rows(pipes.db("fulfilment")?, sql).await? {
        let id: Uuid = row.try_get("", "case_id")?;
        let status: String = row.try_get("", "status")?;
        fulfilment.insert(id, status);
    }
    for (id, plan) in plans {
        let got = approval.remove(id);
        let want = plan.approval_task().map(|(s, r)| (s.to_string(), r));
        ensure!(
            got == want,
            "approval task of {id} ({plan:?}): {got:?}, wanted {want:?}"
        );
        let got = fulfilment.remove(id);
        let want = plan.fulfilment_task().map(str::to_string);
        ensure!(
            got == want,
            "fulfilment task of {id} ({plan:?}): {got:?}, wanted {want:?}"
        );
    }
    ensure!(
        approval.is_empty() && fulfilment.is_empty(),
        "tasks for cases nobody registered: approval {:?}, fulfilment {:?}",
        approval.keys().collect::<Vec<_>>(),
        fulfilment.keys().collect::<Vec<_>>()
    );
    Ok(())
}

/// The backlog stored each case's events exactly once (no event twice, none missing, none
/// of a case nobody registered) and folded them into the story's end.
async fn backlog_store(db: &DatabaseConnection, plans: &HashMap<Uuid, Plan>) -> anyhow::Result<()> {
    let mut events: HashMap<Uuid, Vec<String>> = HashMap::new();
    for row in rows(db, "SELECT case_id, event_type FROM case_events").await? {
        let id: Uuid = row.try_get("", "case_id")?;
        events
            .entry(id)
            .or_default()
            .push(row.try_get("", "event_type")?);
    }
    let sql = "SELECT case_id, status, stage, event_count FROM backlog_cases";
    let mut cases = HashMap::new();
    for row in rows(db, sql).await? {
        let id: Uuid = row.try_get("", "case_id")?;
        let status: Option<String> = row.try_get("", "status")?;
        let stage: Option<String> = row.try_get("", "stage")?;
        let count: i64 = row.try_get("", "event_count")?;
        cases.insert(id, (status, stage, count));
    }
    ensure!(
        events.len() == plans.len() && cases.len() == plans.len(),
        "the backlog knows {} cases by their events and {} by their rows; {} were registered",
        events.len(),
        cases.len(),
        plans.len()
    );
    for (id, plan) in plans {
        let mut got = events.remove(id).unwrap_or_default();
        got.sort_unstable();
        let want = plan.events();
        ensure!(
            got == want,
            "backlog events of {id} ({plan:?}): {got:?}, wanted {want:?}"
        );
        let row = cases.get(id);
        let want_row = (
            Some(plan.outcome().to_string()),
            Some("done".to_string()),
            want.len() as i64,
        );
        ensure!(
            row == Some(&want_row),
            "backlog row of {id} ({plan:?}): {row:?}, wanted {want_row:?}"
        );
    }
    Ok(())
}

/// Through the supervisor's API too: a sample of cases shows the timeline of its story.
async fn timelines_as_shown(
    supervisor: &Person,
    acknowledged: &[Acknowledged],
) -> anyhow::Result<()> {
    let step = (acknowledged.len() / 100).max(1);
    for a in acknowledged.iter().step_by(step) {
        let case = supervisor.tracked_case(&a.id.to_string()).await;
        ensure!(case.status == 200, "backlog case {}: {}", a.id, case.body);
        let mut types = clearline_tests::station::timeline_types(&case.body);
        types.sort_unstable();
        ensure!(
            types == a.plan.events() && case.body["status"] == a.plan.outcome(),
            "the backlog shows {} ({:?}) as {} with {types:?}",
            a.id,
            a.plan,
            case.body["status"]
        );
    }
    Ok(())
}

/// The dashboard's counters equal the backlog's own recount (`/backlog/verify`) and the
/// test's recount of what it did, per unit and in total.
async fn counters(supervisor: &Person, acknowledged: &[Acknowledged]) -> anyhow::Result<()> {
    let verify = supervisor.verify_counters().await;
    ensure!(
        verify.status == 200 && verify.body["ok"] == true,
        "backlog verify: {} {}",
        verify.status,
        verify.body
    );
    let mut recount: BTreeMap<String, BTreeMap<&str, i64>> = BTreeMap::new();
    for a in acknowledged {
        let unit = recount.entry(a.unit.clone()).or_default();
        *unit.entry(a.plan.outcome()).or_default() += 1;
    }
    let backlog = supervisor.backlog().await;
    ensure!(backlog.status == 200, "backlog: {}", backlog.body);
    let mut totals: BTreeMap<&str, i64> = BTreeMap::new();
    for (unit, by_status) in &recount {
        let shown = backlog.body["units"]
            .as_array()
            .and_then(|units| units.iter().find(|u| u["unit"] == unit.as_str()))
            .with_context(|| format!("the backlog shows no unit {unit}"))?;
        figures_match(shown, by_status, unit)?;
        for (status, n) in by_status {
            *totals.entry(status).or_default() += n;
        }
    }
    figures_match(&backlog.body["totals"], &totals, "all units")
}

fn figures_match(
    figures: &serde_json::Value,
    by_status: &BTreeMap<&str, i64>,
    whose: &str,
) -> anyhow::Result<()> {
    let n: i64 = by_status.values().sum();
    let mut shown: BTreeMap<String, i64> = BTreeMap::new();
    if let Some(statuses) = figures["by_status"].as_object() {
        for (status, count) in statuses {
            let count = count.as_i64().unwrap_or_default();
            if count != 0 {
                shown.insert(status.clone(), count);
            }
        }
    }
    let want: BTreeMap<String, i64> = by_status.iter().map(|(s, n)| (s.to_string(), *n)).collect();
    ensure!(
        shown == want
            && figures["received"] == n
            && figures["finished"] == n
            && figures["open"]["total"] == 0,
        "counters of {whose}: {figures}, but the clients finished {want:?}"
    );
    Ok(())
}

/// Every event was written once by the service that caused it (the outboxes hold each
/// case's story and nothing more), the stream holds each written event once (the relays'
/// republishes after a crash were dropped by the broker), and the backlog applied each once.
async fn emitted_once(pipes: &Pipes, plans: &HashMap<Uuid, Plan>) -> anyhow::Result<i64> {
    let mut by_case: HashMap<Uuid, Vec<String>> = HashMap::new();
    let mut ids = HashSet::new();
    for service in SERVICES {
        let sql = "SELECT event_id, case_id, subject FROM outbox";
        for row in rows(pipes.db(service)?, sql).await? {
            let event: Uuid = row.try_get("", "event_id")?;
            ensure!(ids.insert(event), "event {event} is in two outboxes");
            let case: Uuid = row.try_get("", "case_id")?;
            let subject: String = row.try_get("", "subject")?;
            let prefix = format!("{}.", subjects::SUBJECT_PREFIX);
            let kind = subject
                .strip_prefix(&prefix)
                .unwrap_or(&subject)
                .to_string();
            by_case.entry(case).or_default().push(kind);
        }
        ensure!(
            pipes.unsent(service).await? == 0,
            "{service}'s outbox is not drained"
        );
    }
    ensure!(
        by_case.len() == plans.len(),
        "the outboxes hold events of {} cases",
        by_case.len()
    );
    for (id, plan) in plans {
        let mut got = by_case.remove(id).unwrap_or_default();
        got.sort_unstable();
        ensure!(
            got == plan.events(),
            "events written for {id} ({plan:?}): {got:?}"
        );
    }
    let written = ids.len() as i64;
    let in_stream = pipes.stream_messages().await?;
    ensure!(
        in_stream == written as u64,
        "the stream holds {in_stream} messages for {written} written events"
    );
    let applied = pipes.inbox("backlog", "backlog").await?;
    ensure!(
        applied == written,
        "the backlog applied {applied} of {written} events"
    );
    Ok(written)
}

/// No event gave up: nothing in any service's dead letters.
async fn dead_letters(pipes: &Pipes) -> anyhow::Result<i64> {
    let mut total = 0;
    for service in SERVICES {
        let dead = rows(pipes.db(service)?, "SELECT COUNT(*) AS n FROM dead_letters").await?;
        let n: i64 = dead.first().context("no count")?.try_get("", "n")?;
        total += n;
    }
    Ok(total)
}
