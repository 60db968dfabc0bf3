//! Real headless Chromium driven over WebDriver (Debian's `chromium` and `chromium-driver`):
//! one chromedriver per test on a free port, one browser session per person, each with its
//! own cookies, as if at their own desk.

use crate::infra::{free_port, wait_for_port};
use anyhow::Context;
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a page gets to show what a test waits for.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A chromedriver process of this test's own.
pub struct Driver {
    port: u16,
    child: Child,
}

fn find_binary(candidates: &[&str]) -> Option<PathBuf> {
    candidates.iter().map(PathBuf::from).find(|p| p.is_file())
}

impl Driver {
    pub fn start(log_dir: &Path) -> anyhow::Result<Driver> {
        let binary = find_binary(&["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"])
            .context("chromedriver is missing: apt-get install -y chromium chromium-driver (scripts/ensure-chromium)")?;
        for _ in 0..3 {
            let port = free_port();
            let log = std::fs::File::create(log_dir.join("chromedriver.log"))?;
            let mut child = Command::new(&binary)
                .arg(format!("--port={port}"))
                .stdout(Stdio::from(log.try_clone()?))
                .stderr(Stdio::from(log))
                .spawn()
                .context("starting chromedriver")?;
            if wait_for_port(port, Duration::from_secs(10)).is_ok()
                && matches!(child.try_wait(), Ok(None))
            {
                return Ok(Driver { port, child });
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        anyhow::bail!("chromedriver would not start on a free port")
    }

    /// A fresh browser (its own profile and cookies) preferring `language` (e.g. `zh-CN`).
    pub async fn browser(&self, language: &str) -> anyhow::Result<Browser> {
        let chromium = find_binary(&["/usr/bin/chromium", "/usr/bin/chromium-browser"])
            .context("chromium is missing: apt-get install -y chromium chromium-driver")?;
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-background-networking",
                    "--no-first-run",
                    "--window-size=1366,768",
                    format!("--lang={language}"),
                ],
                "prefs": { "intl.accept_languages": language },
            }
        });
        let Value::Object(capabilities) = capabilities else {
            anyhow::bail!("capabilities must be an object");
        };
        // chromedriver listens on plain HTTP on loopback: no TLS stack needed.
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .context("starting a Chromium session")?;
        Ok(Browser { client })
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One person's browser.
pub struct Browser {
    pub client: Client,
}

impl Browser {
    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        Ok(self.client.goto(url).await?)
    }

    pub async fn find(&self, css: &str) -> anyhow::Result<Element> {
        self.client
            .find(Locator::Css(css))
            .await
            .with_context(|| format!("no element {css}"))
    }

    /// Waits until an element matching `css` exists.
    pub async fn wait_for(&self, css: &str) -> anyhow::Result<Element> {
        self.wait_for_within(css, PATIENCE).await
    }

    pub async fn wait_for_within(&self, css: &str, within: Duration) -> anyhow::Result<Element> {
        let start = Instant::now();
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                return Ok(element);
            }
            if start.elapsed() > within {
                let url = self
                    .client
                    .current_url()
                    .await
                    .map(|u| u.to_string())
                    .unwrap_or_default();
                anyhow::bail!("{css} did not appear within {within:?} on {url}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `css` is gone.
    pub async fn wait_gone(&self, css: &str) -> anyhow::Result<()> {
        let start = Instant::now();
        while self.client.find(Locator::Css(css)).await.is_ok() {
            anyhow::ensure!(
                start.elapsed() < PATIENCE,
                "{css} was still there after {PATIENCE:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }

    pub async fn exists(&self, css: &str) -> bool {
        self.client.find(Locator::Css(css)).await.is_ok()
    }

    pub async fn text(&self, css: &str) -> anyhow::Result<String> {
        Ok(self.find(css).await?.text().await?)
    }

    pub async fn fill(&self, css: &str, value: &str) -> anyhow::Result<()> {
        let element = self.find(css).await?;
        element.clear().await?;
        element.send_keys(value).await?;
        Ok(())
    }

    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        self.find(css).await?.click().await?;
        Ok(())
    }

    /// Everything the page shows as text.
    pub async fn visible_text(&self) -> anyhow::Result<String> {
        let value = self
            .client
            .execute("return document.body.innerText;", vec![])
            .await?;
        Ok(value.as_str().unwrap_or_default().to_string())
    }

    /// The page's text without what it shows verbatim as a machine wrote it (elements
    /// marked `data-verbatim`: error messages, event subjects), which is data, not
    /// interface, and may be in any language.
    pub async fn interface_text(&self) -> anyhow::Result<String> {
        let script = "const marked = [...document.querySelectorAll('[data-verbatim]')];
            const shown = marked.map(e => e.style.display);
            marked.forEach(e => { e.style.display = 'none'; });
            const text = document.body.innerText;
            marked.forEach((e, i) => { e.style.display = shown[i]; });
            return text;";
        let value = self.client.execute(script, vec![]).await?;
        Ok(value.as_str().unwrap_or_default().to_string())
    }

    pub async fn path(&self) -> anyhow::Result<String> {
        Ok(self.client.current_url().await?.path().to_string())
    }

    pub async fn run(&self, script: &str, args: Vec<Value>) -> anyhow::Result<Value> {
        Ok(self.client.execute(script, args).await?)
    }

    /// Signs in through the form and waits for the landing page.
    pub async fn sign_in(&self, base: &str, user: &str, password: &str) -> anyhow::Result<()> {
        self.goto(&format!("{base}/signin")).await?;
        self.fill("#user_id", user).await?;
        self.fill("#password", password).await?;
        self.click("#signin-button").await?;
        let start = Instant::now();
        while self.path().await? == "/signin" {
            anyhow::ensure!(start.elapsed() < PATIENCE, "{user} could not sign in");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }

    /// Saves a PNG of the page when `CLEARLINE_SCREENSHOTS` names a folder (the README's
    /// screenshots are made this way: `scripts/screenshots`).
    pub async fn screenshot(&self, name: &str) -> anyhow::Result<()> {
        let Ok(dir) = std::env::var("CLEARLINE_SCREENSHOTS") else {
            return Ok(());
        };
        let png = self.client.screenshot().await?;
        std::fs::create_dir_all(&dir)?;
        std::fs::write(Path::new(&dir).join(format!("{name}.png")), png)?;
        Ok(())
    }

    pub async fn quit(self) {
        let _ = self.client.close().await;
    }
}

/// Words of Latin letters left in a Chinese page, after taking out what is data rather than
/// interface: codes with digits (case numbers, units, user ids), single letters (keyboard
/// keys) and the language switch's "English".
pub fn english_words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .filter(|token| !token.chars().any(|c| c.is_ascii_digit()))
        .flat_map(|token| token.split(['_', '-']))
        .filter(|word| word.chars().filter(char::is_ascii_alphabetic).count() >= 2)
        .filter(|word| *word != "English")
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn data_codes_and_key_letters_are_not_english_words() {
        assert!(super::english_words(
            "业务编号 HP01-20261129-00001 clerk1 快捷键 j / k，a 批准 English"
        )
        .is_empty());
        assert_eq!(
            super::english_words("状态 Pending approval"),
            vec!["Pending", "approval"]
        );
    }
}
