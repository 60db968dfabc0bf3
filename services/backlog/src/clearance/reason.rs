//! Why a case was carried over: a code from a fixed list, with free text where the code
//! alone says too little.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The longest free text kept, in characters: a sentence, not a file.
pub const MAX_TEXT_CHARS: usize = 500;

/// Why a carried-over case is still open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    /// The resident still has to bring materials.
    Materials,
    /// Waiting on another agency (a transfer certificate, a check elsewhere).
    AnotherAgency,
    /// The card or document is in production.
    Production,
    /// A booked appointment or home visit lies ahead.
    Appointment,
    /// Anything else; the text must say what.
    Other,
}

impl ReasonCode {
    pub const ALL: [ReasonCode; 5] = [
        ReasonCode::Materials,
        ReasonCode::AnotherAgency,
        ReasonCode::Production,
        ReasonCode::Appointment,
        ReasonCode::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::Materials => "materials",
            ReasonCode::AnotherAgency => "another_agency",
            ReasonCode::Production => "production",
            ReasonCode::Appointment => "appointment",
            ReasonCode::Other => "other",
        }
    }

    pub fn parse(name: &str) -> Option<ReasonCode> {
        ReasonCode::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

/// Why a reason cannot be recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasonError {
    UnknownCode,
    TextRequired,
    TextTooLong,
}

/// A checked reason: a known code, and text when the code is `other` (blank text is none).
pub fn check(code: &str, text: Option<&str>) -> Result<(ReasonCode, Option<String>), ReasonError> {
    let code = ReasonCode::parse(code.trim()).ok_or(ReasonError::UnknownCode)?;
    let text = text.map(str::trim).filter(|t| !t.is_empty());
    if text.is_some_and(|t| t.chars().count() > MAX_TEXT_CHARS) {
        return Err(ReasonError::TextTooLong);
    }
    if code == ReasonCode::Other && text.is_none() {
        return Err(ReasonError::TextRequired);
    }
    Ok((code, text.map(str::to_string)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_needs_text_and_codes_must_be_known() {
        assert_eq!(check("materials", None), Ok((ReasonCode::Materials, None)));
        assert_eq!(
            check("other", Some("  waiting for the district office ")),
            Ok((
                ReasonCode::Other,
                Some("waiting for the district office".into())
            ))
        );
        assert_eq!(check("other", Some("   ")), Err(ReasonError::TextRequired));
        assert_eq!(check("weather", None), Err(ReasonError::UnknownCode));
        let long = "x".repeat(MAX_TEXT_CHARS + 1);
        assert_eq!(
            check("production", Some(&long)),
            Err(ReasonError::TextTooLong)
        );
        for code in ReasonCode::ALL {
            assert_eq!(ReasonCode::parse(code.as_str()), Some(code));
        }
    }
}
