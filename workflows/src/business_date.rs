//! Business dates and time zones as users type them, validated without a clock.

use crate::input::{InputError, InputObject};
use chrono::NaiveDate;
use chrono_tz::Tz;

/// Reads `field` as a calendar date `YYYY-MM-DD` (rejects impossible dates like 2026-02-30).
pub fn date_field(obj: &InputObject<'_>, field: &'static str) -> Result<NaiveDate, InputError> {
    let text = obj.string(field)?;
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().filter(|d| d.format("%Y-%m-%d").to_string() == text).ok_or_else(|| {
        InputError::Invalid { field, expected: "a real calendar date written YYYY-MM-DD".to_owned(), got: format!("\"{text}\"") }
    })
}

/// Reads `field` as an IANA time zone name such as `Asia/Shanghai`.
pub fn timezone_field(obj: &InputObject<'_>, field: &'static str) -> Result<Tz, InputError> {
    let text = obj.string(field)?;
    text.parse::<Tz>().map_err(|_| InputError::Invalid {
        field,
        expected: "an IANA time zone name like \"Asia/Shanghai\"".to_owned(),
        got: format!("\"{text}\""),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::JsonInput;
    use serde_json::json;

    fn read(v: serde_json::Value) -> Result<(NaiveDate, Tz), InputError> {
        let input = JsonInput::from(v);
        let obj = input.object(&["d", "tz"], "{}")?;
        Ok((date_field(&obj, "d")?, timezone_field(&obj, "tz")?))
    }

    #[test]
    fn valid_dates_and_zones_parse() {
        let (d, tz) = read(json!({"d": "2026-11-24", "tz": "Asia/Shanghai"})).unwrap();
        assert_eq!(d.to_string(), "2026-11-24");
        assert_eq!(tz, chrono_tz::Asia::Shanghai);
    }

    #[test]
    fn impossible_dates_and_unknown_zones_name_the_field() {
        for (v, field) in [
            (json!({"d": "2026-02-30", "tz": "UTC"}), "`d`"),
            (json!({"d": "2026-2-3", "tz": "UTC"}), "`d`"),
            (json!({"d": "24/11/2026", "tz": "UTC"}), "`d`"),
            (json!({"d": "2026-11-24", "tz": "Mars/Olympus"}), "`tz`"),
            (json!({"d": "2026-11-24"}), "`tz`"),
        ] {
            let err = read(v.clone()).unwrap_err().to_string();
            assert!(err.contains(field), "{v} -> {err}");
        }
    }
}
