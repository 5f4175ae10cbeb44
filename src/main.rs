//! The `loadgate` command: parse the command line, run it, print the error once, exit.

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = loadgate::cli::Cli::parse();
    loadgate::app::init_tracing(cli.verbose);
    match loadgate::app::run(cli) {
        Ok(code) => code.into(),
        Err(error) => {
            loadgate::app::report_error(&error);
            error.exit_code().into()
        }
    }
}
