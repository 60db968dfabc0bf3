//! The supervisor's pages in a real browser: what each open case waits on and its
//! promised-time badge (search, case page, the officer's queue), the dead letters (visible
//! to supervisors, replayed by an admin, 403 for a clerk), and the daily clearance (sign-off
//! refused until every carried-over case has a reason, then signed, exported as CSV), all
//! in Chinese with no English left over.
//!
//! Time is real, so the system is configured to make it short: the promise of a temporary
//! ID card is one hour and the warning comes at 1% (36 s); the units' day ends 90 s after
//! the test starts, so there is a finished day to sign off.

use super::assert_all_chinese;
use chrono::{FixedOffset, Utc};
use clearline_platform::http::Role;
use clearline_tests::browser::{Browser, Driver};
use clearline_tests::faults::{accept_tasks, refuse_tasks};
use clearline_tests::pipes::Pipes;
use clearline_tests::station::Station;
use clearline_tests::web::{Portal, WebClient, DEMO_PASSWORD};
use clearline_tests::{Backend, System};
use std::time::{Duration, Instant};

/// The seed catalog with same-day services promised within the hour instead.
fn hour_catalog(dir: &std::path::Path) -> anyhow::Result<std::path::PathBuf> {
    let seed = include_str!("../../../shared/domain/catalog.seed.toml");
    let short = seed.replace(
        "promised = { calendar_days = 0 }",
        "promised = { hours = 1 }",
    );
    anyhow::ensure!(short != seed, "the seed has no same-day service any more");
    let path = dir.join("catalog.toml");
    std::fs::write(&path, short)?;
    Ok(path)
}

