//! Promised time at a glance: `GET /api/v1/sla/units` (open cases with a warning or a
//! breach, per unit, for the dashboard) and `GET /api/v1/cases/lookup?ids=…` (the listed
//! cases' rows, for queues that other services own: approval's and fulfilment's tasks carry
//! no promised-time level, the backlog does).

use super::dto::CaseItem;
use super::readable_unit;
use crate::store::{sla, sla_count};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use clearline_platform::http::{ApiError, ApiQuery, AuthUser};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// The most cases one lookup may name (a queue page).
pub const MAX_LOOKUP: usize = 500;

#[derive(Debug, Deserialize, IntoParams)]
pub struct UnitQuery {
    /// Users with a unit always see their own.
    pub unit: Option<String>,
}

/// Open cases whose promised time is running out (`warning`) or has run out (`breached`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SlaCounts {
    pub warning: i64,
    pub breached: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UnitSla {
    pub unit: String,
    #[serde(flatten)]
    pub counts: SlaCounts,
}

/// `GET /api/v1/sla/units`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SlaView {
    pub generated_at: DateTime<Utc>,
    /// Only units with at least one warning or breach, by unit.
    pub units: Vec<UnitSla>,
    pub totals: SlaCounts,
}

/// Open cases with a promised-time warning or breach, per unit. A case counts under its
/// worst level only.
#[utoipa::path(get, path = "/api/v1/sla/units", params(UnitQuery),
    responses((status = 200, body = SlaView), (status = 403, description = "wrong_unit")))]
pub async fn units(
    State(app): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<UnitQuery>,
) -> Result<Json<SlaView>, ApiError> {
    let unit = readable_unit(&user, query.unit)?;
    let rows = sla_count::counters(&app.db, unit.as_deref()).await?;
    let mut by_unit: BTreeMap<String, SlaCounts> = BTreeMap::new();
    let mut totals = SlaCounts::default();
    // A counter that fell to zero stays as a row; its unit is not listed for it.
    for row in rows.into_iter().filter(|row| row.n != 0) {
        let counts = by_unit.entry(row.unit).or_default();
        match row.level.as_str() {
            "warning" => {
                counts.warning += row.n;
                totals.warning += row.n;
            }
            "breached" => {
                counts.breached += row.n;
                totals.breached += row.n;
            }
            _ => {}
        }
    }
    Ok(Json(SlaView {
        generated_at: Utc::now(),
        units: by_unit
            .into_iter()
            .map(|(unit, counts)| UnitSla { unit, counts })
            .collect(),
        totals,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct LookupQuery {
    /// Case ids, comma-separated, at most 500.
    pub ids: String,
}

/// `GET /api/v1/cases/lookup`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CaseLookup {
    /// The cases found, in the order asked; ids the backlog does not know (yet), or of
    /// another unit than the reader's, are left out.
    pub items: Vec<CaseItem>,
}

/// The backlog's rows of the named cases: status, due time, wait reason, promised-time
/// level.
#[utoipa::path(get, path = "/api/v1/cases/lookup", params(LookupQuery),
    responses((status = 200, body = CaseLookup),
        (status = 400, description = "invalid_case_id or too_many_ids")))]
pub async fn lookup(
    State(app): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<LookupQuery>,
) -> Result<Json<CaseLookup>, ApiError> {
    let unit = readable_unit(&user, None)?;
    let ids = parse_ids(&query.ids)?;
    let rows = sla::cases_by_id(&app.db, &ids, unit.as_deref()).await?;
    let now = Utc::now();
    let mut items: BTreeMap<Uuid, CaseItem> = rows
        .iter()
        .map(|row| (row.case_id, CaseItem::new(row, now)))
        .collect();
    Ok(Json(CaseLookup {
        items: ids.iter().filter_map(|id| items.remove(id)).collect(),
    }))
}

fn parse_ids(text: &str) -> Result<Vec<Uuid>, ApiError> {
    let ids = text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            Uuid::parse_str(s).map_err(|_| {
                ApiError::bad_request(
                    "invalid_case_id",
                    "ids must be case ids (UUIDs), comma-separated",
                )
                .with_field("ids", "invalid_case_id", "not a case id")
            })
        })
        .collect::<Result<Vec<Uuid>, ApiError>>()?;
    if ids.len() > MAX_LOOKUP {
        return Err(ApiError::bad_request(
            "too_many_ids",
            format!("at most {MAX_LOOKUP} ids at once"),
        ));
    }
    Ok(ids)
}
