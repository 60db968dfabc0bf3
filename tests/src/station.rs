//! One police station's staff working cases through the whole system, and waits for what
//! each of them would see: `station.take_case_to(7, Status::Fulfilled)`,
//! `station.backlog_shows(&id, "closed")`.

use crate::people::{case_request, Person, Reply};
use crate::System;
use anyhow::{bail, ensure};
use clearline_contracts::EventKind;
use clearline_domain::Status;
use clearline_platform::http::Role;
use serde_json::Value;
use std::future::Future;
use std::time::Duration;

/// How long anything asynchronous (an event crossing services) may take before a test fails.
/// Generous: it bounds a failure, and a passing test never waits for it.
pub const SETTLE: Duration = Duration::from_secs(30);

/// Needs approval; the resident brings an ID card, proof of residence and of work or study.
pub const PERMIT: &str = "residence_permit";
pub const PERMIT_MATERIALS: [&str; 3] = ["id_card", "proof_of_residence", "proof_of_work_or_study"];
/// Needs no approval: straight from the window to fulfilment.
pub const TEMPORARY_ID: &str = "temporary_id_card";
pub const TEMPORARY_ID_MATERIALS: [&str; 2] = ["household_booklet", "photo"];

/// A residence permit's backlog timeline from the window to the hand-over.
pub const CLOSED_TIMELINE: [&str; 6] = [
    "received",
    "submitted",
    "approved",
    "fulfilment_started",
    "fulfilled",
    "closed",
];
/// The same, after the approver returned it once for a material.
pub const CLOSED_AFTER_A_RETURN: [&str; 10] = [
    "received",
    "submitted",
    "returned",
    "materials_requested",
    "materials_completed",
    "submitted",
    "approved",
    "fulfilment_started",
    "fulfilled",
    "closed",
];

/// The people of one unit, plus a supervisor who oversees every unit.
#[derive(Clone)]
pub struct Station<'a> {
    pub system: &'a System,
    pub unit: String,
    pub clerk: Person,
    pub approver: Person,
    pub officer: Person,
    pub supervisor: Person,
}