/// Reloads `path` until `css` shows, for what the backlog learns in its own time.
async fn reload_until(
    browser: &Browser,
    url: &str,
    css: &str,
    within: Duration,
) -> anyhow::Result<()> {
    let start = Instant::now();
    loop {
        browser.goto(url).await?;
        if browser.exists(css).await {
            return Ok(());
        }
        anyhow::ensure!(start.elapsed() < within, "{css} never showed on {url}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn supervisors_see_waits_promised_times_dead_letters_and_the_days_clearance(
) -> anyhow::Result<()> {
    let files = tempfile::tempdir()?;
    let catalog = hour_catalog(files.path())?;
    // The units' day (UTC+8, the default calendar's zone) ends 90 s from now.
    let day_ends = Utc::now() + chrono::Duration::seconds(90);
    let beijing = FixedOffset::east_opt(8 * 3600).ok_or_else(|| anyhow::anyhow!("zone"))?;
    let ends_at = day_ends
        .with_timezone(&beijing)
        .format("%H:%M:%S")
        .to_string();
    let system = System::spawn_with_env(
        Backend::Sqlite,
        &[
            ("CLEARLINE_CATALOG", &catalog.display().to_string()),
            ("CLEARLINE_SLA_WARNING_PERCENT", "1"),
            ("CLEARLINE_WATCH_MS", "500"),
            ("CLEARLINE_MAX_DELIVER", "3"),
            ("CLEARLINE_DAY_ENDS_AT", &ends_at),
        ],
    )
    .await?;
    let portal = Portal::spawn(&system).await?;
    let driver = Driver::start(system.dir.path())?;
    let result = supervision(&system, &driver, &portal.url(), day_ends).await;
    if result.is_err() {
        eprintln!("portal log:\n{}", portal.log_text());
    }
    result
}

async fn supervision(
    system: &System,
    driver: &Driver,
    base: &str,
    day_ends: chrono::DateTime<Utc>,
) -> anyhow::Result<()> {
    let hp = Station::at(system, "HP01");
    let pipes = Pipes::open(system).await?;
    // A: a temporary ID card, straight to fulfilment; its hour starts running.
    let card = hp.receive_without_approval(1).await?;
    hp.fulfilment_shows(&card, "awaiting").await?;
    // B: a residence permit still waiting for the resident's materials.
    let waiting = hp.receive_incomplete(2).await?;
    // C: a residence permit approved while fulfilment cannot store tasks: a dead letter.
    refuse_tasks(pipes.db("fulfilment")?, Backend::Sqlite).await?;
    let stuck = hp.receive_complete(3).await?;
    hp.approval_shows(&stuck, "pending").await?;
    anyhow::ensure!(hp.approver.approve(&stuck).await.status == 200);
    let number =
        |case: serde_json::Value| case["case_number"].as_str().unwrap_or_default().to_string();
    let card_number = number(hp.backlog_shows(&card, "awaiting_fulfilment").await?);
    let waiting_number = number(hp.backlog_shows(&waiting, "awaiting_materials").await?);
    let stuck_number = number(hp.backlog_shows(&stuck, "awaiting_fulfilment").await?);

    // Waiting on what: the search filters by wait reason and shows it in words.
    let supervisor = driver.browser("zh-CN").await?;
    supervisor
        .sign_in(base, "supervisor1", DEMO_PASSWORD)
        .await?;
    for link in ["dead-letters", "clearance"] {
        anyhow::ensure!(
            supervisor.exists(&format!("a[data-nav={link}]")).await,
            "the supervisor has no {link} link"
        );
    }
    supervisor
        .goto(&format!("{base}/cases?wait_reason=resident_materials"))
        .await?;
    let row = format!("#results tr[data-case-number=\"{waiting_number}\"]");
    supervisor.wait_for(&row).await?;
    let reason = supervisor
        .text(&format!("{row} td[data-wait=resident_materials]"))
        .await?;
    anyhow::ensure!(
        reason == "等待群众补交材料",
        "wait reason shown as {reason:?}"
    );
    anyhow::ensure!(
        !supervisor
            .exists(&format!("#results tr[data-case-number=\"{card_number}\"]"))
            .await,
        "the filter let another wait through"
    );
    assert_all_chinese(&supervisor, "case search").await?;

    // Promised time: the card's warning shows as a badge in the search, on the case page
    // and in the officer's queue.
    reload_until(
        &supervisor,
        &format!("{base}/cases?sla_level=warning"),
        &format!("#results tr[data-case-number=\"{card_number}\"] [data-sla=warning]"),
        Duration::from_secs(90),
    )
    .await?;
    assert_all_chinese(&supervisor, "case search by promised time").await?;
    supervisor.goto(&format!("{base}/cases/{card}")).await?;
    anyhow::ensure!(supervisor.text("#sla-badge").await? == "临近超时");
    anyhow::ensure!(supervisor.text("#wait-reason").await? == "制证中");
    anyhow::ensure!(supervisor.exists("#waiting-since").await);
    assert_all_chinese(&supervisor, "case").await?;
    let officer = driver.browser("zh-CN").await?;
    officer.sign_in(base, "officer1", DEMO_PASSWORD).await?;
    officer
        .wait_for(&format!(
            "#tasks tr[data-case-number=\"{card_number}\"] [data-sla=warning]"
        ))
        .await?;
    assert_all_chinese(&officer, "fulfilment with badges").await?;
    officer.quit().await;
    supervisor.goto(&format!("{base}/dashboard")).await?;
    let warnings: i64 = supervisor
        .text("#sla-warning-total")
        .await?
        .trim()
        .parse()?;
    anyhow::ensure!(warnings >= 1, "the dashboard counts {warnings} warnings");
    anyhow::ensure!(supervisor.exists("#panel-clearance").await);
    assert_all_chinese(&supervisor, "dashboard with the new panels").await?;

    // Dead letters: the supervisor finds C's from the dashboard and reads it, no replay.
    let letter_row = format!("#dead-letters tr[data-case-number=\"{stuck_number}\"]");
    supervisor.click("#dead-letters-link").await?;
    reload_until(
        &supervisor,
        &format!("{base}/dead-letters"),
        &letter_row,
        Duration::from_secs(60),
    )
    .await?;
    let cells = supervisor.text(&letter_row).await?;
    anyhow::ensure!(
        cells.contains("办结服务")
            && cells.contains("审批通过")
            && cells.contains("task storage refused"),
        "the dead letter row: {cells}"
    );
    assert_all_chinese(&supervisor, "dead letters").await?;
    supervisor.screenshot("dead-letters-zh").await?;
    supervisor
        .click(&format!("{letter_row} a[data-open]"))
        .await?;
    supervisor.wait_for("#dead-letter").await?;
    anyhow::ensure!(
        !supervisor.exists("#replay-form").await,
        "a supervisor may not replay"
    );
    let letter_url = supervisor.client.current_url().await?.to_string();
    assert_all_chinese(&supervisor, "dead letter").await?;

    // A clerk neither sees the link nor may open the page.
    let clerk = driver.browser("zh-CN").await?;
    clerk.sign_in(base, "clerk1", DEMO_PASSWORD).await?;
    anyhow::ensure!(!clerk.exists("a[data-nav=dead-letters]").await);
    anyhow::ensure!(!clerk.exists("a[data-nav=clearance]").await);
    clerk.goto(&format!("{base}/dead-letters")).await?;
    anyhow::ensure!(clerk.visible_text().await?.contains("无权访问"));
    clerk.quit().await;
    let mut web_clerk = WebClient::new(base)?;
    web_clerk.sign_in("clerk1", DEMO_PASSWORD).await?;
    for page in [
        "/dead-letters",
        "/clearance",
        &letter_url.replacen(base, "", 1),
    ] {
        let status = web_clerk.get(page).await?.status;
        anyhow::ensure!(status == 403, "a clerk opening {page} got {status}");
    }

    // The fix, then the admin replays it from its page and sees what happened.
    accept_tasks(pipes.db("fulfilment")?, Backend::Sqlite).await?;
    let admin = driver.browser("zh-CN").await?;
    admin.sign_in(base, "admin", DEMO_PASSWORD).await?;
    admin.goto(&letter_url).await?;
    admin.click("#replay-button").await?;
    admin.wait_for("#replay-result").await?;
    let result = admin.text("#replay-result").await?;
    anyhow::ensure!(result.contains("重放成功"), "replay result: {result}");
    assert_all_chinese(&admin, "replayed dead letter").await?;
    hp.fulfilment_shows(&stuck, "awaiting").await?;
    let api_supervisor = system.person("supervisor9", Role::Supervisor, None);
    system
        .eventually(
            "the dead letter resolved",
            Duration::from_secs(30),
            || async {
                let open = api_supervisor
                    .get("fulfilment", "/api/v1/dead-letters")
                    .await;
                open.body["dead_letters"]
                    .as_array()
                    .is_some_and(|l| l.is_empty())
                    .then_some(())
            },
        )
        .await?;
    admin.quit().await;

    // Daily clearance, once the day is over: all three cases were carried over.
    let left = (day_ends - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(left + Duration::from_secs(2)).await;
    supervisor
        .goto(&format!("{base}/clearance?unit=HP01"))
        .await?;
    supervisor.wait_for("#clearance-report").await?;
    anyhow::ensure!(supervisor.text("#day-carried").await? == "3");
    assert_all_chinese(&supervisor, "clearance").await?;
    supervisor.click("#sign-off-button").await?;
    supervisor.wait_for("#clearance-refused").await?;
    let missing = supervisor.text("#reasons-missing").await?;
    for number in [&card_number, &waiting_number, &stuck_number] {
        anyhow::ensure!(
            missing.contains(number.as_str()),
            "missing reasons: {missing}"
        );
    }
    anyhow::ensure!(supervisor.exists("#sign-off-state").await);
    assert_all_chinese(&supervisor, "refused sign-off").await?;
    for (number, code, text) in [
        (&card_number, "production", ""),
        (&waiting_number, "materials", ""),
        (&stuck_number, "other", "事件处理失败，已重放"),
    ] {
        let row = format!("#carried tr[data-case-number=\"{number}\"]");
        supervisor
            .find(&format!("{row} select[name=code]"))
            .await?
            .select_by_value(code)
            .await?;
        supervisor
            .fill(&format!("{row} input[name=text]"), text)
            .await?;
        supervisor
            .click(&format!("{row} button[data-action=reason]"))
            .await?;
        supervisor.wait_for("#clearance-done").await?;
        supervisor.wait_for(&format!("{row} .reason-given")).await?;
    }
    let given = supervisor.text("#carried").await?;
    anyhow::ensure!(
        given.contains("事件处理失败，已重放") && given.contains("制证中"),
        "{given}"
    );
    supervisor.screenshot("clearance-zh").await?;
    supervisor.click("#sign-off-button").await?;
    supervisor.wait_for("#signed-by").await?;
    let signed = supervisor.text("#signed-by").await?;
    anyhow::ensure!(signed.contains("supervisor1"), "signed: {signed}");
    anyhow::ensure!(
        !supervisor.exists("#sign-off-form").await,
        "a signed day is frozen"
    );
    assert_all_chinese(&supervisor, "signed clearance").await?;

    // The CSV export, through the portal.
    let day = supervisor
        .find("#clearance-report")
        .await?
        .attr("data-day")
        .await?
        .unwrap_or_default();
    let mut web_supervisor = WebClient::new(base)?;
    web_supervisor.sign_in("supervisor1", DEMO_PASSWORD).await?;
    let csv = web_supervisor
        .get(&format!("/clearance/HP01/{day}/report.csv"))
        .await?;
    anyhow::ensure!(csv.status == 200, "CSV answered {}", csv.status);
    for number in [&card_number, &waiting_number, &stuck_number] {
        anyhow::ensure!(csv.body.contains(number.as_str()), "CSV: {}", csv.body);
    }
    anyhow::ensure!(csv.body.contains("another") || csv.body.contains("other"));
    supervisor.quit().await;
    Ok(())
}
