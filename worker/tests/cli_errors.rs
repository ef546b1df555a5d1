//! A bad value read from a variable names the variable: clap names only the flag, which a user
//! who set `PUNCTUAL_WORKFLOW_SLOTS` in a compose file never typed.

use std::process::Command;

fn punctual(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_punctual"));
    command.args(args).env_remove("PUNCTUAL_WORKFLOW_SLOTS").env_remove("PUNCTUAL_SHUTDOWN_GRACE");
    for (name, value) in env {
        command.env(name, value);
    }
    let run = command.output().expect("run punctual");
    (run.status.code(), String::from_utf8_lossy(&run.stderr).into_owned())
}

#[test]
fn a_bad_value_from_a_variable_names_the_variable() {
    let (code, stderr) = punctual(&["worker"], &[("PUNCTUAL_WORKFLOW_SLOTS", "abc")]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("invalid value 'abc'"), "{stderr}");
    assert!(stderr.contains("came from the environment variable PUNCTUAL_WORKFLOW_SLOTS"), "{stderr}");
}

#[test]
fn a_bad_value_typed_as_a_flag_names_only_the_flag() {
    for args in [&["worker", "--workflow-slots", "abc"][..], &["worker", "--workflow-slots=abc"][..]] {
        // The variable is set to a good value: the flag wins, and it is the flag that is wrong.
        let (code, stderr) = punctual(args, &[("PUNCTUAL_WORKFLOW_SLOTS", "8")]);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stderr.contains("'--workflow-slots"), "{stderr}");
        assert!(!stderr.contains("environment variable"), "{args:?}: {stderr}");
    }
}
