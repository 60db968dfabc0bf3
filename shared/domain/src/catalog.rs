//! The public service catalog: per service type, the required materials, the steps and the
//! promised time (承诺时限).
//!
//! Catalogs differ by city and change, so this is data an administrator edits in TOML, and
//! [`Catalog::from_toml_str`] refuses a catalog whose codes other data would refer to
//! ambiguously. [`Catalog::seed`] is the example catalog shipped with the product.

use std::collections::HashSet;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar::WorkCalendar;

/// Every service a deployment offers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    pub services: Vec<ServiceType>,
}

/// One kind of request a resident can make, as posted at the window.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServiceType {
    /// Stable key that cases refer to; `[a-z0-9_]+`, unique in the catalog.
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    /// Whether a case goes through the approval stage or straight to fulfilment.
    pub approval_required: bool,
    pub promised: PromisedTime,
    /// What each stage may take on its own, counted from when the case enters it.
    #[serde(default)]
    pub stage_promised: StagePromises,
    /// Everything the resident must bring, in the order the one-time notice lists it.
    pub materials: Vec<Material>,
    #[serde(default)]
    pub steps_zh: Vec<String>,
    #[serde(default)]
    pub steps_en: Vec<String>,
}

/// Promised times per stage; a stage without one has no clock of its own.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StagePromises {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<PromisedTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fulfilment: Option<PromisedTime>,
}

/// A document the resident must bring.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Material {
    /// Stable key that intake records refer to; `[a-z0-9_]+`, unique within its service.
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
}

/// How long the service promises to take, counted from when the case is received.
///
/// In TOML: `promised = { working_days = 20 }`, `{ calendar_days = 3 }` or `{ hours = 4 }`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PromisedTime {
    /// End of the Nth working day after the day received (see [`WorkCalendar::add_working_days`]).
    WorkingDays(u32),
    /// End of the local day N days after the day received; 0 means "same day".
    CalendarDays(u32),
    /// Exactly N hours after receipt, for services done while the resident waits.
    Hours(u32),
}

/// Why a catalog was refused. Codes are configuration, not personal data, so they are named.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("catalog is not valid TOML or does not match the catalog format")]
    Parse(#[from] toml::de::Error),
    #[error("catalog has no services")]
    NoServices,
    #[error("service code {0:?} is invalid: use only lowercase letters, digits and underscores")]
    InvalidServiceCode(String),
    #[error("service code {0:?} appears more than once")]
    DuplicateService(String),
    #[error(
        "material code {material:?} of service {service:?} is invalid: \
         use only lowercase letters, digits and underscores"
    )]
    InvalidMaterialCode { service: String, material: String },
    #[error("material code {material:?} appears more than once in service {service:?}")]
    DuplicateMaterial { service: String, material: String },
}

/// A material code given for a service that does not ask for it: the client is out of date
/// with the catalog or sent the wrong service.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("material {material:?} is not one of the materials of service {service:?}")]
pub struct UnknownMaterial {
    pub service: String,
    pub material: String,
}

/// The example catalog, checked by the `seed_catalog_is_valid` test.
const SEED: &str = include_str!("../catalog.seed.toml");

impl Catalog {
    /// Parses and validates: at least one service; service and material codes non-empty
    /// `[a-z0-9_]+`; service codes unique; material codes unique within their service.
    pub fn from_toml_str(text: &str) -> Result<Self, CatalogError> {
        let catalog: Self = toml::from_str(text)?;
        catalog.validate()?;
        Ok(catalog)
    }

    /// The example catalog shipped with the product (DOMAIN.md's service types).
    pub fn seed() -> Self {
        // The seed is compiled in and the `seed_catalog_is_valid` test parses it, so this
        // cannot fail in a build whose tests pass.
        #[allow(clippy::expect_used)]
        Self::from_toml_str(SEED).expect("catalog.seed.toml is valid (tested)")
    }

    /// The service with this code, if the catalog offers it.
    pub fn get(&self, code: &str) -> Option<&ServiceType> {
        self.services.iter().find(|s| s.code == code)
    }

