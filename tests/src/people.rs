//! Staff members as typed HTTP clients: `clerk.receive(..)`, `approver.approve(id)`.

use serde_json::{json, Value};

/// An HTTP answer: status and JSON body (`Null` when the body is not JSON).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    pub fn id(&self) -> String {
        self.body["id"].as_str().unwrap_or_default().to_string()
    }
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or_default()
    }
}

#[derive(Clone)]
pub struct Person {
    pub user: String,
    token: String,
    http: reqwest::Client,
    urls: [String; 4],
}

impl Person {
    pub fn new(
        user: &str,
        token: String,
        http: reqwest::Client,
        url: impl Fn(&str) -> String,
    ) -> Person {
        Person {
            user: user.to_string(),
            token,
            http,
            urls: [
                url("intake"),
                url("approval"),
                url("fulfilment"),
                url("backlog"),
            ],
        }
    }

    fn base(&self, service: &str) -> &str {
        let index = match service {
            "intake" => 0,
            "approval" => 1,
            "fulfilment" => 2,
            _ => 3,
        };
        &self.urls[index]
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        service: &str,
        path: &str,
        body: Option<Value>,
        key: Option<&str>,
    ) -> Reply {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base(service)))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let body = response.json::<Value>().await.unwrap_or(Value::Null);
                Reply { status, body }
            }
            Err(error) => Reply {
                status: 0,
                body: json!({ "transport_error": error.to_string() }),
            },
        }
    }

    pub async fn get(&self, service: &str, path: &str) -> Reply {
        self.send(reqwest::Method::GET, service, path, None, None)
            .await
    }

    pub async fn post(&self, service: &str, path: &str, body: Value) -> Reply {
        self.send(reqwest::Method::POST, service, path, Some(body), None)
            .await
    }

    // The clerk at the window.
    pub async fn receive(&self, request: Value) -> Reply {
        self.post("intake", "/api/v1/cases", request).await
    }
    pub async fn receive_with_key(&self, request: Value, key: &str) -> Reply {
        self.send(
            reqwest::Method::POST,
            "intake",
            "/api/v1/cases",
            Some(request),
            Some(key),
        )
        .await
    }
    pub async fn add_materials(&self, id: &str, materials: &[&str]) -> Reply {
        self.post(
            "intake",
            &format!("/api/v1/cases/{id}/materials"),
            json!({ "materials": materials }),
        )
        .await
    }
    pub async fn cancel(&self, id: &str, reason: &str) -> Reply {
        self.post(
            "intake",
            &format!("/api/v1/cases/{id}/cancel"),
            json!({ "reason": reason }),
        )
        .await
    }

    // The approver.
    pub async fn decide(&self, id: &str, decision: Value) -> Reply {
        self.post(
            "approval",
            &format!("/api/v1/approvals/{id}/decision"),
            decision,
        )
        .await
    }
    pub async fn approve(&self, id: &str) -> Reply {
        self.decide(id, json!({ "decision": "approve" })).await
    }
    pub async fn reject(&self, id: &str, reason: &str) -> Reply {
        self.decide(id, json!({ "decision": "reject", "reason": reason }))
            .await
    }
    pub async fn return_for(&self, id: &str, materials: &[&str]) -> Reply {
        self.decide(
            id,
            json!({ "decision": "return", "reason": "please bring these", "materials": materials }),
        )
        .await
    }
    pub async fn approval_task(&self, id: &str) -> Reply {
        self.get("approval", &format!("/api/v1/approvals/{id}"))
            .await
    }

    // The fulfilment officer.
    pub async fn start(&self, id: &str, mode: &str) -> Reply {
        let mut body = json!({ "mode": mode });
        if mode == "home_visit" {
            body["scheduled_for"] =
                json!((chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339());
        }
        self.post(
            "fulfilment",
            &format!("/api/v1/fulfilments/{id}/start"),
            body,
        )
        .await
    }
    pub async fn fulfil(&self, id: &str) -> Reply {
        self.post(
            "fulfilment",
            &format!("/api/v1/fulfilments/{id}/fulfil"),
            json!({}),
        )
        .await
    }
    pub async fn close(&self, id: &str) -> Reply {
        self.post(
            "fulfilment",
            &format!("/api/v1/fulfilments/{id}/close"),
            json!({}),
        )
        .await
    }
    pub async fn fulfilment_task(&self, id: &str) -> Reply {
        self.get("fulfilment", &format!("/api/v1/fulfilments/{id}"))
            .await
    }

    // The supervisor's view.
    pub async fn backlog(&self) -> Reply {
        self.get("backlog", "/api/v1/backlog").await
    }
    pub async fn tracked_case(&self, id: &str) -> Reply {
        self.get("backlog", &format!("/api/v1/cases/{id}")).await
    }
    pub async fn verify_counters(&self) -> Reply {
        self.get("backlog", "/api/v1/backlog/verify").await
    }
}

