//! The report as CSV (RFC 4180, UTF-8 with a byte-order mark so spreadsheet programs read
//! Chinese text right): one row per carried-over case. The backlog holds no personal data,
//! and the export adds none.

use super::report::ClearanceReport;

const HEADER: [&str; 8] = [
    "unit",
    "day",
    "case_number",
    "service_type",
    "status",
    "received_at_local",
    "reason_code",
    "reason_text",
];

/// The carried-over cases of `report`, oldest received first.
pub fn export(report: &ClearanceReport) -> String {
    let mut out = String::from('\u{feff}');
    push_row(&mut out, HEADER.iter().copied());
    let day = report.day.format("%Y-%m-%d").to_string();
    for case in &report.carried_over_cases {
        let (code, text) = match &case.reason {
            Some(reason) => (reason.code.as_str(), reason.text.as_deref().unwrap_or("")),
            None => ("", ""),
        };
        push_row(
            &mut out,
            [
                report.unit.as_str(),
                day.as_str(),
                case.case_number.as_str(),
                case.service_type.as_str(),
                case.status.as_deref().unwrap_or(""),
                case.received_at_local.as_str(),
                code,
                text,
            ],
        );
    }
    out
}

fn push_row<'a>(out: &mut String, fields: impl IntoIterator<Item = &'a str>) {
    for (i, field) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&escape(field));
    }
    out.push_str("\r\n");
}

/// Quotes a field when it must be, and defuses free text that a spreadsheet would run as a
/// formula (`=`, `+`, `-`, `@` first) by starting it with an apostrophe.
fn escape(field: &str) -> String {
    let field = if field.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{field}")
    } else {
        field.to_string()
    };
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field
    }
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        assert_eq!(escape("plain"), "plain");
        assert_eq!(escape("a,b"), "\"a,b\"");
        assert_eq!(escape("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(escape("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(escape("line\nbreak"), "\"line\nbreak\"");
    }
}
