//! What a case's re-derivation changes in the maintained counters: the status counters
//! ([`super::counts`]), the due-day counters ([`super::due`]), the flow counters
//! ([`super::flow`]) and the promised-time counters ([`super::levels`]). Gathered per event and written once per batch, one kind after the
//! other, each in key order, so parallel transactions take the counters' row locks in one
//! order.

use super::counts::{self, changes, CountKey};
use super::derive::CaseState;
use super::due::{self, DueKey};
use super::flow::{self, FlowKey};
use super::levels::{self, LevelKey};
use crate::store::case;
use sea_orm::{ConnectionTrait, DbErr};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Moves {
    pub counts: Vec<(CountKey, i64)>,
    pub due: Vec<(DueKey, i64)>,
    pub flow: Vec<(FlowKey, i64)>,
    pub levels: Vec<(LevelKey, i64)>,
}

impl Moves {
    /// From the row as it was to the case as re-derived.
    pub fn between(old: &case::Model, new: &CaseState) -> Moves {
        Moves {
            counts: changes(CountKey::of_row(old), CountKey::of_state(new)),
            due: changes(DueKey::of_row(old), DueKey::of_state(new)),
            flow: flow::changes(flow::keys_of_row(old), flow::keys_of_state(new)),
            levels: changes(LevelKey::of_row(old), LevelKey::of_state(new)),
        }
    }

    pub fn extend(&mut self, other: Moves) {
        self.counts.extend(other.counts);
        self.due.extend(other.due);
        self.flow.extend(other.flow);
        self.levels.extend(other.levels);
    }

    pub async fn write<C: ConnectionTrait>(&self, db: &C) -> Result<(), DbErr> {
        counts::bump_all(db, &self.counts).await?;
        due::bump_all(db, &self.due).await?;
        flow::bump_all(db, &self.flow).await?;
        levels::bump_all(db, &self.levels).await
    }
}
