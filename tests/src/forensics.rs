//! When a scenario fails, the services' logs are the evidence; the system's folder is
//! deleted with it, so they are copied out first.

use crate::system::SERVICES;
use crate::System;
use std::path::PathBuf;

/// Hold one for the length of a scenario and call [`Evidence::not_needed`] at its end. If the
/// scenario panics or returns early with an error, every service's log is copied to
/// `<tmp>/clearline-failed-<id>/` and its last lines are printed with the test's output.
pub struct Evidence<'a> {
    system: &'a System,
    needed: bool,
}

impl<'a> Evidence<'a> {
    pub fn keep_on_failure(system: &'a System) -> Evidence<'a> {
        Evidence {
            system,
            needed: true,
        }
    }

    /// The scenario passed: nothing to keep.
    pub fn not_needed(mut self) {
        self.needed = false;
    }

    fn keep(&self) -> std::io::Result<PathBuf> {
        let folder = std::env::temp_dir().join(format!(
            "clearline-failed-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&folder)?;
        for service in SERVICES {
            let log = self.system.log_path(service);
            if log.is_file() {
                std::fs::copy(&log, folder.join(format!("{service}.log")))?;
            }
        }
        Ok(folder)
    }
}

impl Drop for Evidence<'_> {
    fn drop(&mut self) {
        if !self.needed {
            return;
        }
        match self.keep() {
            Ok(folder) => eprintln!("the services' logs are kept in {}", folder.display()),
            Err(error) => eprintln!("the services' logs could not be kept: {error}"),
        }
        for service in SERVICES {
            let log = std::fs::read_to_string(self.system.log_path(service)).unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            let tail = lines[lines.len().saturating_sub(30)..].join("\n");
            eprintln!("--- {service} (last lines) ---\n{tail}");
        }
    }
}
