//! Bearer tokens: who is calling, in which roles, for which unit.
//!
//! Every service verifies the same HS256 JWTs with a shared secret, so a token issued by
//! `clearline token` or the portal works everywhere. Handlers take an [`AuthUser`] argument
//! and check roles and units on it; a request without a valid token never reaches them.

use super::error::ApiError;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// What a member of staff may do. A token may carry several.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Receives applications at the window.
    Clerk,
    /// Decides on submitted cases.
    Approver,
    /// Hands over the finished document or service.
    Fulfilment,
    /// Oversees a station; without a unit in the token, all units.
    Supervisor,
    /// Runs the system; without a unit in the token, all units.
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Clerk,
        Role::Approver,
        Role::Fulfilment,
        Role::Supervisor,
        Role::Admin,
    ];

    /// The name used in tokens, events and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Clerk => "clerk",
            Role::Approver => "approver",
            Role::Fulfilment => "fulfilment",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    /// The role with this name, if any.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == name)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The token's payload. Roles stay strings here so that an unknown role is our decision
/// (reject the token) rather than a decoding error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id: stable, not personal, safe to log.
    pub sub: String,
    /// The display name. Personal: never logged or put in a span.
    pub name: String,
    pub roles: Vec<String>,
    /// The station (unit) the user works for; `None` for staff above stations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expires at, seconds since the epoch.
    pub exp: i64,
}

/// Signs and verifies tokens with one shared secret (HS256).
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JwtKeys { .. }")
    }
}

impl JwtKeys {
    /// Keys from the shared secret. The secret's strength is the config's business: it
    /// should be long and random outside development.
    pub fn from_secret(secret: &str) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        // Clocks on the service hosts may drift a little; a minute longer is harmless.
        validation.leeway = 60;
        validation.set_required_spec_claims(&["exp", "sub"]);
        JwtKeys {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            validation,
        }
    }

    /// A signed token for `sub`, valid for `ttl` from now.
    #[allow(clippy::expect_used)] // see the comment at the `expect`
    pub fn issue(
        &self,
        sub: &str,
        name: &str,
        roles: &[Role],
        unit: Option<&str>,
        ttl: chrono::Duration,
    ) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: sub.to_string(),
            name: name.to_string(),
            roles: roles.iter().map(|r| r.as_str().to_string()).collect(),
            unit: unit.map(str::to_string),
            iat: now,
            exp: now + ttl.num_seconds(),
        };
        // Encoding fails only when the claims cannot be serialised or the key belongs to
        // another algorithm family; these claims are plain strings and numbers and the key
        // is an HMAC key used with HS256.
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing of plain claims cannot fail")
    }

    /// Checks the signature and expiry and reads the user. 401 `token_expired` when the
    /// token is out of date, 401 `invalid_token` for anything else wrong with it.
    pub fn verify(&self, token: &str) -> Result<AuthUser, ApiError> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|err| match err.kind() {
                ErrorKind::ExpiredSignature => {
                    ApiError::unauthorized("token_expired", "the token has expired; sign in again")
                }
                _ => invalid_token(),
            })?
            .claims;
        let roles = claims
            .roles
            .iter()
            .map(|name| Role::parse(name))
            .collect::<Option<Vec<Role>>>()
            .filter(|roles| !roles.is_empty())
            .ok_or_else(invalid_token)?;
        Ok(AuthUser {
            id: claims.sub,
            name: claims.name,
            roles,
            unit: claims.unit,
        })
    }
}

fn invalid_token() -> ApiError {
    ApiError::unauthorized("invalid_token", "the token is not valid")
}

/// The verified caller. `name` is personal: show it, never log it; log `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser {
    pub id: String,
    pub name: String,
    /// Never empty when it comes from [`JwtKeys::verify`].
    pub roles: Vec<Role>,
    pub unit: Option<String>,
}

impl AuthUser {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// 403 `forbidden_role` unless the user has at least one of `roles`.
    pub fn require_any(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.iter().any(|role| self.has_role(*role)) {
            return Ok(());
        }
        let needed: Vec<&str> = roles.iter().map(|role| role.as_str()).collect();
        Err(ApiError::forbidden(
            "forbidden_role",
            format!("this needs one of the roles: {}", needed.join(", ")),
        ))
    }

