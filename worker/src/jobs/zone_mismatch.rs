//! A job whose workflow input names another time zone than the job's own.
//!
//! The business date is the job's local date (`timezone`), and a billing or reconciliation
//! workflow works on the customers of its input's `timezone`. When the two differ, a fire at
//! 00:30 in Shanghai bills Los Angeles customers for a date that has not begun there. That can be
//! meant (a reconciliation of yesterday's date, read in another zone), so `apply` does not refuse
//! it, but says so every time.

use punctual_activities::zone_names::names_of_zone;
use punctual_workflows::jobs::JobSpec;

/// The warning for `spec`, when its input's `timezone` is not a name of the job's zone.
pub fn warning(spec: &JobSpec) -> Option<String> {
    let input_zone = spec.input.get("timezone")?.as_str()?;
    if names_of_zone(&spec.timezone).iter().any(|name| name == input_zone) {
        return None;
    }
    Some(format!(
        "input.timezone \"{input_zone}\" is not the job's timezone \"{}\": each fire's business date is {}'s date, and \
         {} works on the customers of {input_zone}, whose date may differ (billed early or late); set both to one zone \
         unless that is meant",
        spec.timezone, spec.timezone, spec.workflow
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(timezone: &str, input_zone: &str) -> JobSpec {
        let text = format!(
            "[jobs.x]\nworkflow = \"BillingRunWorkflow\"\ninput = {{ timezone = \"{input_zone}\" }}\ntimezone = \"{timezone}\"\nat = \"00:30\"\n"
        );
        crate::jobs::config::parse("t.toml", &text).unwrap().remove(0)
    }

    #[test]
    fn another_zone_in_the_input_is_named_and_an_old_name_of_the_same_is_not() {
        let warned = warning(&spec("America/Los_Angeles", "Asia/Shanghai")).expect("warned");
        assert!(warned.contains("\"Asia/Shanghai\" is not the job's timezone \"America/Los_Angeles\""), "{warned}");
        assert_eq!(warning(&spec("Asia/Shanghai", "Asia/Shanghai")), None);
        assert_eq!(warning(&spec("Asia/Shanghai", "PRC")), None);
    }
}
