//! Observability that crosses process boundaries: one trace follows a case through NATS
//! into another service, and no resident's personal data reaches a log, even at debug level.

use clearline_tests::infra::free_port;
use clearline_tests::station::Station;
use clearline_tests::{Backend, System};
use sea_orm::{ConnectionTrait, Statement};

/// The trace id inside a W3C `traceparent` (`00-<trace id>-<span id>-01`).
fn trace_id(traceparent: &str) -> Option<&str> {
    traceparent.split('-').nth(1)
}

async fn traceparent_of(
    system: &System,
    service: &str,
    subject: &str,
) -> anyhow::Result<Option<String>> {
    let db = system.dbs.connect(service).await?;
    let row = db
        .query_one(Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT traceparent FROM outbox WHERE subject = '{subject}' ORDER BY id LIMIT 1"
            ),
        ))
        .await?;
    Ok(row.and_then(|r| {
        r.try_get::<Option<String>>("", "traceparent")
            .ok()
            .flatten()
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trace_follows_a_return_into_intake_and_no_personal_data_is_logged(
) -> anyhow::Result<()> {
    // Export goes to a port nobody listens on: spans are made and propagated, the export
    // fails quietly. Logs at debug level, as JSON, to look for personal data in them.
    let collector = format!("http://127.0.0.1:{}", free_port());
    let system = System::spawn_with_env(
        Backend::Sqlite,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.as_str()),
            (
                "RUST_LOG",
                "debug,h2=info,hyper=info,tower=info,reqwest=info,tonic=info",
            ),
            ("CLEARLINE_LOG_FORMAT", "json"),
        ],
    )
    .await?;
    let station = Station::at(&system, "HP01");
    let id = station.receive_complete(7).await?;
    station.approval_shows(&id, "pending").await?;
    let returned = station
        .approver
        .return_for(&id, &["proof_of_residence"])
        .await;
    anyhow::ensure!(returned.status == 200, "return: {:?}", returned.body);
    station.window_shows(&id, "awaiting_materials").await?;

    // The approver's request started a trace; the returned event carried it over NATS, and
    // intake's notice, written while handling that event, belongs to the same trace.
    let returned = traceparent_of(&system, "approval", "clearline.case.returned").await?;
    let notice = traceparent_of(&system, "intake", "clearline.case.materials_requested").await?;
    let (returned, notice) = (
        returned.ok_or_else(|| anyhow::anyhow!("the returned event has no trace context"))?,
        notice.ok_or_else(|| anyhow::anyhow!("intake's notice has no trace context"))?,
    );
    assert_eq!(
        trace_id(&returned),
        trace_id(&notice),
        "{returned} vs {notice}"
    );

    // Everything the services logged, at debug level: no ID number, no phone, no name. The
    // services write each line as it happens, and every step above was awaited until its
    // effect was visible, so the logs already hold it all.
    let id_number = clearline_domain::ResidentId::synthetic(7);
    for service in clearline_tests::system::SERVICES {
        let log = std::fs::read_to_string(system.log_path(service))?;
        assert!(!log.is_empty(), "{service} logged nothing at debug level");
        for secret in [id_number.as_str(), "13800138000", "张三"] {
            assert!(
                !log.contains(secret),
                "{service}'s log contains personal data"
            );
        }
    }
    Ok(())
}
