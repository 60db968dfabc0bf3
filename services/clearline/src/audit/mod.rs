//! `clearline audit [--repair]`: does everything agree? Each service's own records with the
//! backlog, each outbox with the stream, the stream with the backlog's timeline, every case
//! row with its timeline and every counter with a recount. Prints the drift and exits
//! non-zero on any. `--repair` rebuilds what can be rebuilt: missing timeline events from
//! the stream, case rows from their timelines, counters from the rows, and outbox rows the
//! stream lacks are handed back to their relay.

mod records;
mod stream;

use crate::dev::service_database;
use clap::Args;
use clearline_backlog::audit as backlog_audit;
use clearline_platform::config::{load_calendar, load_catalog};
use clearline_platform::db;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement, Value};
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use uuid::Uuid;

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Folder of `clearline dev`'s SQLite files.
    #[arg(long, env = "CLEARLINE_DATA_DIR", default_value = ".clearline")]
    pub data_dir: PathBuf,
    /// PostgreSQL base URL: the services' databases are `<database>_<service>`.
    #[arg(long)]
    pub database_url: Option<String>,
    #[arg(long, env = "CLEARLINE_INTAKE_DATABASE_URL")]
    pub intake_database_url: Option<String>,
    #[arg(long, env = "CLEARLINE_APPROVAL_DATABASE_URL")]
    pub approval_database_url: Option<String>,
    #[arg(long, env = "CLEARLINE_FULFILMENT_DATABASE_URL")]
    pub fulfilment_database_url: Option<String>,
    #[arg(long, env = "CLEARLINE_BACKLOG_DATABASE_URL")]
    pub backlog_database_url: Option<String>,
    #[arg(long, env = "NATS_URL", default_value = "nats://127.0.0.1:4222")]
    pub nats_url: String,
    /// The catalog and calendar the backlog runs with (its derivation depends on them).
    #[arg(long, env = "CLEARLINE_CATALOG")]
    pub catalog: Option<PathBuf>,
    #[arg(long, env = "CLEARLINE_CALENDAR")]
    pub calendar: Option<PathBuf>,
    /// An unsent outbox row older than this (seconds) counts as stuck.
    #[arg(long, default_value_t = 60)]
    pub outbox_grace_secs: i64,
    /// Rebuild what drifted, then audit again.
    #[arg(long)]
    pub repair: bool,
}

const PRODUCERS: [&str; 4] = ["intake", "approval", "fulfilment", "backlog"];

/// One kind of disagreement and the cases or events it concerns.
#[derive(Debug, Default)]
pub struct Report {
    pub lines: Vec<(String, Vec<String>)>,
}

impl Report {
    fn add(&mut self, what: &str, items: Vec<String>) {
        if !items.is_empty() {
            self.lines.push((what.to_string(), items));
        }
    }

    pub fn drift(&self) -> usize {
        self.lines.iter().map(|(_, items)| items.len()).sum()
    }

    fn print(&self) {
        for (what, items) in &self.lines {
            println!("DRIFT {what}: {}", items.len());
            for item in items.iter().take(10) {
                println!("  {item}");
            }
            if items.len() > 10 {
                println!("  … and {} more", items.len() - 10);
            }
        }
    }
}

