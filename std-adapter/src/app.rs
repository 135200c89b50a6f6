//! Run a parsed command line. Each subcommand validates its options (keys, insecure agents)
//! before doing anything; those whose core machines are not wired yet stop with
//! [`Error::NotImplemented`] (exit code 6).

use crate::cli::{AuthRole, Cli, Command, ExecRole, FileRole, SessionArgs, TcpRole, UdpRole};
use crate::error::{Error, Result};
use crate::keys::{load_key_from_process, Key};
use crate::net::{self, ServeOptions};
use crate::session::{self, Side};
use crate::{keygen, tcp, udp};

/// Run `cli` to completion.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Tcp { role } => run_tcp(role),
        Command::Udp { role } => run_udp(role),
        Command::Exec { role } => run_exec(role),
        Command::File { role } => run_file(role),
        Command::Auth { role } => run_auth(role),
        Command::Keygen(args) => {
            keygen::write_key_file(&args.path, args.force)?;
            eprintln!("wrote a {}-byte key to {}", keygen::KEY_LEN, args.path.display());
            Ok(())
        }
        Command::Demo(args) => crate::demo::print_and_judge(&crate::demo::run_all(), args.quiet),
    }
}

/// The key from the session's options or the environment, if any.
pub fn session_key(session: &SessionArgs) -> Result<Option<Key>> {
    Ok(load_key_from_process(session.key.key.as_deref(), session.key.key_file.as_deref())?)
}

fn serve_options(serve: &crate::cli::ServeArgs, quiet: bool) -> ServeOptions {
    ServeOptions {
        once: serve.once,
        max_connections: usize::try_from(serve.max_connections).unwrap_or(usize::MAX),
        quiet,
    }
}

fn run_tcp(role: TcpRole) -> Result<()> {
    match role {
        TcpRole::Server(args) => {
            let key = session_key(&args.session)?;
            if key.is_some() {
                // Refuse up front rather than on every connection while the handshake is missing.
                return Err(Error::NotImplemented("the handshake before tcp traffic (--key)"));
            }
            let listener = net::bind_tcp(&args.listen)?;
            let local = listener
                .local_addr()
                .map_err(|source| Error::Bind { addr: args.listen.clone(), source })?;
            net::announce_listening(&args.listen, local, args.session.quiet);
            let config = tcp::TcpServerConfig {
                replies: args.replies,
                profile: args.session.profile,
                timeout_secs: args.session.timeout,
                echo: true,
            };
            net::serve(&listener, serve_options(&args.serve, args.session.quiet), move |s, _| {
                let session = session::open(
                    s,
                    key.as_ref(),
                    config.profile,
                    Side::Accepting,
                    config.timeout_secs,
                )?;
                tcp::serve_connection(session, &config).map(|_| ())
            })
        }
        TcpRole::Client(args) => {
            let key = session_key(&args.session)?;
            if key.is_some() {
                return Err(Error::NotImplemented("the handshake before tcp traffic (--key)"));
            }
            let opts = &args.session;
            let stream = net::connect_tcp(&args.connect, net::timeout_of(opts.timeout))?;
            let session =
                session::open(stream, key.as_ref(), opts.profile, Side::Connecting, opts.timeout)?;
            tcp::run_client(session, &args.messages, opts.profile, opts.timeout, true).map(|_| ())
        }
    }
}

fn run_udp(role: UdpRole) -> Result<()> {
    match role {
        UdpRole::Server(args) => {
            let socket = net::bind_udp(&args.listen)?;
            let local = socket
                .local_addr()
                .map_err(|source| Error::Bind { addr: args.listen.clone(), source })?;
            net::announce_listening(&args.listen, local, args.quiet);
            udp::serve(&socket, &args.reply, args.once, true).map(|_| ())
        }
        UdpRole::Client(args) => {
            udp::run_client(&args.connect, &args.messages, args.timeout, true).map(|_| ())
        }
    }
}

fn run_exec(role: ExecRole) -> Result<()> {
    match role {
        ExecRole::Controller(args) => {
            session_key(&args.session)?;
            Err(Error::NotImplemented("wirekit exec controller"))
        }
        ExecRole::Agent(args) => {
            if session_key(&args.session)?.is_none() && !args.insecure {
                return Err(Error::InsecureAgent);
            }
            Err(Error::NotImplemented("wirekit exec agent"))
        }
    }
}

fn run_file(role: FileRole) -> Result<()> {
    match role {
        FileRole::Send(args) => {
            session_key(&args.session)?;
            std::fs::metadata(&args.path).map_err(|source| Error::LocalIo {
                what: "cannot read",
                path: args.path.clone(),
                source,
            })?;
            Err(Error::NotImplemented("wirekit file send"))
        }
        FileRole::Recv(args) => {
            session_key(&args.session)?;
            if !args.dir.is_dir() {
                return Err(Error::LocalIo {
                    what: "cannot write into",
                    path: args.dir.clone(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "not an existing directory (create it or fix --dir)",
                    ),
                });
            }
            Err(Error::NotImplemented("wirekit file recv"))
        }
    }
}

fn run_auth(role: AuthRole) -> Result<()> {
    let (session, what) = match &role {
        AuthRole::Server(args) => (&args.session, "wirekit auth server"),
        AuthRole::Client(args) => (&args.session, "wirekit auth client"),
    };
    if session_key(session)?.is_none() {
        return Err(Error::KeyRequired(what));
    }
    Err(Error::NotImplemented(what))
}
