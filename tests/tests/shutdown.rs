//! Graceful shutdown, as Kubernetes asks for it: SIGTERM stops taking work, lets the request
//! in flight finish, flushes the outbox and exits; and when something will not finish, the
//! process still ends at `CLEARLINE_SHUTDOWN_GRACE_MS` instead of hanging until SIGKILL.
//!
//! The work in flight is a case registration whose body arrives in two halves, the second
//! after the SIGTERM: the request is provably open while the service is asked to stop.

use anyhow::Context;
use clearline_platform::config::DEV_JWT_SECRET;
use clearline_platform::http::{JwtKeys, Role};
use clearline_tests::people::case_request;
use clearline_tests::station::{case_ids, PERMIT, PERMIT_MATERIALS};
use clearline_tests::{Backend, System};
use sea_orm::{ConnectionTrait, Statement};
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A registration sent by hand over one connection, so the test decides when its body ends.
struct OpenRequest {
    stream: TcpStream,
    rest: Vec<u8>,
}

impl OpenRequest {
    /// Sends the headers and the first half of the body, then waits until the service is
    /// surely reading it.
    async fn start(system: &System, n: u32) -> anyhow::Result<OpenRequest> {
        let token = JwtKeys::from_secret(DEV_JWT_SECRET).issue(
            "clerk1",
            "clerk1",
            &[Role::Clerk],
            Some("HP01"),
            chrono::Duration::hours(1),
        );
        let body = serde_json::to_vec(&case_request(PERMIT, &PERMIT_MATERIALS, n))?;
        let head = format!(
            "POST /api/v1/cases HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let address = system.url("intake").replace("http://", "");
        let mut stream = TcpStream::connect(address).await?;
        stream.write_all(head.as_bytes()).await?;
        let (first, rest) = body.split_at(body.len() / 2);
        stream.write_all(first).await?;
        stream.flush().await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        Ok(OpenRequest {
            stream,
            rest: rest.to_vec(),
        })
    }

    /// Sends the rest of the body and reads the whole answer.
    async fn finish(mut self) -> anyhow::Result<String> {
        self.stream.write_all(&self.rest).await?;
        let mut answer = String::new();
        tokio::time::timeout(
            Duration::from_secs(10),
            self.stream.read_to_string(&mut answer),
        )
        .await
        .context("no answer within 10 s")??;
        Ok(answer)
    }
}

/// Waits for the process to end, at most `within`; its exit status and how long it took.
async fn ended(mut child: Child, within: Duration) -> anyhow::Result<(ExitStatus, Duration)> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok((status, start.elapsed()));
        }
        if start.elapsed() > within {
            let _ = child.kill();
            anyhow::bail!("still running {within:?} after SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn unsent_outbox_rows(system: &System) -> anyhow::Result<i64> {
    let db = system.dbs.connect("intake").await?;
    let row = db
        .query_one(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM outbox WHERE sent_at IS NULL",
        ))
        .await?
        .context("COUNT returned no row")?;
    Ok(row.try_get("", "n")?)
}

/// The system on SQLite, its services given `grace` to stop.
async fn with_grace(grace: Duration) -> anyhow::Result<System> {
    let grace_ms = grace.as_millis().to_string();
    System::spawn_with_env(
        Backend::Sqlite,
        &[("CLEARLINE_SHUTDOWN_GRACE_MS", &grace_ms)],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_request_in_flight_and_leaves_nothing_unsent() -> anyhow::Result<()> {
    let grace = Duration::from_secs(8);
    let mut system = with_grace(grace).await?;
    let open = OpenRequest::start(&system, 1).await?;

    let intake = system.terminate("intake")?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Stopped taking work: new connections find nobody listening.
    let address = system.url("intake").replace("http://", "");
    anyhow::ensure!(
        TcpStream::connect(&address).await.is_err(),
        "intake still accepts connections after SIGTERM"
    );
    // The request that was open when the signal came is served to the end.
    let answer = open.finish().await?;
    anyhow::ensure!(
        answer.starts_with("HTTP/1.1 201"),
        "the open request was not served: {}",
        answer.lines().next().unwrap_or_default()
    );
    let (status, took) = ended(intake, grace + Duration::from_secs(5)).await?;
    anyhow::ensure!(status.success(), "intake exited with {status}");
    anyhow::ensure!(took < grace, "a clean stop took {took:?}, past the grace");
    // Its event went out before the process ended: nothing waits for the next start.
    anyhow::ensure!(
        unsent_outbox_rows(&system).await? == 0,
        "intake stopped with events unsent"
    );
    let id = serde_json::from_str::<serde_json::Value>(
        answer.split("\r\n\r\n").nth(1).unwrap_or_default(),
    )?["id"]
        .as_str()
        .context("the receipt has no case id")?
        .to_string();
    let supervisor = system.person("supervisor1", Role::Supervisor, None);
    system
        .eventually(
            "the case in the backlog",
            Duration::from_secs(20),
            || async { (supervisor.tracked_case(&id).await.status == 200).then_some(()) },
        )
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_that_cannot_finish_ends_at_the_deadline_and_writes_nothing() -> anyhow::Result<()> {
    let grace = Duration::from_millis(1500);
    let mut system = with_grace(grace).await?;
    // A client that never finishes its request: the HTTP drain alone would wait 10 s.
    let open = OpenRequest::start(&system, 2).await?;

    let intake = system.terminate("intake")?;
    let (status, took) = ended(intake, grace + Duration::from_secs(5)).await?;
    drop(open);
    anyhow::ensure!(
        !status.success(),
        "a stop cut short by the deadline must not look clean"
    );
    anyhow::ensure!(
        took < grace + Duration::from_secs(2),
        "stopping took {took:?} with a grace of {grace:?}"
    );
    let log = std::fs::read_to_string(system.log_path("intake"))?;
    anyhow::ensure!(
        log.contains("shutdown deadline passed"),
        "the log does not say the deadline cut the stop short:\n{log}"
    );
    // The half-sent registration was never taken: the window holds no case.
    system.start("intake")?;
    system.wait_ready("intake").await?;
    let clerk = system.person("clerk1", Role::Clerk, Some("HP01"));
    let cases = clerk.cases_at_window().await;
    anyhow::ensure!(cases.status == 200, "window list: {}", cases.body);
    anyhow::ensure!(
        case_ids(&cases.body).is_empty(),
        "a half-sent request wrote a case: {}",
        cases.body
    );
    Ok(())
}