    /// The role the user acts in, recorded as the actor of events: the first in the token.
    /// A hand-built user without roles counts as a clerk.
    pub fn primary_role(&self) -> Role {
        self.roles.first().copied().unwrap_or(Role::Clerk)
    }

    /// Whether the user may act on a case of `unit`: staff of that unit, or supervisors
    /// and admins who belong to no unit (they oversee all of them).
    pub fn can_act_for_unit(&self, unit: &str) -> bool {
        match &self.unit {
            Some(own) => own == unit,
            None => self.has_role(Role::Supervisor) || self.has_role(Role::Admin),
        }
    }

    /// The unit a listing is limited to: the unit asked for if the user may act for it,
    /// else the user's own. Supervisors and admins who belong to no unit oversee them all
    /// (`None`); anyone else without a unit sees none.
    pub fn visible_unit(&self, asked: Option<String>) -> Result<Option<String>, ApiError> {
        match (asked, &self.unit) {
            (Some(asked), _) => {
                self.require_unit(&asked)?;
                Ok(Some(asked))
            }
            (None, Some(own)) => Ok(Some(own.clone())),
            (None, None) if self.has_role(Role::Supervisor) || self.has_role(Role::Admin) => {
                Ok(None)
            }
            (None, None) => Err(ApiError::forbidden(
                "wrong_unit",
                "your token names no unit, so there is nothing to show",
            )),
        }
    }

    /// The user as the actor of the events their request causes.
    pub fn actor(&self) -> clearline_contracts::Actor {
        clearline_contracts::Actor {
            id: self.id.clone(),
            role: self.primary_role().as_str().to_string(),
        }
    }

    /// 403 `wrong_unit` unless [`AuthUser::can_act_for_unit`].
    pub fn require_unit(&self, unit: &str) -> Result<(), ApiError> {
        if self.can_act_for_unit(unit) {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "wrong_unit",
                "this belongs to another unit than yours",
            ))
        }
    }
}

