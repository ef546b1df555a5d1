//! Warnings before a calendar's holiday data runs out.
//!
//! Past a calendar's `valid_to`, every fire of a job on it fails rather than guess which days are
//! holidays (`BusinessCalendar::gap`). That is loud, but late: the data for next year is
//! published weeks ahead (China's in November), so `punctual schedule apply` and the worker's
//! start both say so while there is time to extend the file.

use chrono::NaiveDate;
use punctual_workflows::schedule::calendar::{BusinessCalendar, builtin, builtin_names};

/// How long before the end of a calendar's data the warnings start.
pub const WARN_DAYS: i64 = 60;

/// The warning for `calendar` on `today`, if its data ends within [`WARN_DAYS`] (or has ended).
pub fn ending_soon(calendar: &BusinessCalendar, today: NaiveDate) -> Option<String> {
    let to = calendar.valid_to?;
    let left = (to - today).num_days();
    if left > WARN_DAYS {
        return None;
    }
    let when = if left < 0 { format!("ended {} day(s) ago", -left) } else { format!("ends in {left} day(s)") };
    Some(format!(
        "calendar {} {}: its holiday data {when} ({to}); fires after that fail until calendars/{}.toml is extended",
        calendar.name, calendar.version, calendar.name
    ))
}

/// The warnings for every shipped calendar on `today`.
pub fn shipped_ending_soon(today: NaiveDate) -> Vec<String> {
    builtin_names().into_iter().filter_map(|name| builtin(name).ok()).filter_map(|c| ending_soon(&c, today)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_calendar_is_flagged_sixty_days_before_its_data_ends_and_after() {
        let cn = builtin("cn").unwrap();
        let day = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(ending_soon(&cn, day("2026-10-31")), None);
        let soon = ending_soon(&cn, day("2026-11-30")).expect("31 days left");
        assert!(soon.contains("calendar cn 2026.1: its holiday data ends in 31 day(s) (2026-12-31)"), "{soon}");
        assert!(ending_soon(&cn, day("2027-01-02")).unwrap().contains("ended 2 day(s) ago"));
        assert_eq!(ending_soon(&builtin("everyday").unwrap(), day("2099-01-01")), None);
        assert!(shipped_ending_soon(day("2026-11-30")).iter().any(|w| w.starts_with("calendar cn ")));
    }
}
