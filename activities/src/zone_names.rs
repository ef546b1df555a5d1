//! The names one place goes by in tzdata, so that customers stored under an old name are billed
//! by their zone's runs.
//!
//! tzdata renames places and keeps the old names as links: `PRC` is `Asia/Shanghai`,
//! `US/Eastern` is `America/New_York`, `Asia/Calcutta` is `Asia/Kolkata`. `chrono-tz` accepts
//! every one of them, so a customer row saying `US/Eastern` is valid, and so is a run for
//! `PRC`. Compared as text, though, a run for `America/New_York` skipped the `US/Eastern`
//! customers, and a run for `PRC` billed nobody and completed its key: a silent miss.
//!
//! Every customer query by zone therefore matches all names of the zone's place. The run keeps
//! the name it was given (its key is what was typed), and nothing doubles when runs for two
//! names of one place bill the same customers: bill, charge and notification keys name the
//! customer and the date, not the zone, so the second run replays.
//!
//! Only renames are joined, not tzdata's merges of distinct places that share a clock since
//! 1970 (`Europe/Amsterdam` is a link to `Europe/Brussels`, but a Dutch customer is not a
//! Belgian one); see `scripts/zone_links.py`, which generates the table.

#[path = "zone_names_table.rs"]
mod table;

use table::RENAMED;

/// The place a name stands for: the current name of a renamed zone, else the name itself.
fn place(name: &str) -> &str {
    match RENAMED.binary_search_by(|(old, _)| (*old).cmp(name)) {
        Ok(found) => RENAMED[found].1,
        Err(_) => name,
    }
}

/// Every name of `zone`'s place, `zone` itself first, the others in table order: what a customer
/// row may say for a customer of `zone`.
pub fn names_of_zone(zone: &str) -> Vec<String> {
    let place = place(zone);
    let mut names = vec![zone.to_owned()];
    let others = std::iter::once(place).chain(RENAMED.iter().filter(|(_, p)| *p == place).map(|(old, _)| *old));
    for name in others {
        if !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    }
    names
}

/// `$first, $first+1, ...` for `count` binds: the `IN (...)` list of [`names_of_zone`].
pub fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use chrono_tz::Tz;

    #[test]
    fn old_and_current_names_find_each_other() {
        assert_eq!(names_of_zone("Asia/Shanghai"), ["Asia/Shanghai", "PRC"]);
        assert_eq!(names_of_zone("PRC"), ["PRC", "Asia/Shanghai"]);
        // `#= TARGET1`: Chungking is Chongqing's old spelling, not Shanghai's.
        assert_eq!(names_of_zone("Asia/Chungking"), ["Asia/Chungking", "Asia/Chongqing"]);
        assert_eq!(names_of_zone("America/New_York"), ["America/New_York", "US/Eastern"]);
        assert_eq!(names_of_zone("Asia/Calcutta"), ["Asia/Calcutta", "Asia/Kolkata"]);
    }

    #[test]
    fn merged_places_and_posix_style_names_stay_apart() {
        assert_eq!(names_of_zone("Europe/Amsterdam"), ["Europe/Amsterdam"]);
        assert_eq!(names_of_zone("Europe/Brussels"), ["Europe/Brussels"]);
        assert_eq!(names_of_zone("EST5EDT"), ["EST5EDT"]);
        assert_eq!(names_of_zone("Mars/Olympus"), ["Mars/Olympus"]);
    }

    #[test]
    fn the_table_is_sorted_and_every_pair_is_one_clock_in_chrono_tz() {
        assert!(RENAMED.windows(2).all(|w| w[0].0 < w[1].0), "binary search needs the table sorted");
        // Every January and July from 1970 to 2037: a pair that disagreed would bill a customer
        // on another business date than the run's.
        let instants: Vec<_> =
            (1970..2038).flat_map(|y| [1, 7].map(|m| Utc.with_ymd_and_hms(y, m, 15, 12, 0, 0).unwrap())).collect();
        for (old, current) in RENAMED {
            let (a, b): (Tz, Tz) = (old.parse().expect(old), current.parse().expect(current));
            for t in &instants {
                assert_eq!(t.with_timezone(&a).naive_local(), t.with_timezone(&b).naive_local(), "{old} vs {current} at {t}");
            }
        }
    }

    #[test]
    fn placeholders_number_from_the_first() {
        assert_eq!(placeholders(1, 3), "$1, $2, $3");
        assert_eq!(placeholders(2, 1), "$2");
    }
}
