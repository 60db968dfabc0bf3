//! JSON bodies in and out, with rejections as problem+json.
//!
//! serde's messages quote the input they choke on (`invalid type: string "110105…", expected
//! u32`), and request bodies here carry ID numbers, names and phones. So a rejection never
//! passes serde's text through. It keeps only what comes from our types, not from the input:
//! the names in "missing field", "unknown field" and "duplicate field" messages (and only when
//! they look like identifiers), the "expected …" half of type errors, and the JSON path with
//! any segment that does not look like a field name replaced by `?`.

use super::error::ApiError;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde::Serialize;

const GENERIC_SHAPE: &str = "the body does not match the expected shape";

/// `axum::Json` with [`ApiError`] rejections (415, 400, 422) that never echo the body.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        // The rejection is turned into our own error here and dropped: its `into_response`
        // and `body_text` carry serde's raw message, so neither may be used.
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(rejection_to_error(&rejection)),
        }
    }
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => {
                let content_type = HeaderValue::from_static("application/json");
                ([(header::CONTENT_TYPE, content_type)], body).into_response()
            }
            Err(err) => ApiError::internal(err).into_response(),
        }
    }
}

fn rejection_to_error(rejection: &JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the body must be sent with Content-Type: application/json",
        ),
        JsonRejection::JsonSyntaxError(_) => {
            let (_, position) = split_position(&innermost_message(rejection));
            let detail = match position {
                Some((line, column)) => {
                    format!("the body is not valid JSON (line {line}, column {column})")
                }
                None => "the body is not valid JSON".to_string(),
            };
            ApiError::bad_request("invalid_json", detail)
        }
        JsonRejection::JsonDataError(_) => data_error(&innermost_message(rejection)),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "the body is larger than this endpoint accepts",
        ),
        _ => ApiError::bad_request("unreadable_body", "the body could not be read"),
    }
}

/// The text of the deepest error in the chain: serde_path_to_error's `"{path}: {message}"`.
fn innermost_message(rejection: &JsonRejection) -> String {
    let mut error: &dyn std::error::Error = rejection;
    while let Some(source) = error.source() {
        error = source;
    }
    error.to_string()
}

/// Splits serde_json's `" at line L column C"` suffix off a message.
fn split_position(message: &str) -> (&str, Option<(u64, u64)>) {
    if let Some((head, tail)) = message.rsplit_once(" at line ") {
        if let Some((line, column)) = tail.split_once(" column ") {
            if let (Ok(line), Ok(column)) = (line.parse(), column.parse()) {
                return (head, Some((line, column)));
            }
        }
    }
    (message, None)
}

/// The start of every serde message we understand. Each names its kind of problem.
const KNOWN_MESSAGES: [&str; 7] = [
    "missing field `",
    "unknown field `",
    "duplicate field `",
    "unknown variant `",
    "invalid type: ",
    "invalid value: ",
    "invalid length ",
];

