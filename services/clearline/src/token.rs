//! `clearline token --user U --role R [--unit X]`: a signed bearer token for development.

use clap::Args;
use clearline_platform::config::DEV_JWT_SECRET;
use clearline_platform::http::{JwtKeys, Role};

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The user id (the token's `sub`).
    #[arg(long)]
    pub user: String,
    /// clerk, approver, fulfilment, supervisor or admin; repeat for several.
    #[arg(long = "role", required = true)]
    pub roles: Vec<String>,
    /// The unit (station) the user works for; omit for a city-wide supervisor or admin.
    #[arg(long)]
    pub unit: Option<String>,
    /// Display name; defaults to the user id.
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long, default_value_t = 12)]
    pub ttl_hours: i64,
    #[arg(long, env = "CLEARLINE_JWT_SECRET", default_value = DEV_JWT_SECRET, hide_default_value = true)]
    pub jwt_secret: String,
}

pub fn run(args: TokenArgs) -> anyhow::Result<()> {
    let roles = parse_roles(&args.roles)?;
    let keys = JwtKeys::from_secret(&args.jwt_secret);
    let name = args.name.as_deref().unwrap_or(&args.user);
    println!(
        "{}",
        keys.issue(
            &args.user,
            name,
            &roles,
            args.unit.as_deref(),
            chrono::Duration::hours(args.ttl_hours)
        )
    );
    Ok(())
}

pub fn parse_roles(names: &[String]) -> anyhow::Result<Vec<Role>> {
    names
        .iter()
        .map(|r| {
            Role::parse(r).ok_or_else(|| {
                anyhow::anyhow!(
                    "unknown role {r:?}: use clerk, approver, fulfilment, supervisor or admin"
                )
            })
        })
        .collect()
}
