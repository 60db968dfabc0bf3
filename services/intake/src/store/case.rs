//! A case as intake holds it.

use sea_orm::entity::prelude::*;
use std::fmt;

#[derive(Clone, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "cases")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub case_number: String,
    pub unit: String,
    pub service_window: String,
    pub channel: String,
    pub service_type: String,
    /// A [`clearline_domain::Status`] name, as far as intake knows it.
    pub status: String,
    /// The last event sequence intake emitted or saw for this case.
    pub sequence: i32,
    /// 1 for the first submission; one more after each return for materials.
    pub round: i32,
    pub applicant_name: String,
    pub applicant_id_number: String,
    pub applicant_phone: String,
    /// Material codes the resident has brought.
    pub provided_materials: Json,
    /// Material codes still missing (the one-time notice).
    pub missing_materials: Json,
    pub received_by: String,
    pub received_at: DateTimeUtc,
    pub due_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub cancel_reason: Option<String>,
}

/// Written by hand so a case never prints a resident's personal data into a log.
impl fmt::Debug for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Case")
            .field("id", &self.id)
            .field("case_number", &self.case_number)
            .field("status", &self.status)
            .field("sequence", &self.sequence)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    pub fn status(&self) -> Option<clearline_domain::Status> {
        clearline_domain::Status::parse(&self.status)
    }

    pub fn provided(&self) -> Vec<String> {
        serde_json::from_value(self.provided_materials.clone()).unwrap_or_default()
    }

    pub fn missing(&self) -> Vec<String> {
        serde_json::from_value(self.missing_materials.clone()).unwrap_or_default()
    }
}