    fn validate(&self) -> Result<(), CatalogError> {
        if self.services.is_empty() {
            return Err(CatalogError::NoServices);
        }
        let mut service_codes = HashSet::new();
        for service in &self.services {
            if !is_valid_code(&service.code) {
                return Err(CatalogError::InvalidServiceCode(service.code.clone()));
            }
            if !service_codes.insert(service.code.as_str()) {
                return Err(CatalogError::DuplicateService(service.code.clone()));
            }
            let mut material_codes = HashSet::new();
            for material in &service.materials {
                if !is_valid_code(&material.code) {
                    return Err(CatalogError::InvalidMaterialCode {
                        service: service.code.clone(),
                        material: material.code.clone(),
                    });
                }
                if !material_codes.insert(material.code.as_str()) {
                    return Err(CatalogError::DuplicateMaterial {
                        service: service.code.clone(),
                        material: material.code.clone(),
                    });
                }
            }
        }
        Ok(())
    }
}

/// Codes go into URLs, database keys and metrics labels, so they stay plain.
fn is_valid_code(code: &str) -> bool {
    !code.is_empty()
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl ServiceType {
    /// The codes of this service's materials not in `provided`, in catalog order: the
    /// content of the one-time notice (一次性告知), listing everything missing at once.
    ///
    /// Refuses a provided code this service does not ask for rather than ignoring it, so
    /// a client that is out of date with the catalog is noticed, not silently wrong.
    /// Duplicates in `provided` are harmless.
    pub fn missing_materials(&self, provided: &[String]) -> Result<Vec<String>, UnknownMaterial> {
        if let Some(unknown) = provided
            .iter()
            .find(|code| !self.materials.iter().any(|m| &m.code == *code))
        {
            return Err(UnknownMaterial {
                service: self.code.clone(),
                material: unknown.clone(),
            });
        }
        Ok(self
            .materials
            .iter()
            .filter(|m| !provided.contains(&m.code))
            .map(|m| m.code.clone())
            .collect())
    }

    /// When a case of this service received at `start` is due.
    ///
    /// Working and calendar days end at 23:59:59 local time in `cal`'s zone; hours are
    /// exact. Saturates at the latest representable time instead of overflowing.
    pub fn due_at(&self, start: DateTime<Utc>, cal: &WorkCalendar) -> DateTime<Utc> {
        match self.promised {
            PromisedTime::WorkingDays(days) => cal.add_working_days(start, days),
            PromisedTime::CalendarDays(days) => cal.add_calendar_days(start, days),
            PromisedTime::Hours(hours) => start
                .checked_add_signed(TimeDelta::hours(i64::from(hours)))
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::{FixedOffset, TimeZone};

    fn beijing(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
        let zone = WorkCalendar::china().zone();
        let local = zone.with_ymd_and_hms(y, m, d, h, min, s).single().unwrap();
        local.with_timezone(&Utc)
    }

    fn codes(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    const SMALL: &str = r#"
        [[services]]
        code = "no_criminal_record_certificate"
        name_zh = "无犯罪记录证明"
        name_en = "No-criminal-record certificate"
        approval_required = true
        promised = { working_days = 3 }

        [[services.materials]]
        code = "id_card"
        name_zh = "居民身份证"
        name_en = "Resident ID card"

        [[services.materials]]
        code = "purpose_statement"
        name_zh = "用途说明"
        name_en = "Statement of purpose"
    "#;

    #[test]
    fn seed_catalog_is_valid() {
        let catalog = Catalog::from_toml_str(SEED).unwrap();
        assert_eq!(catalog, Catalog::seed());
        for service in &catalog.services {
            assert!(!service.name_zh.is_empty() && !service.name_en.is_empty());
            assert!(!service.materials.is_empty(), "{}", service.code);
            assert!(
                (3..=5).contains(&service.steps_zh.len()),
                "{}",
                service.code
            );
            assert_eq!(
                service.steps_zh.len(),
                service.steps_en.len(),
                "{}",
                service.code
            );
        }
    }

    #[test]
    fn seed_has_domain_services() {
        let catalog = Catalog::seed();
        let id_card = catalog.get("resident_id_card_renewal").unwrap();
        assert!(id_card.approval_required);
        assert_eq!(id_card.promised, PromisedTime::WorkingDays(20));
        let temporary = catalog.get("temporary_id_card").unwrap();
        assert!(!temporary.approval_required);
        assert!(catalog.get("no_such_service").is_none());
    }

    #[test]
    fn small_catalog_parses_with_steps_defaulted() {
        let catalog = Catalog::from_toml_str(SMALL).unwrap();
        let service = catalog.get("no_criminal_record_certificate").unwrap();
        assert_eq!(service.promised, PromisedTime::WorkingDays(3));
        assert_eq!(service.materials.len(), 2);
        assert!(service.steps_zh.is_empty() && service.steps_en.is_empty());
    }

    #[test]
    fn promised_time_toml_forms() {
        for (text, expected) in [
            (
                "promised = { working_days = 20 }",
                PromisedTime::WorkingDays(20),
            ),
            (
                "promised = { calendar_days = 3 }",
                PromisedTime::CalendarDays(3),
            ),
            ("promised = { hours = 4 }", PromisedTime::Hours(4)),
        ] {
            #[derive(Deserialize)]
            struct Wrapper {
                promised: PromisedTime,
            }
            let parsed: Wrapper = toml::from_str(text).unwrap();
            assert_eq!(parsed.promised, expected);
        }
    }

    #[test]
    fn invalid_catalogs_are_refused_naming_the_code() {
        let cases = [
            ("services = []", "no services"),
            (
                &SMALL.replace("no_criminal", "No-criminal"),
                "\"No-criminal_record_certificate\"",
            ),
            (
                &SMALL.replace("\"purpose_statement\"", "\"\""),
                "material code \"\"",
            ),
            (
                &SMALL.replace("\"purpose_statement\"", "\"id_card\""),
                "\"id_card\" appears",
            ),
            (
                &format!("{SMALL}\n{SMALL}"),
                "\"no_criminal_record_certificate\" appears",
            ),
            (&SMALL.replace("working_days", "weeks"), "not valid TOML"),
            (
                &SMALL.replace("approval_required", "aproval_required"),
                "not valid TOML",
            ),
        ];
        for (text, expected) in cases {
            let err = Catalog::from_toml_str(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{err} does not contain {expected}");
        }
    }

    #[test]
    fn missing_materials_in_catalog_order() {
        let catalog = Catalog::from_toml_str(SMALL).unwrap();
        let service = catalog.get("no_criminal_record_certificate").unwrap();
        assert_eq!(
            service.missing_materials(&[]).unwrap(),
            codes(&["id_card", "purpose_statement"])
        );
        assert_eq!(
            service
                .missing_materials(&codes(&["purpose_statement", "purpose_statement"]))
                .unwrap(),
            codes(&["id_card"])
        );
        let all = codes(&["purpose_statement", "id_card"]);
        assert!(service.missing_materials(&all).unwrap().is_empty());
    }

    #[test]
    fn unknown_material_is_an_error() {
        let catalog = Catalog::from_toml_str(SMALL).unwrap();
        let service = catalog.get("no_criminal_record_certificate").unwrap();
        let err = service
            .missing_materials(&codes(&["id_card", "old_id_card"]))
            .unwrap_err();
        assert_eq!(err.material, "old_id_card");
        assert_eq!(err.service, "no_criminal_record_certificate");
    }

    #[test]
    fn due_at_for_each_promise_kind() {
        let cal = WorkCalendar::china();
        let mut service = Catalog::from_toml_str(SMALL).unwrap().services.remove(0);
        // Friday 2026-03-06, 10:00 Beijing time.
        let start = beijing(2026, 3, 6, 10, 0, 0);

        service.promised = PromisedTime::WorkingDays(3);
        assert_eq!(
            service.due_at(start, &cal),
            beijing(2026, 3, 11, 23, 59, 59)
        );
        service.promised = PromisedTime::CalendarDays(3);
        assert_eq!(service.due_at(start, &cal), beijing(2026, 3, 9, 23, 59, 59));
        service.promised = PromisedTime::CalendarDays(0);
        assert_eq!(service.due_at(start, &cal), beijing(2026, 3, 6, 23, 59, 59));
        service.promised = PromisedTime::Hours(4);
        assert_eq!(service.due_at(start, &cal), beijing(2026, 3, 6, 14, 0, 0));
    }

    #[test]
    fn due_at_uses_the_calendar_zone() {
        let utc = WorkCalendar::new(FixedOffset::east_opt(0).unwrap());
        let mut service = Catalog::from_toml_str(SMALL).unwrap().services.remove(0);
        service.promised = PromisedTime::CalendarDays(0);
        let start = Utc.with_ymd_and_hms(2026, 3, 6, 20, 0, 0).unwrap();
        let end = Utc.with_ymd_and_hms(2026, 3, 6, 23, 59, 59).unwrap();
        assert_eq!(service.due_at(start, &utc), end);
        // The same instant is already Saturday in Beijing.
        assert_eq!(
            service.due_at(start, &WorkCalendar::china()),
            beijing(2026, 3, 7, 23, 59, 59)
        );
    }
}
