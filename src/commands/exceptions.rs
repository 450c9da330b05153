//! `remedy exceptions [--expiring 14d]`: the file's exceptions with their state (active,
//! expiring, expired), offline. It reads the file without the date check the deploying
//! commands make, so that it can list the expired exceptions they refuse.

use super::Global;
use crate::core::config::Config;
use crate::core::error::{exit, Error};
use crate::core::exceptions::{days_left, state, State, EXPIRING_DAYS};
use crate::report::{self, ExceptionRow};

// The flags of `remedy exceptions`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only those that have expired or end within this many days (`14d`, or a number of
    /// days); without it, every exception, `expiring` meaning within 14 days.
    #[arg(long, value_name = "DAYS", value_parser = parse_days)]
    pub expiring: Option<i64>,
}

/// `14d` or `14`: a number of days, at most a year.
fn parse_days(text: &str) -> Result<i64, String> {
    let digits = text.strip_suffix('d').unwrap_or(text);
    match digits.parse::<i64>() {
        Ok(days) if (0..=366).contains(&days) => Ok(days),
        Ok(_) => Err(format!("`{text}`: between 0d and 366d")),
        Err(_) => Err(format!("`{text}` is not a number of days (write e.g. 14d)")),
    }
}

pub async fn run(args: Args, global: &Global) -> Result<i32, Error> {
    let config = Config::load(&global.config)?;
    let today = super::today();
    let window = args.expiring.unwrap_or(EXPIRING_DAYS);
    let rows: Vec<ExceptionRow> = config
        .exceptions
        .iter()
        .map(|e| ExceptionRow {
            id: e.id.to_string(),
            state: state(e.expires.as_str(), today, window),
            expires: e.expires.to_string(),
            days_left: days_left(e.expires.as_str(), today),
            rules: e.rules.0.clone(),
            accounts: e.accounts.iter().map(|a| a.to_string()).collect(),
            ous: e.ous.iter().map(|o| o.to_string()).collect(),
            regions: e.regions.iter().map(|r| r.to_string()).collect(),
            resources: e.resources.iter().map(|r| r.to_string()).collect(),
            tags: e
                .tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            reason: e.reason.to_string(),
            owner: e.owner.to_string(),
        })
        .filter(|row| args.expiring.is_none() || row.state != State::Active)
        .collect();
    report::print_exceptions(
        &rows,
        &remedy_functions::exceptions::date_of(today),
        window,
        global.output,
    );
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::parse_days;

    #[test]
    fn days_are_read_with_or_without_the_unit() {
        assert_eq!(parse_days("14d"), Ok(14));
        assert_eq!(parse_days("0"), Ok(0));
        assert!(parse_days("2w").is_err());
        assert!(parse_days("400d").is_err());
    }
}
