//! `Idempotency-Key` for creating requests: the first answer is stored in the same
//! transaction as what it created, and a retry with the same key gets that answer back.
//! The same key with a different body is a client error, not a silent second create.

use crate::http::ApiError;
use axum::http::{HeaderMap, StatusCode};
use chrono::Utc;
use sea_orm::{ConnectionTrait, DbErr, Statement, Value};
use serde::Serialize;
use sha2::{Digest, Sha256};

pub const HEADER: &str = "idempotency-key";

/// A validated key from the request headers.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    user_id: String,
    key: String,
    request_hash: String,
}

/// A stored answer.
#[derive(Debug, Clone)]
pub struct StoredResponse {
    pub status: StatusCode,
    pub body: serde_json::Value,
}

impl IdempotencyKey {
    /// Reads the header, if any. Keys are opaque strings of 1..=200 visible ASCII characters.
    pub fn from_headers(
        headers: &HeaderMap,
        user_id: &str,
        request: &impl Serialize,
    ) -> Result<Option<Self>, ApiError> {
        let Some(value) = headers.get(HEADER) else {
            return Ok(None);
        };
        let key = value
            .to_str()
            .ok()
            .filter(|k| !k.is_empty() && k.len() <= 200 && k.bytes().all(|b| b.is_ascii_graphic()))
            .ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_idempotency_key",
                    "Idempotency-Key must be 1 to 200 visible ASCII characters",
                )
            })?;
        let canonical = serde_json::to_vec(request).map_err(ApiError::internal)?;
        Ok(Some(IdempotencyKey {
            user_id: user_id.to_string(),
            key: key.to_string(),
            request_hash: hex::encode(Sha256::digest(canonical)),
        }))
    }

    /// The stored answer for this key, or `None` when it is new. Fails with 422 when the
    /// key was used before for a different request.
    pub async fn find<C: ConnectionTrait>(
        &self,
        db: &C,
    ) -> Result<Option<StoredResponse>, ApiError> {
        let row = db
            .query_one(Statement::from_sql_and_values(
                db.get_database_backend(),
                "SELECT request_hash, status, body FROM idempotency_keys WHERE user_id = $1 AND key = $2",
                [Value::from(self.user_id.clone()), Value::from(self.key.clone())],
            ))
            .await?;
        let Some(row) = row else { return Ok(None) };
        let hash: String = row.try_get("", "request_hash")?;
        if hash != self.request_hash {
            return Err(ApiError::unprocessable(
                "idempotency_key_reused",
                "this Idempotency-Key was already used for a different request",
            ));
        }
        let status: i32 = row.try_get("", "status")?;
        let body: serde_json::Value = row.try_get("", "body")?;
        Ok(Some(StoredResponse {
            status: StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK),
            body,
        }))
    }

    /// Stores the answer inside the transaction that created what it describes. A
    /// concurrent request with the same key makes this fail on the primary key; the caller
    /// then rolls back and answers with [`IdempotencyKey::find`].
    pub async fn remember<C: ConnectionTrait>(
        &self,
        txn: &C,
        status: StatusCode,
        body: &impl Serialize,
    ) -> Result<(), DbErr> {
        let body = serde_json::to_value(body).map_err(|e| DbErr::Custom(e.to_string()))?;
        txn.execute(Statement::from_sql_and_values(
            txn.get_database_backend(),
            "INSERT INTO idempotency_keys (user_id, key, request_hash, status, body, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            [
                Value::from(self.user_id.clone()),
                Value::from(self.key.clone()),
                Value::from(self.request_hash.clone()),
                Value::from(status.as_u16() as i32),
                Value::from(body),
                Value::from(Utc::now()),
            ],
        ))
        .await?;
        Ok(())
    }
}
