//! `wirekit`: the PC side of the wirekit demos. See `wirekit --help`.

use std::process::ExitCode;

use clap::Parser;
use wirekit_std::cli::Cli;
use wirekit_std::Exit;

fn main() -> ExitCode {
    // A bug must still end in one line, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let place = info.location().map(|l| format!(" at {}:{}", l.file(), l.line()));
        eprintln!(
            "wirekit: internal error{}: {}; please report it",
            place.unwrap_or_default(),
            panic_message(info)
        );
    }));
    let cli = match Cli::try_parse_from(wirekit_std::args::join_address_values(std::env::args_os()))
    {
        Ok(cli) => cli,
        Err(err) => {
            // --help and --version also come this way, on stdout with success.
            let _ = err.print();
            return if err.use_stderr() { Exit::Usage.into() } else { Exit::Ok.into() };
        }
    };
    wirekit_std::console::set_verbosity(cli.verbose);
    match wirekit_std::app::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("wirekit: {err}");
            if wirekit_std::console::verbosity() >= 2 {
                let mut cause = std::error::Error::source(&err);
                while let Some(c) = cause {
                    eprintln!("wirekit:   caused by: {c}");
                    cause = c.source();
                }
            }
            err.exit().into()
        }
    }
}

fn panic_message(info: &std::panic::PanicHookInfo<'_>) -> String {
    if let Some(s) = info.payload().downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = info.payload().downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_owned()
    }
}
