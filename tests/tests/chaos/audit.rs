//! The reconciliation an operator runs after an incident: `clearline audit`, given each
//! service's database and the broker, compares each service's own records with the backlog's
//! read model and counters, and the outboxes with the stream; it exits non-zero on drift.

use clearline_tests::system::{clearline_binary, SERVICES};
use clearline_tests::System;
use std::process::Command;

/// Runs `clearline audit` against the system and fails on any drift; returns its verdict.
pub async fn no_drift(system: &System) -> anyhow::Result<String> {
    let mut audit = Command::new(clearline_binary()?);
    audit.arg("audit").args(["--nats-url", &system.nats.url()]);
    for service in SERVICES {
        audit
            .arg(format!("--{service}-database-url"))
            .arg(system.dbs.url(service));
    }
    let output = tokio::task::block_in_place(|| audit.output())?;
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    anyhow::ensure!(
        output.status.success(),
        "clearline audit found drift ({}):\n{said}",
        output.status
    );
    Ok(format!(
        "`clearline audit` exited 0: {}",
        said.lines().last().unwrap_or("").trim()
    ))
}