struct Places {
    dbs: Vec<(&'static str, DatabaseConnection)>,
}

impl Places {
    fn db(&self, service: &str) -> &DatabaseConnection {
        // Every service of PRODUCERS is connected in `connect`.
        #[allow(clippy::expect_used)]
        self.dbs
            .iter()
            .find(|(name, _)| *name == service)
            .map(|(_, db)| db)
            .expect("connected in `connect`")
    }
}

async fn connect(args: &AuditArgs) -> anyhow::Result<Places> {
    let mut dbs = Vec::new();
    for service in PRODUCERS {
        let given = match service {
            "intake" => &args.intake_database_url,
            "approval" => &args.approval_database_url,
            "fulfilment" => &args.fulfilment_database_url,
            _ => &args.backlog_database_url,
        };
        let url = match given {
            Some(url) => url.clone(),
            None => service_database(&args.data_dir, args.database_url.as_deref(), service)?,
        };
        dbs.push((service, db::connect(&url).await?));
    }
    Ok(Places { dbs })
}

pub async fn run(args: AuditArgs) -> anyhow::Result<()> {
    let places = connect(&args).await?;
    let policy = clearline_backlog::projection::Policy {
        catalog: Arc::new(load_catalog(args.catalog.as_deref())?),
        calendar: load_calendar(args.calendar.as_deref())?,
        ..Default::default()
    };
    let nats = async_nats::connect(&args.nats_url).await?;
    let js = async_nats::jetstream::new(nats);

    let (report, gaps) = audit(&places, &js, &policy, args.outbox_grace_secs).await?;
    report.print();
    if report.drift() == 0 {
        println!("audit: no drift");
        return Ok(());
    }
    if !args.repair {
        anyhow::bail!("audit found {} items of drift", report.drift());
    }

    let repaired =
        backlog_audit::repair(places.db("backlog"), &policy, &gaps.missing_in_backlog).await?;
    let mut resent = 0;
    for (service, event_ids) in &gaps.sent_not_in_stream {
        resent += hand_back(places.db(service), event_ids).await?;
    }
    println!(
        "repair: {} timeline events added, {} case rows rewritten, counters {}, {resent} outbox rows handed back to their relay",
        repaired.events_added,
        repaired.rows_rewritten,
        if repaired.counters_rewritten { "recounted" } else { "already right" },
    );
    if resent > 0 {
        println!("repair: the relays resend within a poll; run the audit again to see the stream catch up");
    }
    let (after, _) = audit(&places, &js, &policy, args.outbox_grace_secs).await?;
    after.print();
    if after.drift() == 0 {
        println!("audit after repair: no drift");
        Ok(())
    } else {
        anyhow::bail!("{} items of drift remain after the repair", after.drift())
    }
}

/// What the repair needs from the audit besides the report.
struct Gaps {
    missing_in_backlog: Vec<clearline_contracts::CaseEvent>,
    sent_not_in_stream: Vec<(&'static str, Vec<Uuid>)>,
}

async fn audit(
    places: &Places,
    js: &async_nats::jetstream::Context,
    policy: &clearline_backlog::projection::Policy,
    grace_secs: i64,
) -> anyhow::Result<(Report, Gaps)> {
    let mut report = Report::default();
    let streamed = stream::read_all(js).await?;
    let in_stream: HashSet<Uuid> = streamed.iter().map(|e| e.event_uuid()).collect();

    let mut sent_not_in_stream = Vec::new();
    for service in PRODUCERS {
        let outbox = records::outbox(places.db(service), grace_secs).await?;
        let missing: Vec<Uuid> = outbox
            .sent
            .iter()
            .filter(|id| !in_stream.contains(id))
            .copied()
            .collect();
        report.add(
            &format!("{service} outbox: sent but not in the stream"),
            missing.iter().map(Uuid::to_string).collect(),
        );
        report.add(
            &format!("{service} outbox: unsent for more than {grace_secs} s"),
            outbox.stuck.iter().map(Uuid::to_string).collect(),
        );
        sent_not_in_stream.push((service, missing));
    }

    let backlog = places.db("backlog");
    let in_timeline = records::timeline_ids(backlog).await?;
    let missing_in_backlog: Vec<_> = streamed
        .into_iter()
        .filter(|e| !in_timeline.contains(&e.event_uuid()))
        .collect();
    report.add(
        "stream: events missing from the backlog's timeline",
        missing_in_backlog
            .iter()
            .map(|e| format!("{} {} {}", e.case_number, e.r#type, e.event_id))
            .collect(),
    );

    for (what, items) in records::disagreements(
        places.db("intake"),
        places.db("approval"),
        places.db("fulfilment"),
        backlog,
    )
    .await?
    {
        report.add(what, items);
    }

    let findings = backlog_audit::check(backlog, policy, None).await?;
    report.add(
        "backlog: case rows that differ from their timeline",
        findings
            .rows
            .iter()
            .map(|r| {
                format!(
                    "{} stored {:?} derived {:?}",
                    r.case_number, r.stored_status, r.derived_status
                )
            })
            .collect(),
    );
    report.add(
        "backlog: counters that differ from a recount",
        findings.counters.iter().map(|d| format!("{d:?}")).collect(),
    );
    report.add(
        "backlog: due-day counters (overdue) that differ from a recount",
        findings
            .due_counters
            .iter()
            .map(|d| format!("{d:?}"))
            .collect(),
    );
    report.add(
        "backlog: flow counters (the flow panel) that differ from a recount",
        findings
            .flow_counters
            .iter()
            .map(|d| format!("{d:?}"))
            .collect(),
    );
    report.add(
        "backlog: promised-time counters (warnings, breaches) that differ from a recount",
        findings
            .level_counters
            .iter()
            .map(|d| format!("{d:?}"))
            .collect(),
    );
    Ok((
        report,
        Gaps {
            missing_in_backlog,
            sent_not_in_stream,
        },
    ))
}

/// Marks outbox rows unsent so the service's relay publishes them again (the stream's
/// duplicate window and every inbox make a second copy harmless).
async fn hand_back(db: &DatabaseConnection, event_ids: &[Uuid]) -> anyhow::Result<u64> {
    let mut n = 0;
    for id in event_ids {
        let result = db
            .execute(Statement::from_sql_and_values(
                db.get_database_backend(),
                "UPDATE outbox SET sent_at = NULL WHERE event_id = $1",
                [Value::from(*id)],
            ))
            .await?;
        n += result.rows_affected();
    }
    Ok(n)
}
