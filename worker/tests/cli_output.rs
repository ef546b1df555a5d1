//! The CLI's output into a pipe whose reader has gone, as `punctual schedule describe x | head -3`
//! leaves it: the command ends quietly with exit 0, where `println!` used to panic (exit 101).

use std::io::pipe;
use std::process::{Command, Stdio};

/// The reader is closed before the command starts, so its very first write fails with
/// `BrokenPipe`: the outcome does not depend on how fast `head` would have read.
#[test]
fn output_into_a_closed_pipe_ends_the_command_quietly() {
    let (reader, writer) = pipe().expect("pipe");
    drop(reader);
    let run = Command::new(env!("CARGO_BIN_EXE_punctual"))
        .arg("search-attributes")
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .expect("run punctual");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!stderr.contains("panicked"), "punctual panicked on a closed pipe: {stderr}");
    assert_eq!(run.status.code(), Some(0), "exit status on a closed pipe; stderr: {stderr}");
}

/// The same command into a pipe someone reads prints every attribute: the quiet exit above is
/// not a command that prints nothing.
#[test]
fn output_into_an_open_pipe_is_whole() {
    let run = Command::new(env!("CARGO_BIN_EXE_punctual")).arg("search-attributes").output().expect("run punctual");
    assert!(run.status.success());
    let stdout = String::from_utf8(run.stdout).unwrap();
    assert!(stdout.lines().any(|l| l == "BusinessKey=Keyword"), "{stdout}");
}