impl<S> FromRequestParts<S> for AuthUser
where
    Arc<JwtKeys>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let token = bearer_token(&parts.headers).ok_or_else(|| {
            ApiError::unauthorized(
                "missing_token",
                "send Authorization: Bearer <token> with this request",
            )
        })?;
        let user = Arc::<JwtKeys>::from_ref(state).verify(token)?;
        // The request span declares `user_id`; the name stays out of logs.
        tracing::Span::current().record("user_id", user.id.as_str());
        Ok(user)
    }
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use axum::body::{to_bytes, Body};
    use axum::extract::Request;
    use axum::http::StatusCode;
    use axum::routing::get;
    use axum::Router;
    use tower::ServiceExt;

    const SECRET: &str = "test-secret-for-unit-tests-only";

    fn keys() -> JwtKeys {
        JwtKeys::from_secret(SECRET)
    }

    fn user(roles: &[Role], unit: Option<&str>) -> AuthUser {
        keys()
            .verify(&keys().issue("u1", "Wang", roles, unit, chrono::Duration::hours(1)))
            .unwrap()
    }

    #[test]
    fn role_names_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            assert_eq!(
                serde_json::to_string(&role).unwrap(),
                format!("\"{}\"", role.as_str())
            );
        }
        assert_eq!(Role::parse("Clerk"), None);
    }

    #[test]
    fn issued_token_verifies_to_the_same_user() {
        let token = keys().issue(
            "clerk1",
            "王窗口 Wang",
            &[Role::Clerk, Role::Supervisor],
            Some("HP01"),
            chrono::Duration::hours(1),
        );
        let user = keys().verify(&token).unwrap();
        assert_eq!(
            user,
            AuthUser {
                id: "clerk1".into(),
                name: "王窗口 Wang".into(),
                roles: vec![Role::Clerk, Role::Supervisor],
                unit: Some("HP01".into()),
            }
        );
        assert_eq!(user.primary_role(), Role::Clerk);
    }

    #[test]
    fn expired_token_is_token_expired() {
        let token = keys().issue(
            "u1",
            "Wang",
            &[Role::Clerk],
            None,
            chrono::Duration::hours(-1),
        );
        let error = keys().verify(&token).unwrap_err();
        assert_eq!(error.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(error.code(), "token_expired");
    }

    #[test]
    fn other_secret_garbage_and_unknown_roles_are_invalid() {
        let other = JwtKeys::from_secret("another-secret").issue(
            "u1",
            "Wang",
            &[Role::Admin],
            None,
            chrono::Duration::hours(1),
        );
        assert_eq!(keys().verify(&other).unwrap_err().code(), "invalid_token");
        assert_eq!(
            keys().verify("not.a.jwt").unwrap_err().code(),
            "invalid_token"
        );

        let now = chrono::Utc::now().timestamp();
        for roles in [vec!["clerk".to_string(), "root".to_string()], vec![]] {
            let claims = Claims {
                sub: "u1".into(),
                name: "Wang".into(),
                roles,
                unit: None,
                iat: now,
                exp: now + 3600,
            };
            let token = jsonwebtoken::encode(
                &Header::new(Algorithm::HS256),
                &claims,
                &EncodingKey::from_secret(SECRET.as_bytes()),
            )
            .unwrap();
            let error = keys().verify(&token).unwrap_err();
            assert_eq!(error.status(), StatusCode::UNAUTHORIZED);
            assert_eq!(error.code(), "invalid_token");
        }
    }

    #[test]
    fn wrong_role_is_403_naming_the_roles_needed() {
        let clerk = user(&[Role::Clerk], Some("HP01"));
        assert!(clerk.require_any(&[Role::Clerk, Role::Admin]).is_ok());
        let error = clerk
            .require_any(&[Role::Approver, Role::Supervisor])
            .unwrap_err();
        assert_eq!(error.status(), StatusCode::FORBIDDEN);
        assert_eq!(error.code(), "forbidden_role");
        assert_eq!(
            error.problem().detail,
            "this needs one of the roles: approver, supervisor"
        );
    }

    #[test]
    fn units_bind_station_staff_but_not_unitless_supervisors() {
        let clerk = user(&[Role::Clerk], Some("HP01"));
        assert!(clerk.can_act_for_unit("HP01"));
        assert_eq!(clerk.require_unit("HP02").unwrap_err().code(), "wrong_unit");

        assert!(user(&[Role::Supervisor], None).can_act_for_unit("HP02"));
        assert!(user(&[Role::Admin], None).can_act_for_unit("HP02"));
        assert!(!user(&[Role::Supervisor], Some("HP01")).can_act_for_unit("HP02"));
        // A clerk's token without a unit is a mistake, not a pass to every station.
        assert!(!user(&[Role::Clerk], None).can_act_for_unit("HP01"));
    }

    async fn whoami(user: AuthUser) -> String {
        user.id
    }

    async fn call(authorization: Option<&str>) -> (StatusCode, String) {
        let app = Router::new()
            .route("/me", get(whoami))
            .with_state(Arc::new(keys()));
        let mut request = Request::get("/me");
        if let Some(value) = authorization {
            request = request.header(AUTHORIZATION, value);
        }
        let response = app
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn extractor_reads_the_bearer_token() {
        let token = keys().issue(
            "clerk1",
            "Wang",
            &[Role::Clerk],
            None,
            chrono::Duration::hours(1),
        );
        assert_eq!(
            call(Some(&format!("Bearer {token}"))).await,
            (StatusCode::OK, "clerk1".to_string())
        );
        assert_eq!(
            call(Some(&format!("bearer {token}"))).await.0,
            StatusCode::OK
        );
    }

    #[tokio::test]
    async fn missing_token_is_401() {
        for header in [None, Some("Basic dXNlcjpwYXNz"), Some("Bearer ")] {
            let (status, body) = call(header).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
            let problem: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(problem["code"], "missing_token");
        }
        let (status, body) = call(Some("Bearer not-a-token")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(body.contains("invalid_token"));
    }
}
