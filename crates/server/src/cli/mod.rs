//! `ferrokeeper cli` (also invoked as `zkCli.sh`): Apache ZooKeeper 3.8's zkCli — its command
//! line (`-server host:port`, `-timeout ms`, `-r`), commands, flags, output and exit codes.
//!
//! With a command on the command line it runs that one command and exits with its result (0 ok,
//! 1 failed, 127 unknown command), leaving the session open as zkCli 3.8 does. Without one it
//! reads commands: from a terminal with a prompt and line history, otherwise line by line from
//! stdin; the exit code is the last command's.

mod client;
mod commands;
pub(crate) mod format;

use std::ffi::OsString;
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

pub use client::{KeeperError, Session};

/// Options before the command, as ZooKeeperMain.MyCommandOptions reads them.
#[derive(Debug, Clone, PartialEq)]
struct Options {
    server: String,
    timeout_ms: u64,
    read_only: bool,
    command: Vec<String>,
}

fn parse_options(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        server: "localhost:2181".into(),
        timeout_ms: 30_000,
        read_only: false,
        command: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value =
            || it.next().cloned().ok_or_else(|| format!("Error: no argument found for option {arg}"));
        match arg.as_str() {
            "-server" => options.server = value()?,
            "-timeout" => options.timeout_ms = value()?.parse().unwrap_or(30_000),
            "-client-configuration" => {
                value()?;
            }
            "-r" => options.read_only = true,
            "-waitforconnection" => {}
            other if !other.starts_with('-') => {
                options.command.push(other.to_owned());
                options.command.extend(it.cloned());
                break;
            }
            _ => {}
        }
    }
    Ok(options)
}

pub fn main(args: &[OsString]) -> ExitCode {
    let args: Vec<String> = args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let options = match parse_options(&args) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
    println!("Connecting to {}", options.server);
    let mut shell = commands::Shell::connect(&options.server, options.timeout_ms, options.read_only);
    if !options.command.is_empty() {
        shell.process(options.command.clone());
        return finish(shell.exit_code);
    }
    println!("Welcome to ZooKeeper!");
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        println!("JLine support is enabled");
        interactive(&mut shell);
    } else {
        println!("JLine support is disabled");
        for line in stdin.lock().lines() {
            let Ok(line) = line else { break };
            shell.execute_line(&line);
        }
    }
    finish(shell.exit_code)
}

fn finish(code: i32) -> ExitCode {
    let _ = std::io::stdout().flush();
    ExitCode::from(code.clamp(0, 255) as u8)
}

/// A terminal session, as zkCli with JLine: the prompt, line editing, and the line history
/// (arrow keys; zkCli's own `history` / `redo` number the commands too).
fn interactive(shell: &mut commands::Shell) {
    let mut editor = match rustyline::DefaultEditor::new() {
        Ok(editor) => editor,
        Err(_) => return plain_lines(shell),
    };
    loop {
        match editor.readline(&shell.prompt()) {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = editor.add_history_entry(line.as_str());
                }
                shell.execute_line(&line);
            }
            Err(rustyline::error::ReadlineError::Interrupted) => continue,
            Err(_) => return,
        }
    }
}

/// Without a line editor: the prompt, then whole lines.
fn plain_lines(shell: &mut commands::Shell) {
    let stdin = std::io::stdin();
    loop {
        print!("{}", shell.prompt());
        let _ = std::io::stdout().flush();
        let mut line = String::new();
        match stdin.lock().read_line(&mut line) {
            Ok(0) | Err(_) => {
                println!();
                return;
            }
            Ok(_) => shell.execute_line(line.trim_end_matches(['\n', '\r'])),
        }
    }
}

/// Splits a command line as ZooKeeperMain.parseCommand does: whitespace-separated words, a word
/// in double or single quotes kept whole without its quotes.
pub fn split_line(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        let quote = chars[i];
        if quote == '"' || quote == '\'' {
            if let Some(end) = chars[i + 1..].iter().position(|&c| c == quote) {
                words.push(chars[i + 1..i + 1 + end].iter().collect());
                i += end + 2;
                continue;
            }
            // An unmatched quote starts no word (the pattern cannot match there).
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && !chars[i].is_whitespace() {
            i += 1;
        }
        words.push(chars[start..i].iter().collect());
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_like_zkcli() {
        assert_eq!(
            split_line("  create /a 'hello world' \"x y\" z"),
            vec!["create", "/a", "hello world", "x y", "z"]
        );
        assert_eq!(split_line("set /a \"\""), vec!["set", "/a", ""]);
        assert!(split_line("   ").is_empty());
    }

    #[test]
    fn options_come_before_the_command() {
        let args: Vec<String> =
            ["-server", "h:1", "-timeout", "5000", "get", "-s", "/a"].iter().map(|s| s.to_string()).collect();
        let options = parse_options(&args).expect("parses");
        assert_eq!(options.server, "h:1");
        assert_eq!(options.timeout_ms, 5000);
        assert_eq!(options.command, vec!["get", "-s", "/a"]);
        assert!(parse_options(&["-server".to_string()]).is_err());
    }
}