/// A case request for `service_type` with the given materials brought.
pub fn case_request(service_type: &str, materials: &[&str], n: u32) -> Value {
    json!({
        "service_type": service_type,
        "window": "3",
        "channel": "window",
        "applicant": { "name": "张三", "id_number": clearline_domain::ResidentId::synthetic(n).as_str(), "phone": "13800138000" },
        "materials": materials,
    })
}

/// Reads a response into a [`Reply`], as [`Person::send`] does.
async fn reply_of(sent: Result<reqwest::Response, reqwest::Error>) -> Reply {
    match sent {
        Ok(response) => {
            let status = response.status().as_u16();
            let body = response.json::<Value>().await.unwrap_or(Value::Null);
            Reply { status, body }
        }
        Err(error) => Reply {
            status: 0,
            body: json!({ "transport_error": error.to_string() }),
        },
    }
}

impl Person {
    /// A POST whose body is sent as given, e.g. JSON that does not parse.
    pub async fn post_raw(
        &self,
        service: &str,
        path: &str,
        content_type: &str,
        body: &str,
    ) -> Reply {
        let request = self
            .http
            .post(format!("{}{path}", self.base(service)))
            .bearer_auth(&self.token)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body.to_string());
        reply_of(request.send().await).await
    }

    /// A POST with no `Authorization` header at all: someone who has not signed in.
    pub async fn post_without_token(&self, service: &str, path: &str, body: Value) -> Reply {
        let request = self
            .http
            .post(format!("{}{path}", self.base(service)))
            .json(&body);
        reply_of(request.send().await).await
    }

    /// A plain-text GET, e.g. `/metrics`: the status and the body.
    pub async fn get_text(&self, service: &str, path: &str) -> (u16, String) {
        let request = self
            .http
            .get(format!("{}{path}", self.base(service)))
            .bearer_auth(&self.token);
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                (status, response.text().await.unwrap_or_default())
            }
            Err(error) => (0, error.to_string()),
        }
    }

    /// One series from the service's `/metrics`, e.g.
    /// `consumer_duplicates_total{consumer="approval"}`; `None` when it is not there.
    pub async fn metric(&self, service: &str, series: &str) -> Option<f64> {
        let (_, text) = self.get_text(service, "/metrics").await;
        text.lines()
            .find_map(|line| line.strip_prefix(series))
            .filter(|rest| rest.starts_with(' '))
            .and_then(|value| value.trim().parse().ok())
    }

    // The clerk's view of the window.
    pub async fn case_at_window(&self, id: &str) -> Reply {
        self.get("intake", &format!("/api/v1/cases/{id}")).await
    }
    /// The unit's cases received in the last day, newest first.
    pub async fn cases_at_window(&self) -> Reply {
        self.get("intake", "/api/v1/cases?limit=500").await
    }

    // The supervisor's list: `query` is a query string without the `?`, e.g. `stage=done`.
    pub async fn tracked_cases(&self, query: &str) -> Reply {
        self.get("backlog", &format!("/api/v1/cases?{query}")).await
    }
}