/// Turns `"{path}: {message} at line L column C"` into a 422 that quotes no input.
fn data_error(text: &str) -> ApiError {
    let (text, _) = split_position(text);
    // The path comes first and is built from field names, so the first place a known
    // message starts is the real one; input quoted later in the message cannot move it.
    let split = (0..text.len()).find(|&at| {
        text.is_char_boundary(at)
            && (at == 0 || text[..at].ends_with(": "))
            && KNOWN_MESSAGES.iter().any(|m| text[at..].starts_with(m))
    });
    let (path, message) = match split {
        Some(0) => (None, text),
        Some(at) => (safe_path(&text[..at - 2]), &text[at..]),
        // A message we do not know (a custom `Deserialize` may quote anything): keep only a
        // path that is made of field names alone.
        None => (
            text.split_once(": ")
                .and_then(|(p, _)| safe_path(p).filter(|p| !p.contains('?'))),
            "",
        ),
    };
    let at = |detail: String, path: Option<&str>| match path {
        Some(path) => format!("{detail} at `{path}`"),
        None => detail,
    };
    let field = |path: Option<&str>, name: &str| match path {
        Some(path) => format!("{path}.{name}"),
        None => name.to_string(),
    };
    let whole = path.clone().unwrap_or_else(|| ".".to_string());

    if let Some(name) = quoted_name(message, "missing field `") {
        let detail = at(format!("missing field `{name}`"), path.as_deref());
        return ApiError::unprocessable("invalid_body", detail).with_field(
            &field(path.as_deref(), name),
            "missing_field",
            "this field is required",
        );
    }
    if let Some(name) = quoted_name(message, "duplicate field `") {
        let parent = parent_of(path.as_deref(), name);
        let detail = at(format!("duplicate field `{name}`"), parent);
        return ApiError::unprocessable("invalid_body", detail).with_field(
            &field(parent, name),
            "duplicate_field",
            "this field appears more than once",
        );
    }
    if let Some(rest) = message.strip_prefix("unknown field `") {
        // The name comes from the input, so it is shown only when it looks like a field name.
        let (name, choices) = split_unknown(rest);
        let parent = parent_of(path.as_deref(), name);
        let (detail, name) = if is_identifier(name) {
            (
                format!("unknown field `{name}`{choices}"),
                field(parent, name),
            )
        } else {
            let name = parent.map_or_else(|| ".".to_string(), str::to_string);
            (format!("an unknown field{choices}"), name)
        };
        let detail = at(detail, parent);
        return ApiError::unprocessable("invalid_body", &detail).with_field(
            &name,
            "unknown_field",
            &detail,
        );
    }
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        // The variant is a value the client sent: never shown; the choices are ours.
        let (_, choices) = split_unknown(rest);
        let detail = at(format!("unknown variant{choices}"), path.as_deref());
        return ApiError::unprocessable("invalid_body", &detail).with_field(
            &whole,
            "unknown_variant",
            &detail,
        );
    }
    // serde writes "invalid type: {found}, expected {wanted}": what was found quotes the
    // input, what is wanted comes from our type and is written last.
    let typed = [
        ("invalid type: ", "invalid_type"),
        ("invalid value: ", "invalid_value"),
        ("invalid length ", "invalid_length"),
    ];
    let (code, expected) = typed
        .iter()
        .find(|(prefix, _)| message.starts_with(prefix))
        .map_or(("invalid_value", None), |(_, code)| {
            let expected = message.rsplit_once(", expected ").map(|(_, e)| e);
            (*code, expected)
        });
    let message = match expected {
        Some(expected) => format!("expected {}", truncate(expected, 200)),
        None => "not a valid value here".to_string(),
    };
    let detail = at(GENERIC_SHAPE.to_string(), path.as_deref());
    let error = ApiError::unprocessable("invalid_body", detail);
    match &path {
        Some(path) => error.with_field(path, code, &message),
        None => error,
    }
}

/// The path without its last segment when that segment is the field `name` itself (or its
/// masked `?`): serde_path_to_error counts the key it was reading when the error came.
fn parent_of<'a>(path: Option<&'a str>, name: &str) -> Option<&'a str> {
    let path = path?;
    let (parent, last) = match path.rsplit_once('.') {
        Some((parent, last)) => (Some(parent), last),
        None => (None, path),
    };
    if last == name || (last == "?" && !is_identifier(name)) {
        parent
    } else {
        Some(path)
    }
}

/// The identifier-like name after `prefix` and before the closing backtick.
fn quoted_name<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = message.strip_prefix(prefix)?;
    let (name, _) = rest.split_once('`')?;
    is_identifier(name).then_some(name)
}

/// Splits ``"NAME`, expected one of `a`, `b`"`` into the input's NAME and the type's
/// choices (`", expected one of `a`, `b`"`, or `""` when they do not parse as names only).
fn split_unknown(rest: &str) -> (&str, &str) {
    rest.match_indices("`, ")
        .map(|(at, _)| (&rest[..at], &rest[at + 1..]))
        .find(|(_, choices)| is_choice_list(choices))
        .unwrap_or((rest, ""))
}

/// serde's list of expected names: `, expected `a``, `, expected `a` or `b``,
/// `, expected one of `a`, `b`, `c``, or `, there are no fields`.
fn is_choice_list(text: &str) -> bool {
    if text == ", there are no fields" || text == ", there are no variants" {
        return true;
    }
    let Some(list) = text.strip_prefix(", expected ") else {
        return false;
    };
    let list = list.strip_prefix("one of ").unwrap_or(list);
    list.split(", ").flat_map(|s| s.split(" or ")).all(|item| {
        item.strip_prefix('`')
            .and_then(|item| item.strip_suffix('`'))
            .is_some_and(is_identifier)
    })
}

/// A JSON path with every segment that is not a field name or an index replaced by `?`;
/// `None` when nothing useful is left.
fn safe_path(path: &str) -> Option<String> {
    let segments: Vec<&str> = path
        .split('.')
        .map(|s| if is_path_segment(s) { s } else { "?" })
        .collect();
    segments
        .iter()
        .any(|s| *s != "?")
        .then(|| segments.join("."))
}

