//! The dashboard's charts, drawn on the server as inline SVG: no script, no chart library,
//! readable by screen readers through `<title>` and a text label on every mark.

use std::fmt::Write as _;

/// The three open stages' colours (intake, approval, fulfilment).
const STAGE_COLOURS: [&str; 3] = ["#2f6fb0", "#d08a1e", "#3c8d4f"];

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One horizontal bar per unit, split into its open cases per stage.
pub fn stacked_bars(title: &str, stages: [&str; 3], rows: &[(String, [i64; 3])]) -> String {
    let row_h = 26;
    let label_w = 90.0;
    let width = 560.0;
    let bar_w = width - label_w - 60.0;
    let height = 30 + row_h * rows.len().max(1);
    let max = rows
        .iter()
        .map(|(_, v)| v.iter().sum::<i64>())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" aria-label="{}"><title>{}</title>"#,
        escape(title),
        escape(title)
    );
    // Legend.
    let mut x = label_w;
    for (i, stage) in stages.iter().enumerate() {
        let _ = write!(
            svg,
            r#"<rect x="{x}" y="4" width="12" height="12" fill="{}"/><text x="{}" y="15" class="legend">{}</text>"#,
            STAGE_COLOURS[i],
            x + 16.0,
            escape(stage)
        );
        x += 110.0;
    }
    for (row, (unit, values)) in rows.iter().enumerate() {
        let y = 26 + row * row_h;
        let _ = write!(
            svg,
            r#"<text x="0" y="{}" class="label">{}</text>"#,
            y + 16,
            escape(unit)
        );
        let mut x = label_w;
        for (i, value) in values.iter().enumerate() {
            let w = bar_w * (*value as f64) / max;
            if *value > 0 {
                let _ = write!(
                    svg,
                    r#"<rect x="{x:.1}" y="{y}" width="{w:.1}" height="20" fill="{}"><title>{} {}: {value}</title></rect>"#,
                    STAGE_COLOURS[i],
                    escape(unit),
                    escape(stages[i])
                );
            }
            x += w;
        }
        let total: i64 = values.iter().sum();
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{}" class="value">{total}</text>"#,
            x + 6.0,
            y + 15
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A line over labelled points (the open count at the end of each day).
pub fn line(title: &str, points: &[(String, i64)]) -> String {
    let (width, height, left, bottom, top) = (560.0, 180.0, 50.0, 24.0, 12.0);
    let plot_w = width - left - 10.0;
    let plot_h = height - bottom - top;
    let max = points.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1) as f64;
    let step = if points.len() > 1 {
        plot_w / (points.len() - 1) as f64
    } else {
        0.0
    };
    let xy = |i: usize, v: i64| {
        (
            left + step * i as f64,
            top + plot_h * (1.0 - v as f64 / max),
        )
    };
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" aria-label="{}"><title>{}</title>"#,
        escape(title),
        escape(title)
    );
    let _ = write!(
        svg,
        r#"<line x1="{left}" y1="{}" x2="{}" y2="{}" class="axis"/><text x="{}" y="{}" class="label" text-anchor="end">{max}</text><text x="{}" y="{}" class="label" text-anchor="end">0</text>"#,
        top + plot_h,
        left + plot_w,
        top + plot_h,
        left - 6.0,
        top + 10.0,
        left - 6.0,
        top + plot_h
    );
    let path: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, (_, v))| {
            let (x, y) = xy(i, *v);
            format!("{x:.1},{y:.1}")
        })
        .collect();
    let _ = write!(
        svg,
        r#"<polyline points="{}" class="line"/>"#,
        path.join(" ")
    );
    for (i, (label, value)) in points.iter().enumerate() {
        let (x, y) = xy(i, *value);
        let _ = write!(
            svg,
            r#"<circle cx="{x:.1}" cy="{y:.1}" r="3" class="dot"><title>{}: {value}</title></circle>"#,
            escape(label)
        );
        // Every other day's date keeps the axis readable at 14 points.
        if i % 2 == points.len().saturating_sub(1) % 2 {
            let _ = write!(
                svg,
                r#"<text x="{x:.1}" y="{}" class="label" text-anchor="middle">{}</text>"#,
                height - 6.0,
                escape(label)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// Vertical bars with a label under each and the count above.
pub fn bars(title: &str, buckets: &[(String, i64)]) -> String {
    let (width, height, bottom, top) = (560.0, 180.0, 24.0, 18.0);
    let plot_h = height - bottom - top;
    let max = buckets.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1) as f64;
    let slot = width / buckets.len().max(1) as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" aria-label="{}"><title>{}</title>"#,
        escape(title),
        escape(title)
    );
    for (i, (label, value)) in buckets.iter().enumerate() {
        let h = plot_h * (*value as f64) / max;
        let x = slot * i as f64 + slot * 0.15;
        let w = slot * 0.7;
        let y = top + plot_h - h;
        let _ = write!(
            svg,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" class="bar"><title>{}: {value}</title></rect><text x="{:.1}" y="{:.1}" class="value" text-anchor="middle">{value}</text><text x="{:.1}" y="{}" class="label" text-anchor="middle">{}</text>"#,
            escape(label),
            x + w / 2.0,
            y - 4.0,
            x + w / 2.0,
            height - 6.0,
            escape(label)
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_escape_labels_and_show_every_value() {
        let svg = bars("ages <open>", &[("<1".into(), 4), ("1–3".into(), 0)]);
        assert!(svg.contains("ages &lt;open&gt;"));
        assert!(svg.contains(">4</text>"));
        assert!(!svg.contains("<open>"));
        let svg = stacked_bars("t", ["a", "b", "c"], &[("HP01".into(), [1, 2, 3])]);
        assert!(svg.contains(">6</text>"));
        let svg = line("t", &[("11-28".into(), 5), ("11-29".into(), 7)]);
        assert!(svg.contains("polyline"));
    }
}