impl<'a> Station<'a> {
    /// Staff of `unit`: `clerk-<unit>`, `approver-<unit>`, `officer-<unit>`.
    pub fn at(system: &'a System, unit: &str) -> Station<'a> {
        Station {
            system,
            unit: unit.to_string(),
            clerk: system.person(&format!("clerk-{unit}"), Role::Clerk, Some(unit)),
            approver: system.person(&format!("approver-{unit}"), Role::Approver, Some(unit)),
            officer: system.person(&format!("officer-{unit}"), Role::Fulfilment, Some(unit)),
            supervisor: system.person("supervisor", Role::Supervisor, None),
        }
    }

    /// A residence permit with every material: submitted for approval at once.
    pub async fn receive_complete(&self, n: u32) -> anyhow::Result<String> {
        let reply = self
            .clerk
            .receive(case_request(PERMIT, &PERMIT_MATERIALS, n))
            .await;
        let body = expect_status(reply, 201, "receiving a complete case")?;
        ensure!(body["status"] == "pending_approval", "{body}");
        Ok(body["id"].as_str().unwrap_or_default().to_string())
    }

    /// A residence permit with only the ID card: it waits for the other two materials.
    pub async fn receive_incomplete(&self, n: u32) -> anyhow::Result<String> {
        let reply = self
            .clerk
            .receive(case_request(PERMIT, &["id_card"], n))
            .await;
        let body = expect_status(reply, 201, "receiving an incomplete case")?;
        ensure!(body["status"] == "awaiting_materials", "{body}");
        Ok(body["id"].as_str().unwrap_or_default().to_string())
    }

    /// A temporary ID card with every material: no approval, straight to fulfilment.
    pub async fn receive_without_approval(&self, n: u32) -> anyhow::Result<String> {
        let reply = self
            .clerk
            .receive(case_request(TEMPORARY_ID, &TEMPORARY_ID_MATERIALS, n))
            .await;
        let body = expect_status(reply, 201, "receiving a temporary ID card")?;
        ensure!(body["status"] == "awaiting_fulfilment", "{body}");
        Ok(body["id"].as_str().unwrap_or_default().to_string())
    }

    /// Works a new residence permit (resident number `n`) until it is `status`, waiting at
    /// each hand-over for the next service to have it, as the next person would.
    pub async fn take_case_to(&self, n: u32, status: Status) -> anyhow::Result<String> {
        use Status as S;
        if matches!(status, S::Booked | S::Received) {
            bail!("a window case does not rest at {status}");
        }
        if matches!(status, S::AwaitingMaterials | S::Cancelled) {
            let id = self.receive_incomplete(n).await?;
            if status == S::Cancelled {
                let reply = self.clerk.cancel(&id, "the resident withdrew").await;
                expect_status(reply, 200, "cancelling")?;
            }
            return Ok(id);
        }
        let id = self.receive_complete(n).await?;
        self.approval_shows(&id, "pending").await?;
        match status {
            S::PendingApproval => return Ok(id),
            S::Rejected => {
                let reply = self.approver.reject(&id, "the lease has expired").await;
                expect_status(reply, 200, "rejecting")?;
                return Ok(id);
            }
            _ => {}
        }
        expect_status(self.approver.approve(&id).await, 200, "approving")?;
        self.fulfilment_shows(&id, "awaiting").await?;
        if status == S::AwaitingFulfilment {
            return Ok(id);
        }
        let started = self.officer.start(&id, "counter_pickup").await;
        expect_status(started, 200, "starting fulfilment")?;
        if status == S::InFulfilment {
            return Ok(id);
        }
        expect_status(self.officer.fulfil(&id).await, 200, "fulfilling")?;
        if status == S::Fulfilled {
            return Ok(id);
        }
        expect_status(self.officer.close(&id).await, 200, "closing")?;
        Ok(id)
    }

    /// The officer hands the result over once the case reaches fulfilment: start, fulfil,
    /// close.
    pub async fn hand_over(&self, id: &str) -> anyhow::Result<()> {
        self.fulfilment_shows(id, "awaiting").await?;
        let started = self.officer.start(id, "counter_pickup").await;
        expect_status(started, 200, "starting fulfilment")?;
        expect_status(self.officer.fulfil(id).await, 200, "fulfilling")?;
        expect_status(self.officer.close(id).await, 200, "closing")?;
        Ok(())
    }

    /// The backlog's own audit: every maintained counter equals a recount of the cases.
    pub async fn counters_agree(&self) -> anyhow::Result<()> {
        let verify = self.supervisor.verify_counters().await;
        ensure!(
            verify.body["ok"] == true,
            "counters drifted: {}",
            verify.body
        );
        Ok(())
    }

    /// Waits until the backlog shows the case in `status`; returns the case and its timeline.
    pub async fn backlog_shows(&self, id: &str, status: &str) -> anyhow::Result<Value> {
        let what = format!("case {id} in the backlog");
        until_status(self.system, &what, status, || {
            self.supervisor.tracked_case(id)
        })
        .await
    }

    /// Waits until the backlog holds `events` events of the case (a status alone can show
    /// before the events that do not change it, like a fresh notice); returns the case and
    /// its timeline.
    /// Waits until the backlog's timeline of the case holds `events` lifecycle events
    /// (notices such as `task_opened` are not counted).
    pub async fn backlog_holds(&self, id: &str, events: usize) -> anyhow::Result<Value> {
        let what = format!("case {id} to have {events} lifecycle events in the backlog");
        self.system
            .eventually(&what, SETTLE, || async {
                let reply = self.supervisor.tracked_case(id).await;
                let timeline = reply.body["timeline"].as_array().map_or(0, Vec::len);
                // The row and the timeline are two reads: wait until they agree.
                let consistent = reply.body["event_count"] == timeline;
                (reply.status == 200 && consistent && step_types(&reply.body).len() == events)
                    .then_some(reply.body)
            })
            .await
    }

    /// Waits until the window (intake) shows the case in `status`.
    pub async fn window_shows(&self, id: &str, status: &str) -> anyhow::Result<Value> {
        let what = format!("case {id} at the window");
        until_status(self.system, &what, status, || self.clerk.case_at_window(id)).await
    }

    /// Waits until the case's approval task is `status`.
    pub async fn approval_shows(&self, id: &str, status: &str) -> anyhow::Result<Value> {
        let what = format!("the approval task of {id}");
        until_status(self.system, &what, status, || {
            self.approver.approval_task(id)
        })
        .await
    }

    /// Waits until the case's fulfilment task is `status`.
    pub async fn fulfilment_shows(&self, id: &str, status: &str) -> anyhow::Result<Value> {
        let what = format!("the fulfilment task of {id}");
        until_status(self.system, &what, status, || {
            self.officer.fulfilment_task(id)
        })
        .await
    }
}

/// Polls `fetch` until it answers 200 with `"status": status`; returns that body. On a
/// timeout, says what the last answer was.
pub async fn until_status<F, Fut>(
    system: &System,
    what: &str,
    status: &str,
    mut fetch: F,
) -> anyhow::Result<Value>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Reply>,
{
    let last = std::sync::Mutex::new(None::<Reply>);
    let waited = system
        .eventually(&format!("{what} to be {status}"), SETTLE, || {
            let reply = fetch();
            let last = &last;
            async move {
                let reply = reply.await;
                let found = reply.status == 200 && reply.body["status"] == status;
                let body = found.then(|| reply.body.clone());
                if let Ok(mut last) = last.lock() {
                    *last = Some(reply);
                }
                body
            }
        })
        .await;
    waited.map_err(|error| {
        let seen = last.lock().ok().and_then(|l| l.clone());
        let seen = seen.map_or("nothing".to_string(), |r| {
            format!("{} {}", r.status, r.body)
        });
        error.context(format!("the last answer was {seen}"))
    })
}

/// The body of `reply` if it has the `expected` status; otherwise an error naming `what`.
pub fn expect_status(reply: Reply, expected: u16, what: &str) -> anyhow::Result<Value> {
    ensure!(
        reply.status == expected,
        "{what}: expected {expected}, got {} {}",
        reply.status,
        reply.body
    );
    Ok(reply.body)
}

/// The material codes of a `missing_materials` or `provided_materials` list.
pub fn material_codes(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|m| m["code"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Every event type of a backlog case's timeline, in its order, notices included (see
/// [`step_types`] and [`notice_types`]).
pub fn timeline_types(case: &Value) -> Vec<String> {
    types_where(case, |_| true)
}

/// The notices of a backlog case's timeline, in its order.
pub fn notice_types(case: &Value) -> Vec<String> {
    types_where(case, EventKind::is_notice)
}

fn types_where(case: &Value, keep: impl Fn(EventKind) -> bool) -> Vec<String> {
    case["timeline"]
        .as_array()
        .map(|events| {
            events
                .iter()
                .filter_map(|e| e["type"].as_str())
                .filter(|t| EventKind::parse(t).is_some_and(&keep))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Notices follow an event without taking a step of their own (they carry the sequence of
/// the event they are about).
pub fn is_notice(event_type: &str) -> bool {
    EventKind::parse(event_type).is_some_and(EventKind::is_notice)
}

/// The event types of a backlog case's timeline without the notices: the case's steps.
pub fn step_types(case: &Value) -> Vec<String> {
    types_where(case, |kind| !kind.is_notice())
}

/// The `id` (intake) or `case_id` (backlog) of each case in a JSON list.
pub fn case_ids(list: &Value) -> std::collections::BTreeSet<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|case| case["id"].as_str().or(case["case_id"].as_str()))
        .map(str::to_string)
        .collect()
}