/// `name`, `name[3]`, `[0]`, `name[1][2]`.
fn is_path_segment(segment: &str) -> bool {
    let (name, indices) = segment.split_at(segment.find('[').unwrap_or(segment.len()));
    ((name.is_empty() && !indices.is_empty()) || is_identifier(name))
        && (indices.is_empty() || indices.ends_with(']'))
        && indices.split_terminator(']').all(|index| {
            index
                .strip_prefix('[')
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
}

/// Field names in our APIs are snake_case or camelCase identifiers. ID numbers, phones and
/// names are not: they start with a digit, or hold spaces or non-ASCII letters.
fn is_identifier(name: &str) -> bool {
    let mut bytes = name.bytes();
    name.len() <= 64
        && bytes
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use axum::body::{to_bytes, Body};
    use axum::routing::post;
    use axum::Router;
    use serde::Deserialize;
    use std::collections::HashMap;
    use tower::ServiceExt;

    const ID: &str = "110105194912310021";

    #[derive(Debug, Deserialize, Serialize)]
    #[serde(deny_unknown_fields)]
    struct NewCase {
        service: Service,
        applicant: Applicant,
        #[serde(default)]
        notes: HashMap<String, String>,
    }

    #[derive(Debug, Deserialize, Serialize)]
    #[serde(rename_all = "snake_case")]
    enum Service {
        IdCard,
        Passport,
    }

    #[derive(Debug, Deserialize, Serialize)]
    #[serde(deny_unknown_fields)]
    struct Applicant {
        name: String,
        age: u32,
        id_number: IdNumber,
    }

    /// Like a careless domain type: its error quotes the input.
    #[derive(Debug, Deserialize, Serialize)]
    #[serde(try_from = "String")]
    struct IdNumber(String);

    impl TryFrom<String> for IdNumber {
        type Error = String;
        fn try_from(value: String) -> Result<Self, String> {
            if value.len() == 18 {
                Ok(IdNumber(value))
            } else {
                Err(format!("invalid ID number {value}: wrong length"))
            }
        }
    }

    async fn create(ApiJson(case): ApiJson<NewCase>) -> ApiJson<NewCase> {
        ApiJson(case)
    }

    async fn send(content_type: Option<&str>, body: &str) -> (StatusCode, String, String) {
        let app = Router::new().route("/cases", post(create));
        let mut request = Request::post("/cases");
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        let response = app
            .oneshot(request.body(Body::from(body.to_string())).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let content_type = response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_string();
        let bytes = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (
            status,
            content_type,
            String::from_utf8(bytes.to_vec()).unwrap(),
        )
    }

    async fn send_json(body: &str) -> (StatusCode, serde_json::Value, String) {
        let (status, content_type, text) = send(Some("application/json"), body).await;
        if !status.is_success() {
            assert_eq!(content_type, "application/problem+json");
        }
        (status, serde_json::from_str(&text).unwrap(), text)
    }

    fn applicant(age: &str, id_number: &str) -> String {
        format!(r#"{{"name":"Zhang San","age":{age},"id_number":{id_number}}}"#)
    }

    #[tokio::test]
    async fn accepts_a_good_body_and_answers_json() {
        let body = format!(
            r#"{{"service":"id_card","applicant":{}}}"#,
            applicant("30", &format!("\"{ID}\""))
        );
        let (status, content_type, text) = send(Some("application/json"), &body).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(content_type, "application/json");
        assert!(text.contains(r#""service":"id_card""#), "{text}");
    }

    #[tokio::test]
    async fn wrong_typed_field_never_echoes_the_id_number() {
        let body = format!(
            r#"{{"service":"id_card","applicant":{}}}"#,
            applicant(&format!("\"{ID}\""), &format!("\"{ID}\""))
        );
        let (status, problem, text) = send_json(&body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(!text.contains(ID), "{text}");
        assert_eq!(problem["code"], "invalid_body");
        assert_eq!(
            problem["detail"],
            "the body does not match the expected shape at `applicant.age`"
        );
        assert_eq!(problem["errors"][0]["field"], "applicant.age");
        assert_eq!(problem["errors"][0]["code"], "invalid_type");
        assert_eq!(problem["errors"][0]["message"], "expected u32");
    }

    #[tokio::test]
    async fn custom_errors_that_quote_input_are_not_passed_on() {
        let body = format!(
            r#"{{"service":"id_card","applicant":{}}}"#,
            applicant("30", "\"11010519491231: 0021x\"")
        );
        let (status, problem, text) = send_json(&body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(!text.contains("11010519491231"), "{text}");
        assert_eq!(
            problem["detail"],
            "the body does not match the expected shape at `applicant.id_number`"
        );
        assert_eq!(problem["errors"][0]["code"], "invalid_value");
    }

    #[tokio::test]
    async fn unknown_variant_shows_the_choices_not_the_value() {
        let body = format!(
            r#"{{"service":"{ID}","applicant":{}}}"#,
            applicant("30", &format!("\"{ID}\""))
        );
        let (status, problem, text) = send_json(&body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(!text.contains(ID), "{text}");
        assert_eq!(
            problem["detail"],
            "unknown variant, expected `id_card` or `passport` at `service`"
        );
    }

    #[tokio::test]
    async fn map_keys_from_the_input_are_masked_in_the_path() {
        let body = format!(
            r#"{{"service":"id_card","applicant":{},"notes":{{"{ID}":7}}}}"#,
            applicant("30", &format!("\"{ID}\""))
        );
        let (status, problem, text) = send_json(&body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(!text.contains(ID), "{text}");
        assert_eq!(problem["errors"][0]["field"], "notes.?");
    }

    #[tokio::test]
    async fn missing_field_names_the_field() {
        let body = r#"{"service":"id_card","applicant":{"name":"Zhang San","age":30}}"#;
        let (status, problem, _) = send_json(body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            problem["detail"],
            "missing field `id_number` at `applicant`"
        );
        assert_eq!(problem["errors"][0]["field"], "applicant.id_number");
        assert_eq!(problem["errors"][0]["code"], "missing_field");
    }

    #[tokio::test]
    async fn unknown_field_is_named_only_when_it_looks_like_one() {
        let body = format!(r#"{{"servic":"id_card","{ID}":1}}"#);
        let (_, problem, _) = send_json(&body).await;
        assert_eq!(
            problem["detail"],
            "unknown field `servic`, expected one of `service`, `applicant`, `notes`"
        );
        let body = format!(r#"{{"{ID}":1}}"#);
        let (status, problem, text) = send_json(&body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(!text.contains(ID), "{text}");
        assert_eq!(
            problem["detail"],
            "an unknown field, expected one of `service`, `applicant`, `notes`"
        );
        assert_eq!(problem["errors"][0]["field"], ".");
        assert_eq!(problem["errors"][0]["code"], "unknown_field");
    }

    #[tokio::test]
    async fn nested_unknown_and_duplicate_fields_name_their_parent() {
        let body = format!(
            r#"{{"service":"id_card","applicant":{{"name":"a","age":1,"id_number":"{ID}","nmae":"x"}}}}"#
        );
        let (_, problem, _) = send_json(&body).await;
        assert_eq!(
            problem["detail"],
            "unknown field `nmae`, expected one of `name`, `age`, `id_number` at `applicant`"
        );
        assert_eq!(problem["errors"][0]["field"], "applicant.nmae");

        let body = format!(
            r#"{{"service":"id_card","applicant":{{"name":"a","name":"b","age":1,"id_number":"{ID}"}}}}"#
        );
        let (status, problem, _) = send_json(&body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem["detail"], "duplicate field `name` at `applicant`");
        assert_eq!(problem["errors"][0]["field"], "applicant.name");
        assert_eq!(problem["errors"][0]["code"], "duplicate_field");
    }

    #[tokio::test]
    async fn syntax_error_is_400_with_a_position_only() {
        let body = format!(r#"{{"service":"id_card","applicant":{{"id_number":"{ID}" "#);
        let (status, problem, text) = send_json(&body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(!text.contains(ID), "{text}");
        assert_eq!(problem["code"], "invalid_json");
        assert!(problem["detail"]
            .as_str()
            .unwrap()
            .starts_with("the body is not valid JSON (line 1, column "));
    }

    #[tokio::test]
    async fn wrong_or_missing_content_type_is_415() {
        for content_type in [None, Some("text/plain")] {
            let (status, response_type, text) = send(content_type, "{}").await;
            assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
            assert_eq!(response_type, "application/problem+json");
            let problem: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(problem["code"], "unsupported_media_type");
        }
    }

    #[test]
    fn paths_keep_field_names_and_indices_only() {
        assert_eq!(safe_path("items[2].code").as_deref(), Some("items[2].code"));
        assert_eq!(safe_path("[0].name").as_deref(), Some("[0].name"));
        assert_eq!(safe_path("notes.Zhang San").as_deref(), Some("notes.?"));
        assert_eq!(safe_path(ID), None);
        assert_eq!(safe_path("a[x]"), None);
    }
}
