//! The deployment's NATS users, proved on a real nats-server: it runs with
//! k8s/base/nats/auth.conf and its permissions.conf, the very files the manifests' ConfigMap
//! is generated from (linked into the test's folder, not copied). The provisioner creates
//! the stream from the manifests' stream.json; each service then runs as its own user and a
//! case goes through its whole lifecycle, return loop included, so every consumer and
//! every relay works within its permissions. A publish of an event the user does not emit
//! (even one it consumes), a subscription to another service's replies and a stream
//! deletion are refused.

use async_nats::{Event, ServerError};
use clearline_contracts::subjects;
use clearline_platform::http::Role;
use clearline_platform::stream::{DUPLICATE_WINDOW, MAX_AGE};
use clearline_tests::cluster::Cluster;
use clearline_tests::infra::Nats;
use clearline_tests::people::case_request;
use clearline_tests::station::{
    expect_status, step_types, timeline_types, CLOSED_AFTER_A_RETURN, PERMIT, PERMIT_MATERIALS,
    SETTLE,
};
use clearline_tests::system::SERVICES;
use clearline_tests::{Person, Reply};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::Value;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// The users auth.conf defines, each with a password from `NATS_<USER>_PASSWORD`.
const USERS: [&str; 6] = [
    "intake",
    "approval",
    "fulfilment",
    "backlog",
    "portal",
    "provisioner",
];

fn manifests() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../k8s/base/nats")
}

fn password(user: &str) -> String {
    format!("{user}-test-password")
}

fn stream_definition() -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(manifests().join("stream.json"))?;
    Ok(serde_json::from_str(&text)?)
}

/// The stream the Job creates is the stream the services would create themselves:
/// same name, subjects, duplicate window and retention; replicated three times.
#[test]
fn the_stream_definition_matches_the_services() -> anyhow::Result<()> {
    let stream = stream_definition()?;
    assert_eq!(stream["name"], subjects::STREAM);
    assert_eq!(stream["subjects"], serde_json::json!([subjects::SUBJECTS]));
    assert_eq!(stream["storage"], "file");
    assert_eq!(stream["retention"], "limits");
    assert_eq!(stream["num_replicas"], 3);
    assert_eq!(
        stream["duplicate_window"].as_u64(),
        Some(DUPLICATE_WINDOW.as_nanos() as u64)
    );
    assert_eq!(stream["max_age"].as_u64(), Some(MAX_AGE.as_nanos() as u64));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_service_works_as_its_own_user_and_no_more() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    // nats-server 2.9 resolves an include relative to the including file.
    std::os::unix::fs::symlink(manifests(), dir.path().join("manifests"))?;
    let config = dir.path().join("nats.conf");
    std::fs::write(&config, "include \"manifests/auth.conf\"\n")?;
    let passwords: Vec<(String, String)> = USERS
        .iter()
        .map(|user| {
            let var = format!("NATS_{}_PASSWORD", user.to_uppercase());
            (var, password(user))
        })
        .collect();
    let nats = Nats::start_with_config(dir.path(), &config, &passwords)?;
    let provisioner = async_nats::ConnectOptions::with_user_and_password(
        "provisioner".into(),
        password("provisioner"),
    )
    .connect(nats.url())
    .await?;
    create_stream(&provisioner).await?;

    let cluster = Cluster::spawn_on(
        dir,
        nats,
        1,
        Box::new(|service| {
            vec![
                ("NATS_USER".to_string(), service.to_string()),
                ("NATS_PASSWORD".to_string(), password(service)),
            ]
        }),
    )
    .await?;

    let id = lifecycle_with_a_return(&cluster).await?;
    consumers_caught_up(&cluster).await?;
    // The provisioner may read the stream's state (nobody here is anonymous).
    let js = async_nats::jetstream::new(provisioner);
    let messages = || async {
        let mut stream = js.get_stream(subjects::STREAM).await?;
        anyhow::Ok(stream.info().await?.state.messages)
    };
    let before = messages().await?;

    // Another service's events, the ones each consumes included: a service publishes only
    // what it emits (a dead letter's replay is applied from its own database).
    let forgeries = [
        ("approval", "received"),
        ("approval", "submitted"),
        ("intake", "approved"),
        ("intake", "rejected"),
        ("fulfilment", "approved"),
        ("backlog", "received"),
        ("backlog", "closed"),
        ("portal", "closed"),
    ];
    for (user, event) in forgeries {
        let subject = format!("clearline.case.{event}");
        refused(
            &cluster.nats.url(),
            user,
            &format!("publish to \"{subject}\""),
            |client| async move {
                client.publish(subject, "forged".into()).await?;
                Ok(client.flush().await?)
            },
        )
        .await?;
    }
    refused(
        &cluster.nats.url(),
        "approval",
        "subscription to \"_INBOX_intake.>\"",
        |client| async move {
            let _subscription = client.subscribe("_INBOX_intake.>").await?;
            Ok(client.flush().await?)
        },
    )
    .await?;
    refused(
        &cluster.nats.url(),
        "intake",
        "publish to \"$JS.API.STREAM.DELETE.CLEARLINE_CASES\"",
        |client| async move {
            let js = async_nats::jetstream::new(client);
            anyhow::ensure!(
                js.delete_stream(subjects::STREAM).await.is_err(),
                "intake deleted the stream"
            );
            Ok(())
        },
    )
    .await?;
    let wrong = async_nats::ConnectOptions::with_user_and_password(
        "intake".into(),
        "not-its-password".into(),
    )
    .connect(cluster.nats.url())
    .await;
    assert!(wrong.is_err(), "a wrong password is refused");

    assert_eq!(
        messages().await?,
        before,
        "nothing refused reached the stream"
    );
    for service in SERVICES {
        let sql = "SELECT COUNT(*) AS n FROM dead_letters";
        let db = &cluster.dbs.connect(service).await?;
        let n = db
            .query_one(Statement::from_string(db.get_database_backend(), sql))
            .await?
            .map(|row| row.try_get::<i64>("", "n"))
            .transpose()?;
        assert_eq!(n, Some(0), "{service} dead-lettered something");
    }
    println!("case {id} went through every service, each as its own NATS user");
    Ok(())
}

