//! The portal in a real browser: headless Chromium through chromedriver, against the whole
//! system running as separate processes, each person in their own browser.

#[path = "browser/supervision.rs"]
mod supervision;

use clearline_tests::browser::{english_words, Browser, Driver};
use clearline_tests::web::{Portal, WebClient, DEMO_PASSWORD};
use clearline_tests::{Backend, System};
use std::time::{Duration, Instant};

/// A clerk's case where the resident forgot the photo receipt.
const SERVICE: &str = "resident_id_card_first";
const BROUGHT: &str = "household_booklet";
const FORGOTTEN: &str = "photo_receipt";
const ID_NUMBER: &str = "11010519491231002X";

/// Fails with the Latin words a Chinese page still shows (outside what it marks as
/// verbatim machine text, such as an error message).
async fn assert_all_chinese(browser: &Browser, page: &str) -> anyhow::Result<()> {
    let text = browser.interface_text().await?;
    let english = english_words(&text);
    anyhow::ensure!(
        english.is_empty(),
        "the Chinese {page} page shows English: {english:?}\n---\n{text}"
    );
    Ok(())
}

/// A number shown in an element, waiting until it differs from `not`.
async fn number_changed(browser: &Browser, css: &str, not: i64) -> anyhow::Result<i64> {
    let start = Instant::now();
    loop {
        let value = browser
            .text(css)
            .await
            .ok()
            .and_then(|t| t.trim().parse::<i64>().ok());
        if let Some(value) = value.filter(|v| *v != not) {
            return Ok(value);
        }
        anyhow::ensure!(
            start.elapsed() < Duration::from_secs(30),
            "{css} stayed at {not}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn read_number(browser: &Browser, css: &str) -> anyhow::Result<i64> {
    Ok(browser.text(css).await?.trim().parse::<i64>()?)
}

#[tokio::test]
async fn a_case_goes_from_the_window_to_hand_over_in_the_browser() -> anyhow::Result<()> {
    let system = System::spawn(Backend::Sqlite).await?;
    let portal = Portal::spawn(&system).await?;
    let base = portal.url();
    let driver = Driver::start(system.dir.path())?;
    let result = story(&driver, &base).await;
    if result.is_err() {
        eprintln!("portal log:\n{}", portal.log_text());
    }
    result
}

async fn story(driver: &Driver, base: &str) -> anyhow::Result<()> {
    // The public catalog needs no sign-in.
    let guest = driver.browser("zh-CN").await?;
    guest.goto(&format!("{base}/catalog")).await?;
    guest.wait_for(&format!("#service-{SERVICE}")).await?;
    assert_all_chinese(&guest, "catalog").await?;
    guest.screenshot("catalog-zh").await?;
    guest.quit().await;

    // The supervisor watches the dashboard from the start.
    let supervisor = driver.browser("zh-CN").await?;
    supervisor
        .sign_in(base, "supervisor1", DEMO_PASSWORD)
        .await?;
    anyhow::ensure!(
        supervisor.path().await? == "/dashboard",
        "supervisors land on the dashboard"
    );
    supervisor.wait_for("#received-today").await?;
    assert_all_chinese(&supervisor, "dashboard").await?;
    let received_before = read_number(&supervisor, "#received-today").await?;
    let finished_before = read_number(&supervisor, "#finished-today").await?;

    // The approver opens the queue and waits: new cases must arrive without a reload.
    let approver = driver.browser("zh-CN").await?;
    approver.sign_in(base, "approver1", DEMO_PASSWORD).await?;
    anyhow::ensure!(
        approver.path().await? == "/approver",
        "approvers land on the queue"
    );
    approver.wait_for("body[data-live-connected]").await?;
    assert_all_chinese(&approver, "approval queue").await?;

    // The clerk registers the case; the resident forgot one material.
    let clerk = driver.browser("zh-CN").await?;
    clerk.sign_in(base, "clerk1", DEMO_PASSWORD).await?;
    anyhow::ensure!(
        clerk.path().await? == "/clerk",
        "clerks land on the intake form"
    );
    assert_all_chinese(&clerk, "intake form").await?;
    clerk
        .find("#service_type")
        .await?
        .select_by_value(SERVICE)
        .await?;
    clerk
        .click(&format!("#materials-{SERVICE} input[value={BROUGHT}]"))
        .await?;
    clerk.fill("#name", "张三").await?;
    // A mistyped check digit is caught as it is typed.
    clerk.fill("#id_number", "110105194912310021").await?;
    clerk.fill("#phone", "13800138000").await?;
    let complaint = clerk.text("#id_number-error").await?;
    anyhow::ensure!(
        complaint.contains("校验位"),
        "inline ID check said {complaint:?}"
    );
    clerk.fill("#id_number", ID_NUMBER).await?;
    anyhow::ensure!(clerk.text("#id_number-error").await?.is_empty());
    clerk.screenshot("clerk-form-zh").await?;
    clerk.click("#register-button").await?;
    clerk.wait_for("#notice").await?;
    let missing = clerk.text("#missing-list").await?;
    anyhow::ensure!(
        missing.contains("相片采集回执"),
        "the notice lists {missing:?}"
    );
    clerk
        .wait_for(&format!("#missing-list li[data-material={FORGOTTEN}]"))
        .await?;
    anyhow::ensure!(
        !clerk
            .exists(&format!("#missing-list li[data-material={BROUGHT}]"))
            .await
    );
    let case_number = clerk.text("#case-number").await?;
    assert_all_chinese(&clerk, "one-time notice").await?;
    clerk.screenshot("notice-zh").await?;

    // The resident comes back with the receipt: the case is submitted and a receipt printed.
    clerk
        .click(&format!("#materials-form input[value={FORGOTTEN}]"))
        .await?;
    clerk.click("#add-materials-button").await?;
    clerk.wait_for("#receipt").await?;
    anyhow::ensure!(clerk.text("#case-number").await? == case_number);
    assert_all_chinese(&clerk, "receipt").await?;
    clerk.screenshot("receipt-zh").await?;
    clerk.goto(&format!("{base}/clerk")).await?;
    clerk
        .wait_for(&format!("#today tr[data-case-number=\"{case_number}\"]"))
        .await?;

    // The approver's queue shows it without a reload; the approver approves by keyboard.
    let row = format!("#queue tr[data-case-number=\"{case_number}\"]");
    approver.wait_for(&row).await?;
    approver.screenshot("approver-queue-zh").await?;
    if std::env::var("CLEARLINE_SCREENSHOTS").is_ok() {
        // The case page an approver decides on, for the README; then back to the queue.
        let href = approver
            .find(&row)
            .await?
            .attr("data-href")
            .await?
            .unwrap_or_default();
        approver.goto(&format!("{base}{href}")).await?;
        approver.wait_for("#approve-form").await?;
        approver.screenshot("approver-case-zh").await?;
        approver.goto(&format!("{base}/approver")).await?;
        approver.wait_for(&row).await?;
    }
    approver
        .run(
            "document.querySelector(arguments[0]).querySelector('a').focus();",
            vec![serde_json::json!(row)],
        )
        .await?;
    approver
        .find(&format!("{row} a"))
        .await?
        .send_keys("j")
        .await?;
    approver
        .find(&format!("{row} a"))
        .await?
        .send_keys("a")
        .await?;
    approver.wait_for("#decision-done").await?;
    approver.wait_gone(&row).await?;

    // The approver's case page, for the screenshots: another case is not needed; the
    // timeline of this one is on the case search page.
    approver
        .goto(&format!("{base}/cases?case_number={case_number}"))
        .await?;
    approver
        .click(&format!(
            "#results tr[data-case-number=\"{case_number}\"] a"
        ))
        .await?;
    approver.wait_for("#timeline").await?;
    let timeline = approver.text("#timeline").await?;
    anyhow::ensure!(
        timeline.contains("审批通过") && timeline.contains("approver1"),
        "timeline: {timeline}"
    );
    assert_all_chinese(&approver, "case").await?;
    approver.screenshot("case-timeline-zh").await?;

    // The fulfilment officer starts a home visit, marks it ready and hands it over.
    let officer = driver.browser("zh-CN").await?;
    officer.sign_in(base, "officer1", DEMO_PASSWORD).await?;
    anyhow::ensure!(officer.path().await? == "/fulfilment");
    let task = format!("#tasks tr[data-case-number=\"{case_number}\"]");
    officer.wait_for(&task).await?;
    assert_all_chinese(&officer, "fulfilment").await?;
    officer
        .find(&format!("{task} select[name=mode]"))
        .await?
        .select_by_value("home_visit")
        .await?;
    officer
        .run(
            "document.querySelector(arguments[0] + ' input[name=scheduled_for]').value = '2030-12-01T09:30';",
            vec![serde_json::json!(task)],
        )
        .await?;
    officer.screenshot("fulfilment-zh").await?;
    officer
        .click(&format!("{task} button[data-action=start]"))
        .await?;
    officer
        .wait_for(&format!("{task} button[data-action=fulfil]"))
        .await?;
    officer
        .click(&format!("{task} button[data-action=fulfil]"))
        .await?;
    officer
        .wait_for(&format!("{task} button[data-action=close]"))
        .await?;
    officer
        .click(&format!("{task} button[data-action=close]"))
        .await?;
    officer.wait_gone(&task).await?;

    // The dashboard counted one more received and one more finished, live.
    let received = number_changed(&supervisor, "#received-today", received_before).await?;
    let finished = number_changed(&supervisor, "#finished-today", finished_before).await?;
    anyhow::ensure!(
        received == received_before + 1,
        "received today {received_before} → {received}"
    );
    anyhow::ensure!(
        finished == finished_before + 1,
        "finished today {finished_before} → {finished}"
    );
    assert_all_chinese(&supervisor, "dashboard").await?;
    supervisor.screenshot("dashboard-zh").await?;

    // The same pages in English, through the sticky switch.
    for (browser, name) in [(&clerk, "clerk-form"), (&supervisor, "dashboard")] {
        browser.click("#switch-lang").await?;
        browser.wait_for("html[lang=en]").await?;
        if name == "clerk-form" {
            browser.goto(&format!("{base}/clerk")).await?;
            browser.wait_for("html[lang=en]").await?;
            let text = browser.visible_text().await?;
            anyhow::ensure!(
                text.contains("Register a request"),
                "English clerk page: {text}"
            );
        } else {
            browser.wait_for("#received-today").await?;
            let text = browser.visible_text().await?;
            anyhow::ensure!(
                text.contains("Backlog dashboard"),
                "English dashboard: {text}"
            );
        }
        browser.screenshot(&format!("{name}-en")).await?;
    }

    for browser in [clerk, approver, officer, supervisor] {
        browser.quit().await;
    }
    Ok(())
}

#[tokio::test]
async fn roles_forms_and_sessions_are_guarded() -> anyhow::Result<()> {
    let system = System::spawn(Backend::Sqlite).await?;
    let portal = Portal::spawn(&system).await?;
    let base = portal.url();

    // A clerk opening the approver queue gets 403, and never sees its link.
    let driver = Driver::start(system.dir.path())?;
    let clerk_browser = driver.browser("zh-CN").await?;
    clerk_browser
        .sign_in(&base, "clerk1", DEMO_PASSWORD)
        .await?;
    anyhow::ensure!(
        !clerk_browser.exists("a[data-nav=approver]").await,
        "the clerk sees the approver link"
    );
    anyhow::ensure!(clerk_browser.exists("a[data-nav=clerk]").await);
    clerk_browser.goto(&format!("{base}/approver")).await?;
    let text = clerk_browser.visible_text().await?;
    anyhow::ensure!(text.contains("无权访问"), "the clerk saw: {text}");
    clerk_browser.quit().await;

    let mut clerk = WebClient::new(&base)?;
    let signed_in = clerk.sign_in("clerk1", DEMO_PASSWORD).await?;
    anyhow::ensure!(
        signed_in.status == 303,
        "sign-in answered {}",
        signed_in.status
    );
    anyhow::ensure!(clerk.get("/approver").await?.status == 403);
    anyhow::ensure!(clerk.get("/dashboard").await?.status == 403);
    anyhow::ensure!(clerk.get("/admin").await?.status == 403);
    let form = clerk.get("/clerk").await?;
    anyhow::ensure!(
        form.status == 200,
        "the clerk's own page answered {}",
        form.status
    );
    let token = WebClient::csrf_of(&form).unwrap_or_default();

    // A registration posted without its CSRF token (or with another) is refused and
    // writes nothing.
    let fields = [
        ("service_type", SERVICE),
        ("materials", BROUGHT),
        ("materials", FORGOTTEN),
        ("name", "张三"),
        ("id_number", ID_NUMBER),
        ("phone", "13800138000"),
        ("window", "1"),
    ];
    let refused = clerk.post("/clerk/cases", &fields).await?;
    anyhow::ensure!(refused.status == 403, "no token: {}", refused.status);
    let mut forged = fields.to_vec();
    forged.push(("_csrf", "0000"));
    anyhow::ensure!(clerk.post("/clerk/cases", &forged).await?.status == 403);
    let api_clerk = system.person(
        "clerk1",
        clearline_platform::http::Role::Clerk,
        Some("HP01"),
    );
    let cases = api_clerk.get("intake", "/api/v1/cases").await;
    anyhow::ensure!(cases.status == 200, "listing answered {}", cases.status);
    anyhow::ensure!(
        cases.body.as_array().is_some_and(|a| a.is_empty()),
        "a refused form wrote a case: {}",
        cases.body
    );
    // With its token, the same form goes through (so the refusals above were the token's).
    let mut good = fields.to_vec();
    good.push(("_csrf", &token));
    let accepted = clerk.post("/clerk/cases", &good).await?;
    anyhow::ensure!(
        accepted.status == 303,
        "with token: {} {}",
        accepted.status,
        accepted.body
    );
    let cases = api_clerk.get("intake", "/api/v1/cases").await;
    anyhow::ensure!(cases.body.as_array().map(Vec::len) == Some(1));

    // No state change on GET: the action URLs answer 405 to a GET.
    anyhow::ensure!(clerk.get("/signout").await?.status == 405);

    // After sign-out, the old session cookie is refused.
    let old_cookies = clerk.cookies.clone();
    let page = clerk.get("/clerk").await?;
    let token = WebClient::csrf_of(&page).unwrap_or_default();
    let out = clerk.post("/signout", &[("_csrf", &token)]).await?;
    anyhow::ensure!(out.status == 303);
    clerk.cookies = old_cookies;
    let after = clerk.get("/clerk").await?;
    anyhow::ensure!(
        after.status == 303
            && after
                .location
                .as_deref()
                .is_some_and(|l| l.starts_with("/signin")),
        "the old cookie still worked: {} {:?}",
        after.status,
        after.location
    );

    // A fresh session id at every sign-in.
    let mut again = WebClient::new(&base)?;
    again.sign_in("clerk1", DEMO_PASSWORD).await?;
    let first = again.cookies.get("clearline_session").cloned();
    again.sign_in("clerk1", DEMO_PASSWORD).await?;
    anyhow::ensure!(first.is_some() && again.cookies.get("clearline_session") != first.as_ref());

    // Disabling a user ends their sessions.
    let mut admin = WebClient::new(&base)?;
    admin.sign_in("admin", DEMO_PASSWORD).await?;
    let users = admin.get("/admin").await?;
    anyhow::ensure!(users.status == 200);
    let token = WebClient::csrf_of(&users).unwrap_or_default();
    let disabled = admin
        .post("/admin/users/clerk1/disable", &[("_csrf", &token)])
        .await?;
    anyhow::ensure!(disabled.status == 303);
    let locked_out = again.get("/clerk").await?;
    anyhow::ensure!(
        locked_out.status == 303,
        "a disabled user kept their session"
    );
    let retry = again.sign_in("clerk1", DEMO_PASSWORD).await?;
    anyhow::ensure!(
        retry.status == 401,
        "a disabled user signed in: {}",
        retry.status
    );
    Ok(())
}
