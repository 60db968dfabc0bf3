//! Intake's JSON shapes. Personal data comes in whole and goes out masked.

use crate::store::Case;
use chrono::{DateTime, Utc};
use clearline_domain::{Catalog, Status};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A resident's request as the clerk enters it at the window.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCase {
    /// A service type code from the catalog.
    pub service_type: String,
    /// Defaults to the clerk's unit.
    #[serde(default)]
    pub unit: Option<String>,
    pub window: String,
    /// window, phone_appointment, home_visit, batch or online; defaults to window.
    #[serde(default)]
    pub channel: Option<String>,
    pub applicant: ApplicantInput,
    /// Material codes the resident brought.
    #[serde(default)]
    pub materials: Vec<String>,
}

/// No `Debug`: these fields are personal data and must not reach a log by accident.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicantInput {
    pub name: String,
    /// 18-character resident ID number (GB 11643).
    pub id_number: String,
    pub phone: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMaterials {
    pub materials: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelCase {
    pub reason: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MaterialView {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ApplicantView {
    pub name: String,
    pub id_number: String,
    pub phone: String,
}

/// A case as the window sees it. `missing_materials` is the one-time notice (一次性告知单):
/// every item still missing, in one list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CaseView {
    pub id: Uuid,
    pub case_number: String,
    pub unit: String,
    pub window: String,
    pub channel: String,
    pub service_type: String,
    pub status: String,
    pub stage: String,
    pub round: i32,
    pub provided_materials: Vec<MaterialView>,
    pub missing_materials: Vec<MaterialView>,
    pub applicant: ApplicantView,
    pub received_by: String,
    pub received_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub cancel_reason: Option<String>,
}

impl CaseView {
    pub fn new(case: &Case, catalog: &Catalog) -> Self {
        let service = catalog.get(&case.service_type);
        let material = |code: String| {
            let found = service.and_then(|s| s.materials.iter().find(|m| m.code == code));
            MaterialView {
                name_zh: found.map_or_else(|| code.clone(), |m| m.name_zh.clone()),
                name_en: found.map_or_else(|| code.clone(), |m| m.name_en.clone()),
                code,
            }
        };
        let status = case.status();
        CaseView {
            id: case.id,
            case_number: case.case_number.clone(),
            unit: case.unit.clone(),
            window: case.service_window.clone(),
            channel: case.channel.clone(),
            service_type: case.service_type.clone(),
            status: case.status.clone(),
            stage: status
                .map_or("intake", |s: Status| s.stage().as_str())
                .to_string(),
            round: case.round,
            provided_materials: case.provided().into_iter().map(material).collect(),
            missing_materials: case.missing().into_iter().map(material).collect(),
            applicant: ApplicantView {
                name: mask_name(&case.applicant_name),
                id_number: clearline_domain::ResidentId::parse(&case.applicant_id_number)
                    .map(|id| id.masked())
                    .unwrap_or_else(|_| "***".to_string()),
                phone: clearline_domain::Phone::parse(&case.applicant_phone)
                    .map(|p| p.masked())
                    .unwrap_or_else(|_| "***".to_string()),
            },
            received_by: case.received_by.clone(),
            received_at: case.received_at,
            due_at: case.due_at,
            updated_at: case.updated_at,
            cancel_reason: case.cancel_reason.clone(),
        }
    }
}

/// 张三丰 → 张**: enough for the resident to recognise their case, not enough to identify them.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => std::iter::once(first).chain(chars.map(|_| '*')).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_keep_only_the_first_character() {
        assert_eq!(super::mask_name("张三丰"), "张**");
        assert_eq!(super::mask_name("Li"), "L*");
        assert_eq!(super::mask_name(""), "");
    }
}
