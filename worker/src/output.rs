//! What the CLI prints for people and scripts, written so that a closed pipe ends the command
//! quietly instead of panicking.
//!
//! `println!` panics when stdout is a pipe whose reader has gone (`punctual schedule describe x |
//! head -3`): Rust ignores SIGPIPE, so the write fails with `BrokenPipe` and the macro turns that
//! into a panic and exit code 101. C tools die of the signal instead; the workspace forbids the
//! `unsafe` that restoring the signal would need. So every line goes through [`line`], which treats
//! a gone reader as "nobody wants the rest" and exits 0, the way `git log | head` ends. Nothing is
//! lost by stopping there: the commands that print are read-only or have finished their effect
//! before they report it.

use std::fmt::Arguments;
use std::io::{self, Write};

/// Writes one line to stdout: [`out!`](crate::out) in place of `println!`.
pub fn line(args: Arguments<'_>) {
    write(args, true)
}

/// Writes without a newline: [`out_part!`](crate::out_part) in place of `print!`.
pub fn part(args: Arguments<'_>) {
    write(args, false)
}

fn write(args: Arguments<'_>, newline: bool) {
    let mut stdout = io::stdout().lock();
    let written = stdout.write_fmt(args).and_then(|()| if newline { stdout.write_all(b"\n") } else { Ok(()) });
    match written {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => std::process::exit(0),
        // A full disk or a closed terminal: say so once, on stderr, and stop rather than
        // print half a report as if it were whole.
        Err(err) => {
            eprintln!("error: writing to stdout: {err}");
            std::process::exit(1)
        }
    }
}

/// `println!` for the CLI's output: a closed pipe ends the command with exit 0, not a panic.
#[macro_export]
macro_rules! out {
    () => { $crate::output::line(format_args!("")) };
    ($($arg:tt)*) => { $crate::output::line(format_args!($($arg)*)) };
}

/// `print!` for the CLI's output, with [`out!`]'s handling of a closed pipe.
#[macro_export]
macro_rules! out_part {
    ($($arg:tt)*) => { $crate::output::part(format_args!($($arg)*)) };
}
