//! The demo users `clearline dev` creates in the portal and prints tokens for.

use clearline_platform::http::Role;

/// The password every demo user signs in with. Demo data only: a deployment adds its real
/// users on the admin page.
pub const DEMO_PASSWORD: &str = "clearline-demo";

/// A user the portal creates when demo users are asked for.
#[derive(Debug, Clone, Copy)]
pub struct DemoUser {
    pub id: &'static str,
    pub name: &'static str,
    pub role: Role,
    pub unit: Option<&'static str>,
    /// The intake window a clerk works at.
    pub window: Option<&'static str>,
}

const fn user(
    id: &'static str,
    name: &'static str,
    role: Role,
    unit: Option<&'static str>,
    window: Option<&'static str>,
) -> DemoUser {
    DemoUser {
        id,
        name,
        role,
        unit,
        window,
    }
}

pub const DEMO_USERS: [DemoUser; 6] = [
    user("clerk1", "王窗口", Role::Clerk, Some("HP01"), Some("1")),
    user("clerk2", "李窗口", Role::Clerk, Some("HP01"), Some("2")),
    user("approver1", "赵审批", Role::Approver, Some("HP01"), None),
    user("officer1", "孙发证", Role::Fulfilment, Some("HP01"), None),
    user("supervisor1", "周所长", Role::Supervisor, None, None),
    user("admin", "管理员", Role::Admin, None, None),
];
