//! Generators shared by the schedule module's property tests.

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, Offset, TimeZone};
use chrono_tz::Tz;
use proptest::prelude::*;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// Zones with DST, both hemispheres, 30-minute shifts (Lord_Howe), midnight transitions
/// (Havana, Santiago, Asuncion), 2-hour shifts (Troll), negative DST (Dublin).
pub(crate) const ZONES: &[Tz] = &[
    chrono_tz::America::New_York,
    chrono_tz::America::Chicago,
    chrono_tz::America::Denver,
    chrono_tz::America::Los_Angeles,
    chrono_tz::America::Anchorage,
    chrono_tz::America::Halifax,
    chrono_tz::America::St_Johns,
    chrono_tz::America::Havana,
    chrono_tz::America::Santiago,
    chrono_tz::America::Asuncion,
    chrono_tz::America::Mexico_City,
    chrono_tz::America::Sao_Paulo,
    chrono_tz::Europe::London,
    chrono_tz::Europe::Dublin,
    chrono_tz::Europe::Berlin,
    chrono_tz::Europe::Paris,
    chrono_tz::Europe::Helsinki,
    chrono_tz::Europe::Athens,
    chrono_tz::Europe::Lisbon,
    chrono_tz::Europe::Chisinau,
    chrono_tz::Australia::Sydney,
    chrono_tz::Australia::Melbourne,
    chrono_tz::Australia::Adelaide,
    chrono_tz::Australia::Hobart,
    chrono_tz::Australia::Lord_Howe,
    chrono_tz::Pacific::Auckland,
    chrono_tz::Pacific::Chatham,
    chrono_tz::Asia::Jerusalem,
    chrono_tz::Asia::Beirut,
    chrono_tz::Antarctica::Troll,
    chrono_tz::Africa::Casablanca,
    chrono_tz::Asia::Shanghai,
    chrono_tz::UTC,
];

pub(crate) fn any_zone() -> impl Strategy<Value = Tz> {
    prop::sample::select(ZONES.to_vec())
}

pub(crate) fn any_date() -> impl Strategy<Value = NaiveDate> {
    // 2020-01-01 ..= 2035-12-31
    (0u64..5844).prop_map(|n| d("2020-01-01") + chrono::Days::new(n))
}

/// Local times, biased towards the small hours where transitions happen.
pub(crate) fn any_time() -> impl Strategy<Value = NaiveTime> {
    prop_oneof![
        (0u32..24, 0u32..60).prop_map(|(h, m)| NaiveTime::from_hms_opt(h, m, 0).unwrap()),
        (0u32..4, prop::sample::select(vec![0u32, 15, 30, 45])).prop_map(|(h, m)| NaiveTime::from_hms_opt(h, m, 0).unwrap()),
    ]
}

/// Dates near transitions: the zone's transition days in the year of `date`, found by comparing
/// offsets at noon, so the gaps and overlaps are actually exercised.
pub(crate) fn transition_days(tz: Tz, year: i32) -> Vec<NaiveDate> {
    let noon_offset = |day: NaiveDate| tz.offset_from_utc_datetime(&day.and_hms_opt(12, 0, 0).unwrap()).fix();
    let start = NaiveDate::from_ymd_opt(year, 1, 1).unwrap();
    start
        .iter_days()
        .take_while(|day| day.year() == year)
        .filter(|day| noon_offset(*day) != noon_offset(*day - Duration::days(1)))
        .flat_map(|day| [day - Duration::days(1), day])
        .collect()
}
