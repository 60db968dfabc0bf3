//! The settings the derivation reads besides the events: promised times (catalog and
//! calendar), the warning share, and how long a hand-over between services may take.
//! The same policy gives the same row, so a rebuild agrees with the live projection.

use chrono::TimeDelta;
use clearline_domain::{Catalog, WorkCalendar};
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct Policy {
    pub catalog: Arc<Catalog>,
    pub calendar: WorkCalendar,
    /// The share of a promised time at which a warning goes out (0.75 = 75%).
    pub warning_share: f64,
    /// How long after `submitted` / `approved` the next service must have opened its task
    /// before the case is flagged as fallen between services.
    pub stuck_after: TimeDelta,
}

impl Default for Policy {
    /// The seed catalog, UTC+8 without holidays, warning at 75%, stuck after 15 minutes.
    fn default() -> Self {
        Policy {
            catalog: Arc::new(Catalog::seed()),
            calendar: WorkCalendar::china(),
            warning_share: 0.75,
            stuck_after: TimeDelta::minutes(15),
        }
    }
}
