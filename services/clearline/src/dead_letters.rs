//! `clearline dead-letters list|show|replay`: the operator's view of every service's dead
//! letters, through the services' own APIs (so it works against any deployment it can
//! reach, and a replay runs the service's own code path).

use crate::token::parse_roles;
use clap::{Args, Subcommand};
use clearline_platform::config::{ServiceUrls, DEV_JWT_SECRET};
use clearline_platform::http::JwtKeys;
use serde_json::Value;
use uuid::Uuid;

#[derive(Debug, Args)]
pub struct DeadLetterArgs {
    #[command(subcommand)]
    pub action: Action,
    #[command(flatten)]
    pub services: ServiceUrls,
    /// Signs the admin token the command uses.
    #[arg(long, env = "CLEARLINE_JWT_SECRET", default_value = DEV_JWT_SECRET, hide_default_value = true)]
    pub jwt_secret: String,
}

#[derive(Debug, Subcommand)]
pub enum Action {
    /// Every open dead letter of every service (`--all`: the resolved ones too).
    List {
        #[arg(long)]
        all: bool,
    },
    /// One dead letter: the error, the deliveries, what the event was.
    Show { event_id: Uuid },
    /// Have the consumer that failed it apply it again (waits up to 10 s for the outcome:
    /// applied, failed with the new error, or still requested). Safe to repeat: an event
    /// applied once is not applied again.
    Replay { event_id: Uuid },
}

pub async fn run(args: DeadLetterArgs) -> anyhow::Result<()> {
    let roles = parse_roles(&["admin".to_string()])?;
    let token = JwtKeys::from_secret(&args.jwt_secret)
        .issue(
            "ops-cli",
            "clearline CLI",
            &roles,
            None,
            chrono::Duration::minutes(10),
        )
        .to_string();
    let http = reqwest::Client::new();
    let call =
        |method: reqwest::Method, url: String| http.request(method, url).bearer_auth(&token).send();
    match args.action {
        Action::List { all } => {
            let mut total = 0;
            for (service, base) in args.services.all() {
                let url = format!("{base}/api/v1/dead-letters?all={all}");
                let body: Value = call(reqwest::Method::GET, url)
                    .await?
                    .error_for_status()?
                    .json()
                    .await?;
                for letter in body["dead_letters"].as_array().into_iter().flatten() {
                    total += 1;
                    println!(
                        "{service:<10} {} case {} {} deliveries {} failed {} {}",
                        letter["event_id"].as_str().unwrap_or("?"),
                        letter["case_id"].as_str().unwrap_or("-"),
                        letter["subject"].as_str().unwrap_or("?"),
                        letter["deliveries"],
                        letter["failed_at"].as_str().unwrap_or("?"),
                        state(letter),
                    );
                }
            }
            println!("{total} dead letters");
        }
        Action::Show { event_id } | Action::Replay { event_id } => {
            let replay = matches!(args.action, Action::Replay { .. });
            let mut found = 0;
            for (service, base) in args.services.all() {
                let (method, url) = if replay {
                    (
                        reqwest::Method::POST,
                        format!("{base}/api/v1/dead-letters/{event_id}/replay"),
                    )
                } else {
                    (
                        reqwest::Method::GET,
                        format!("{base}/api/v1/dead-letters/{event_id}"),
                    )
                };
                let response = call(method, url).await?;
                if response.status() == reqwest::StatusCode::NOT_FOUND {
                    continue;
                }
                let body: Value = response.error_for_status()?.json().await?;
                found += 1;
                println!("{service}: {}", serde_json::to_string_pretty(&body)?);
            }
            anyhow::ensure!(found > 0, "no service holds a dead letter {event_id}");
        }
    }
    Ok(())
}

fn state(letter: &Value) -> &'static str {
    if !letter["resolved_at"].is_null() {
        "resolved"
    } else if at(&letter["replayed_at"]) > at(&letter["failed_at"]) {
        "replay requested, not applied yet"
    } else {
        "open"
    }
}

fn at(time: &Value) -> Option<chrono::DateTime<chrono::Utc>> {
    time.as_str().and_then(|t| t.parse().ok())
}