/// What the clearline-nats-stream Job does as the provisioner: create the stream from
/// stream.json through the JetStream API, with one replica on this single server.
async fn create_stream(client: &async_nats::Client) -> anyhow::Result<()> {
    let mut stream = stream_definition()?;
    stream["num_replicas"] = 1.into();
    let reply = client
        .request(
            format!("$JS.API.STREAM.CREATE.{}", subjects::STREAM),
            serde_json::to_vec(&stream)?.into(),
        )
        .await?;
    let reply: Value = serde_json::from_slice(&reply.payload)?;
    anyhow::ensure!(reply.get("error").is_none(), "stream not created: {reply}");
    Ok(())
}

/// Receive, return for a material, add it, approve, start, fulfil, close: every service
/// consumes and (but the backlog) publishes. Returns the case id.
async fn lifecycle_with_a_return(cluster: &Cluster) -> anyhow::Result<String> {
    let clerk = cluster.person("clerk-HP01", Role::Clerk, Some("HP01"), 0);
    let approver = cluster.person("approver-HP01", Role::Approver, Some("HP01"), 0);
    let officer = cluster.person("officer-HP01", Role::Fulfilment, Some("HP01"), 0);
    let supervisor = cluster.person("supervisor", Role::Supervisor, None, 0);

    let received = clerk
        .receive(case_request(PERMIT, &PERMIT_MATERIALS, 1))
        .await;
    let received = expect_status(received, 201, "receiving")?;
    let id = received["id"].as_str().unwrap_or_default().to_string();
    until(&approver, |p| p.approval_task(&id), "pending").await?;
    expect_status(
        approver.return_for(&id, &["proof_of_residence"]).await,
        200,
        "returning",
    )?;
    until(&clerk, |p| p.case_at_window(&id), "awaiting_materials").await?;
    expect_status(
        clerk.add_materials(&id, &["proof_of_residence"]).await,
        200,
        "adding",
    )?;
    until(&approver, |p| p.approval_task(&id), "pending").await?;
    expect_status(approver.approve(&id).await, 200, "approving")?;
    until(&officer, |p| p.fulfilment_task(&id), "awaiting").await?;
    expect_status(officer.start(&id, "counter_pickup").await, 200, "starting")?;
    expect_status(officer.fulfil(&id).await, 200, "fulfilling")?;
    expect_status(officer.close(&id).await, 200, "closing")?;
    let tracked = until(&supervisor, |p| p.tracked_case(&id), "closed").await?;
    assert_eq!(step_types(&tracked), CLOSED_AFTER_A_RETURN);
    // Approval (twice) and fulfilment said they opened their task: notices pass too.
    let opened = timeline_types(&tracked)
        .iter()
        .filter(|t| *t == "task_opened")
        .count();
    assert_eq!(opened, 3, "{tracked}");
    // Intake consumed `closed` too: the window shows the case finished.
    until(&clerk, |p| p.case_at_window(&id), "closed").await?;
    Ok(id)
}

