use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = keysweep::cli::Cli::parse();
    match keysweep::cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("keysweep: {}", keysweep::diag::error_chain(err.as_ref()));
            ExitCode::from(keysweep::cli::EXIT_ERROR)
        }
    }
}
