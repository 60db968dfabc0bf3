//! The admin's user page: add a user, change a user's roles, disable a user (which ends
//! every session they have) or enable them again.

use super::{render, see_other, Chrome, Nav, PageError, ADMIN};
use crate::form::FormData;
use crate::i18n;
use crate::session::{Viewer, CSRF_FIELD};
use crate::users::store::{self, NewUser};
use crate::AppState;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use clearline_platform::http::Role;
use serde::Deserialize;

pub struct RoleBox {
    pub code: &'static str,
    pub name: String,
    pub checked: bool,
}

pub struct UserRow {
    pub id: String,
    pub name: String,
    pub unit: String,
    pub window: String,
    pub roles: Vec<RoleBox>,
    pub disabled: bool,
    pub is_me: bool,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    c: Chrome,
    users: Vec<UserRow>,
    new_roles: Vec<RoleBox>,
    message: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct AdminQuery {
    saved: Option<String>,
}

fn role_boxes(lang: i18n::Lang, held: &[Role]) -> Vec<RoleBox> {
    Role::ALL
        .iter()
        .map(|role| RoleBox {
            code: role.as_str(),
            name: i18n::role(lang, role.as_str()),
            checked: held.contains(role),
        })
        .collect()
}

async fn show(
    app: &AppState,
    viewer: &Viewer,
    message: Option<String>,
    error: Option<String>,
) -> Result<Response, PageError> {
    let me = viewer.require(ADMIN)?.id.clone();
    let lang = viewer.lang;
    let users = store::list(&app.db)
        .await
        .map_err(|e| PageError::internal(lang, e))?
        .into_iter()
        .map(|u| UserRow {
            roles: role_boxes(lang, &u.roles),
            is_me: u.id == me,
            id: u.id,
            name: u.name,
            unit: u.unit.unwrap_or_default(),
            window: u.window.unwrap_or_default(),
            disabled: u.disabled,
        })
        .collect();
    render(
        lang,
        &AdminPage {
            c: Chrome::new(viewer, lang.t().admin_title, Nav::Admin),
            users,
            new_roles: role_boxes(lang, &[]),
            message,
            error,
        },
    )
}

/// `GET /admin`.
pub async fn page(
    State(app): State<AppState>,
    viewer: Viewer,
    Query(query): Query<AdminQuery>,
) -> Result<Response, PageError> {
    let message = query.saved.map(|_| viewer.lang.t().saved.to_string());
    show(&app, &viewer, message, None).await
}

fn roles_of(form: &FormData) -> Vec<Role> {
    form.all("roles")
        .iter()
        .filter_map(|r| Role::parse(r))
        .collect()
}

fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `POST /admin/users`.
pub async fn add_user(
    State(app): State<AppState>,
    viewer: Viewer,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = FormData::parse(&body);
    viewer.check_csrf(&form.get(CSRF_FIELD))?;
    viewer.require(ADMIN)?;
    let lang = viewer.lang;
    let t = lang.t();
    let new = NewUser {
        id: form.get("id"),
        name: form.get("name"),
        password: form.get("password"),
        roles: roles_of(&form),
        unit: Some(form.get("unit")).filter(|u| !u.is_empty()),
        window: Some(form.get("window")).filter(|w| !w.is_empty()),
    };
    let complaint = if !valid_id(&new.id)
        || new.name.is_empty()
        || new.password.chars().count() < 8
        || new.roles.is_empty()
    {
        Some(t.user_invalid)
    } else {
        match store::create(&app.db, new).await {
            Ok(true) => None,
            Ok(false) => Some(t.user_exists),
            Err(e) => return Err(PageError::internal(lang, e)),
        }
    };
    match complaint {
        None => Ok(see_other("/admin?saved=1")),
        Some(text) => {
            let mut response = show(&app, &viewer, None, Some(text.to_string())).await?;
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
    }
}

/// `POST /admin/users/{id}/{roles|disable|enable}`.
pub async fn change_user(
    State(app): State<AppState>,
    viewer: Viewer,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = FormData::parse(&body);
    viewer.check_csrf(&form.get(CSRF_FIELD))?;
    let me = viewer.require(ADMIN)?.id.clone();
    let lang = viewer.lang;
    if store::find(&app.db, &id)
        .await
        .map_err(|e| PageError::internal(lang, e))?
        .is_none()
    {
        return Err(PageError::NotFound(lang));
    }
    let result = match action.as_str() {
        "roles" => {
            let roles = roles_of(&form);
            // An admin cannot take away their own admin role and lock everyone out.
            if roles.is_empty() || (id == me && !roles.contains(&Role::Admin)) {
                return show(&app, &viewer, None, Some(lang.t().user_invalid.to_string())).await;
            }
            store::set_roles(&app.db, &id, &roles).await
        }
        "disable" if id != me => store::set_disabled(&app.db, &id, true).await,
        "enable" => store::set_disabled(&app.db, &id, false).await,
        _ => return Err(PageError::NotFound(lang)),
    };
    result.map_err(|e| PageError::internal(lang, e))?;
    tracing::info!(user_id = %me, target = %id, action = %action, "user changed");
    Ok(see_other("/admin?saved=1"))
}