/// Every service's consumer has acknowledged everything, by the service's own /metrics,
/// which it reads from the broker as its own user: acks and consumer info are allowed.
async fn consumers_caught_up(cluster: &Cluster) -> anyhow::Result<()> {
    let reader = cluster.person("supervisor", Role::Supervisor, None, 0);
    for service in SERVICES {
        let pending = format!("clearline_consumer_pending{{consumer=\"{service}\"}}");
        let unacked = format!("clearline_consumer_ack_pending{{consumer=\"{service}\"}}");
        let start = Instant::now();
        loop {
            let figures = (
                reader.metric(service, &pending).await,
                reader.metric(service, &unacked).await,
            );
            if figures == (Some(0.0), Some(0.0)) {
                break;
            }
            anyhow::ensure!(
                start.elapsed() < SETTLE,
                "{service}: consumer (pending, unacked) = {figures:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

/// Polls what `person` sees until it answers 200 with `"status": status`; returns the body.
async fn until<'a, F, Fut>(person: &'a Person, fetch: F, status: &str) -> anyhow::Result<Value>
where
    F: Fn(&'a Person) -> Fut,
    Fut: std::future::Future<Output = Reply>,
{
    let start = Instant::now();
    loop {
        let reply = fetch(person).await;
        if reply.status == 200 && reply.body["status"] == status {
            return Ok(reply.body);
        }
        anyhow::ensure!(
            start.elapsed() < SETTLE,
            "waited for {status}, last saw {} {}",
            reply.status,
            reply.body
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Connects as `user`, runs `attempt`, and expects the server to report a permissions
/// violation naming `what` (e.g. `publish to "clearline.case.received"`).
async fn refused<F, Fut>(url: &str, user: &str, what: &str, attempt: F) -> anyhow::Result<()>
where
    F: FnOnce(async_nats::Client) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let (errors, mut violations) = mpsc::unbounded_channel();
    let client = async_nats::ConnectOptions::with_user_and_password(user.into(), password(user))
        .custom_inbox_prefix(clearline_platform::stream::inbox_prefix(user))
        .event_callback(move |event| {
            let errors = errors.clone();
            async move {
                if let Event::ServerError(ServerError::Other(text)) = event {
                    let _ = errors.send(text);
                }
            }
        })
        .connect(url)
        .await?;
    // The connection (and its event callback) lives until the server's answer is read.
    attempt(client.clone()).await?;
    let wanted = format!("permissions violation for {what}").to_lowercase();
    let deadline = Instant::now() + SETTLE;
    let seen = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, violations.recv()).await {
            Ok(Some(text)) if text.to_lowercase().contains(&wanted) => break true,
            Ok(Some(_)) => continue,
            _ => break false,
        }
    };
    drop(client);
    anyhow::ensure!(seen, "{user}: no permissions violation for {what}");
    Ok(())
}
