//! The text tables of `status`, `plan`, `rules` and `accounts`, through comfy-table: columns
//! as wide as their content, no borders, no trailing spaces, and — when a width is given —
//! the widest columns truncated (with `…`) to fit it rather than wrapped.

use comfy_table::{ColumnConstraint, ContentArrangement, Row, Table as Inner, Width};

/// A borderless table, built row by row.
pub(crate) struct Table {
    inner: Inner,
    /// Columns never shortened (ids, states), by index.
    fixed: Vec<usize>,
}

impl Table {
    pub(crate) fn new<const N: usize>(headers: [&str; N]) -> Table {
        Table::of(&headers)
    }

    pub(crate) fn of(headers: &[&str]) -> Table {
        let mut inner = Inner::new();
        inner
            .load_preset(comfy_table::presets::NOTHING)
            .set_truncation_indicator("…")
            .set_header(headers.to_vec());
        Table {
            inner,
            fixed: Vec::new(),
        }
    }

    /// Columns at these indexes keep their full width whatever the table's limit.
    pub(crate) fn keep_whole(mut self, columns: &[usize]) -> Table {
        self.fixed.extend_from_slice(columns);
        self
    }

    pub(crate) fn row<I, S>(&mut self, cells: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut row = Row::from(cells.into_iter().map(Into::into).collect::<Vec<String>>());
        row.max_height(1);
        self.inner.add_row(row);
    }

    /// The table's lines, at most `width` characters each when given.
    pub(crate) fn render(mut self, width: Option<u16>) -> String {
        if let Some(width) = width {
            // NOTHING's left border is a space; it is trimmed below, so allow one more.
            self.inner
                .set_content_arrangement(ContentArrangement::Dynamic)
                .set_width(width.saturating_add(1));
            for index in self.fixed.clone() {
                if let Some(column) = self.inner.column_mut(index) {
                    column.set_constraint(ColumnConstraint::ContentWidth);
                }
            }
        } else {
            self.inner
                .set_content_arrangement(ContentArrangement::Disabled);
        }
        for column in self.inner.column_iter_mut() {
            column.set_padding((0, 1));
            if column.constraint().is_none() && width.is_some() {
                column.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(4)));
            }
        }
        let mut out = String::new();
        for line in self.inner.lines() {
            let line = line
                .strip_prefix(' ')
                .unwrap_or(&line)
                .trim_end()
                .to_owned();
            out.push_str(&line);
            out.push('\n');
        }
        out
    }
}

/// The width a text table may take: unbounded with `wide`, else 100 columns (or the
/// terminal's `COLUMNS` when wider).
pub(crate) fn width_for(wide: bool) -> Option<u16> {
    if wide {
        return None;
    }
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<u16>().ok())
        .unwrap_or(0);
    Some(columns.max(100))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_without_trailing_spaces() {
        let mut t = Table::new(["RULE", "SERVICE", "MODE"]);
        t.row(["S3-001", "S3", "remediate"]);
        t.row(["CloudTrail-001", "CloudTrail", "-"]);
        let text = t.render(None);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "RULE           SERVICE    MODE");
        assert_eq!(lines[1], "S3-001         S3         remediate");
        assert_eq!(lines[2], "CloudTrail-001 CloudTrail -");
        assert!(text.lines().all(|l| l == l.trim_end()));
    }

    #[test]
    fn a_width_truncates_the_long_columns_not_the_whole_ones() {
        let mut t = Table::new(["ACCOUNT", "NAME", "STATE"]).keep_whole(&[0, 2]);
        let name = "a-very-long-account-name-that-goes-on-and-on-and-on-well-past-any-terminal-width-you-have";
        t.row(["111111111111", name, "outdated"]);
        let text = t.render(Some(60));
        for line in text.lines() {
            assert!(
                line.chars().count() <= 60,
                "{line:?} is {} wide",
                line.chars().count()
            );
        }
        let row = text.lines().nth(1).unwrap_or_default();
        assert!(row.starts_with("111111111111 "), "{row}");
        assert!(row.ends_with(" outdated"), "{row}");
        assert!(row.contains('…'), "{row}");
    }
}
