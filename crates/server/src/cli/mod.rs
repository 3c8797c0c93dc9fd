//! `ferrokeeper cli`: zkCli.sh's commands, flags, output and exit codes.

use std::ffi::OsString;
use std::process::ExitCode;

pub fn main(_args: &[OsString]) -> ExitCode {
    ExitCode::FAILURE
}
