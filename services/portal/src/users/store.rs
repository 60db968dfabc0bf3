//! Reading and changing users and sessions.

use super::password;
use crate::demo::DemoUser;
use chrono::{DateTime, Utc};
use clearline_platform::http::Role;
use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, ConnectionTrait, QueryOrder};
use sha2::{Digest, Sha256};

pub mod user {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "portal_users")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// Personal: shown on pages, never logged.
        pub name: String,
        pub password_hash: String,
        pub roles: String,
        pub unit: Option<String>,
        pub service_window: Option<String>,
        pub disabled: bool,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod session {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "portal_sessions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub token_hash: String,
        pub user_id: String,
        pub csrf_token: String,
        pub created_at: DateTimeUtc,
        pub last_seen_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub type SessionRow = session::Model;

/// A member of staff as the portal knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub name: String,
    pub roles: Vec<Role>,
    pub unit: Option<String>,
    pub window: Option<String>,
    pub disabled: bool,
}

impl User {
    fn from_row(row: user::Model) -> User {
        User {
            roles: parse_roles(&row.roles),
            id: row.id,
            name: row.name,
            unit: row.unit,
            window: row.service_window,
            disabled: row.disabled,
        }
    }

    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn has_any(&self, roles: &[Role]) -> bool {
        roles.iter().any(|role| self.has(*role))
    }
}

pub fn parse_roles(text: &str) -> Vec<Role> {
    text.split(',')
        .filter_map(|r| Role::parse(r.trim()))
        .collect()
}

pub fn roles_text(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// A new user's details, as the admin page or the demo seed gives them.
pub struct NewUser {
    pub id: String,
    pub name: String,
    pub password: String,
    pub roles: Vec<Role>,
    pub unit: Option<String>,
    pub window: Option<String>,
}

pub async fn find<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<User>, DbErr> {
    Ok(user::Entity::find_by_id(id.to_string())
        .one(db)
        .await?
        .map(User::from_row))
}

pub async fn list<C: ConnectionTrait>(db: &C) -> Result<Vec<User>, DbErr> {
    Ok(user::Entity::find()
        .order_by_asc(user::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(User::from_row)
        .collect())
}

/// The user whose id and password these are, when they exist, match and are not disabled.
pub async fn authenticate<C: ConnectionTrait>(
    db: &C,
    id: &str,
    given: &str,
) -> Result<Option<User>, DbErr> {
    let row = user::Entity::find_by_id(id.to_string()).one(db).await?;
    let Some(row) = row else {
        // Spend the same time as a real check, so response times do not reveal which
        // user ids exist.
        let _ = password::verify(given.to_string(), DUMMY_HASH.to_string()).await;
        return Ok(None);
    };
    let ok = password::verify(given.to_string(), row.password_hash.clone()).await;
    Ok((ok && !row.disabled).then(|| User::from_row(row)))
}

/// An argon2id hash of a random string nobody knows; verified against for unknown users.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2+Pv6L3g3LkzUqQ0ex0Z4e9nG0s9y3b1mU0fQj8xV6Y";

/// Adds a user; `false` when the id is taken.
pub async fn create<C: ConnectionTrait>(db: &C, new: NewUser) -> anyhow::Result<bool> {
    if find(db, &new.id).await?.is_some() {
        return Ok(false);
    }
    let hash = password::hash(new.password).await?;
    user::ActiveModel {
        id: Set(new.id),
        name: Set(new.name),
        password_hash: Set(hash),
        roles: Set(roles_text(&new.roles)),
        unit: Set(new.unit),
        service_window: Set(new.window),
        disabled: Set(false),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?;
    Ok(true)
}

pub async fn set_roles<C: ConnectionTrait>(db: &C, id: &str, roles: &[Role]) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(user::Column::Roles, Expr::value(roles_text(roles)))
        .filter(user::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Disables (and ends every session of) a user, or enables them again.
pub async fn set_disabled<C: ConnectionTrait>(
    db: &C,
    id: &str,
    disabled: bool,
) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(user::Column::Disabled, Expr::value(disabled))
        .filter(user::Column::Id.eq(id))
        .exec(db)
        .await?;
    if disabled {
        end_sessions_of(db, id).await?;
    }
    Ok(())
}

/// Creates the demo users that are missing.
pub async fn seed<C: ConnectionTrait>(db: &C, users: &[DemoUser]) -> anyhow::Result<()> {
    for demo in users {
        create(
            db,
            NewUser {
                id: demo.id.to_string(),
                name: demo.name.to_string(),
                password: crate::demo::DEMO_PASSWORD.to_string(),
                roles: vec![demo.role],
                unit: demo.unit.map(str::to_string),
                window: demo.window.map(str::to_string),
            },
        )
        .await?;
    }
    Ok(())
}

/// What the cookie carries is `token`; the table keeps its hash.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A fresh random token (256 bits, hex).
pub fn random_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Starts a session; returns the cookie token. Always a new token: a session id an attacker
/// planted before sign-in is never promoted.
pub async fn start_session<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    now: DateTime<Utc>,
) -> Result<String, DbErr> {
    let token = random_token();
    session::ActiveModel {
        token_hash: Set(token_hash(&token)),
        user_id: Set(user_id.to_string()),
        csrf_token: Set(random_token()),
        created_at: Set(now),
        last_seen_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(token)
}

pub async fn find_session<C: ConnectionTrait>(
    db: &C,
    token: &str,
) -> Result<Option<SessionRow>, DbErr> {
    session::Entity::find_by_id(token_hash(token)).one(db).await
}

pub async fn touch_session<C: ConnectionTrait>(
    db: &C,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    session::Entity::update_many()
        .col_expr(session::Column::LastSeenAt, Expr::value(now))
        .filter(session::Column::TokenHash.eq(token_hash))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn end_session<C: ConnectionTrait>(db: &C, token_hash: &str) -> Result<(), DbErr> {
    session::Entity::delete_by_id(token_hash.to_string())
        .exec(db)
        .await?;
    Ok(())
}

pub async fn end_sessions_of<C: ConnectionTrait>(db: &C, user_id: &str) -> Result<(), DbErr> {
    session::Entity::delete_many()
        .filter(session::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}
