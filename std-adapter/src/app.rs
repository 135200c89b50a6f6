//! Run a parsed command line. Each subcommand validates its options (keys, insecure agents,
//! directories) before touching the network.

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;

use crate::atomic_file::{remove_temp_files_on_signals, ReceiveRules, TargetDir};
use crate::cli::{
    AuthRole, Cli, Command, ExecRole, FileRole, NameRule, Profile, SessionArgs, TcpRole, UdpRole,
    DEFAULT_FILE_ADDR, DEFAULT_TCP_ADDR,
};
use crate::console::{self, CommandSource};
use crate::error::{Error, Result};
use crate::exec::{self, ExecWire};
use crate::keys::{self, load_key_from_process, Key, KeySource};
use crate::net::{self, ServeOptions};
use crate::runner::{self, RunLimits};
use crate::safe_name::NamePolicy;
use crate::session::{self, Plan, Session, Side};
use crate::{auth, file, keygen, tcp, udp};
use wirekit_core::auth::Role;

/// Run `cli` to completion.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Tcp { role } => run_tcp(role),
        Command::Udp { role } => run_udp(role),
        Command::Exec { role } => run_exec(role),
        Command::File { role } => run_file(role),
        Command::Auth { role } => run_auth(role),
        Command::Keygen(args) => {
            let to = keygen::KeyDestination::of(&args.path);
            keygen::write_key(to, args.force)?;
            if let keygen::KeyDestination::File(path) = to {
                eprintln!("wrote a {}-byte key to {}", keygen::KEY_LEN, path.display());
            }
            Ok(())
        }
        Command::Demo(args) => crate::demo::print_and_judge(&crate::demo::run_all(), args.quiet),
    }
}

/// The key from the session's options or the environment, if any. `--profile secure` needs
/// one of at least 16 bytes: refused here, before any connection (exit 2).
pub fn session_key(session: &SessionArgs) -> Result<Option<Key>> {
    let key = load_key_from_process(session.key.key.as_deref(), session.key.key_file.as_deref())?;
    if let Some(KeySource::File(path)) = key.as_ref().map(Key::source) {
        if let Some(warning) = keys::loose_permissions_warning(path) {
            eprintln!("{warning}");
        }
    }
    if session.profile == Profile::Secure {
        session::secure_psk(key.as_ref().ok_or(Error::SecureKeyMissing)?)?;
    }
    Ok(key)
}

fn serve_options(serve: &crate::cli::ServeArgs, quiet: bool) -> ServeOptions {
    ServeOptions {
        once: serve.once,
        max_connections: usize::try_from(serve.max_connections).unwrap_or(usize::MAX),
        quiet,
        max_per_source: 0,
    }
}

/// The handshake plan of a role: `role` is ours in one of wirekit's own exchanges (role keys,
/// see [`session`]), `None` for `auth` (the shared key).
fn plan(session: &SessionArgs, side: Side, role: Option<Role>) -> Plan {
    let plan = match role {
        Some(role) => Plan::for_role(session.profile, side, role),
        None => Plan::new(session.profile, side),
    }
    .with_mp_digest(session.mp_digest);
    if session.mp_require_sha256 {
        plan.require_sha256()
    } else {
        plan
    }
}

/// The warning for a server that lets anyone who connects act (`risk` says how) and listens
/// on an address other machines can reach; `None` on loopback.
pub fn exposure_warning(local: SocketAddr, risk: &str) -> Option<String> {
    if local.ip().is_loopback() {
        return None;
    }
    Some(format!(
        "wirekit: warning: listening on {local}, reachable from other machines, and {risk}; \
         give it a key (--key-file, WIREKIT_KEY) or listen on 127.0.0.1"
    ))
}

/// Bind, print `listening on ADDR` (and [`exposure_warning`] when `risk` says what an
/// unauthenticated peer could do), and serve connections with `handler` (which gets the
/// prepared, authenticated session).
fn listen_and_serve(
    addr: &str,
    session: &SessionArgs,
    serve: &crate::cli::ServeArgs,
    key: Option<Key>,
    risk: Option<&str>,
    plan: Plan,
    handler: impl Fn(Session<'_>) -> Result<()> + Send + Sync + 'static,
) -> Result<()> {
    let timeout = session.timeout;
    let options = serve_options(serve, session.quiet);
    let risk = risk.filter(|_| key.is_none());
    bind_and_serve(addr, session.quiet, options, risk, move |stream| {
        let keyed = key.is_some();
        session::with_open(stream, key.as_ref(), plan, timeout, |opened| handler(opened?))
            .map_err(|e| e.unless_keyed(keyed))
    })
}

/// Bind, print `listening on ADDR`, and serve each accepted stream with `handler`.
fn bind_and_serve(
    addr: &str,
    quiet: bool,
    options: ServeOptions,
    risk: Option<&str>,
    handler: impl Fn(TcpStream) -> Result<()> + Send + Sync + 'static,
) -> Result<()> {
    let listener = net::bind_tcp(addr)?;
    let local =
        listener.local_addr().map_err(|source| Error::Bind { addr: addr.to_owned(), source })?;
    net::announce_listening(addr, local, quiet);
    if let Some(warning) = risk.and_then(|r| exposure_warning(local, r)) {
        eprintln!("{warning}");
    }
    net::serve(&listener, options, move |stream, _| handler(stream))
}

/// A controller whose commands come from stdin: serve the first agent that connects and
/// return when its session ends; close every other agent's connection at once, with a line
/// on stderr (commands typed once cannot go to two agents).
fn serve_one_agent(
    addr: &str,
    session: &SessionArgs,
    key: Option<Key>,
    plan: Plan,
    control: impl FnOnce(Session<'_>) -> Result<()>,
) -> Result<()> {
    let listener = net::bind_tcp(addr)?;
    let local =
        listener.local_addr().map_err(|source| Error::Bind { addr: addr.to_owned(), source })?;
    net::announce_listening(addr, local, session.quiet);
    let (stream, peer) = net::accept(&listener)?;
    net::note_connection(peer, session.quiet);
    // Detached: it ends with the process, when the session below is over.
    let _refuser =
        std::thread::Builder::new().name("refuse extra agents".into()).spawn(move || {
            while let Ok((extra, from)) = net::accept(&listener) {
                eprintln!(
                    "wirekit: closed the connection from {from}: this controller's commands come \
                 from stdin and go to {peer} only (use -c to serve every agent that connects)"
                );
                drop(extra);
            }
        });
    let keyed = key.is_some();
    session::with_open(stream, key.as_ref(), plan, session.timeout, |opened| control(opened?))
        .map_err(|e| e.unless_keyed(keyed))
}

/// Connect to `addr`, open the session of `plan` and run `exchange` on it.
fn connect_and<T>(
    addr: &str,
    session: &SessionArgs,
    key: Option<&Key>,
    plan: Plan,
    exchange: impl FnOnce(Session<'_>) -> Result<T>,
) -> Result<T> {
    let stream: TcpStream = net::connect_tcp(addr, net::timeout_of(session.timeout))?;
    session::with_open(stream, key, plan, session.timeout, |opened| exchange(opened?))
        .map_err(|e| e.unless_keyed(key.is_some()))
}

fn run_tcp(role: TcpRole) -> Result<()> {
    match role {
        TcpRole::Server(args) => {
            let key = session_key(&args.session)?;
            let config = tcp::TcpServerConfig {
                replies: args.replies,
                profile: args.session.profile,
                echo: true,
            };
            let plan = plan(&args.session, Side::Accepting, Some(Role::TcpServer));
            listen_and_serve(&args.listen, &args.session, &args.serve, key, None, plan, move |s| {
                tcp::serve_connection(s, &config).map(|_| ())
            })
        }
        TcpRole::Client(args) => {
            let key = session_key(&args.session)?;
            let opts = &args.session;
            let plan = plan(opts, Side::Connecting, Some(Role::TcpClient));
            connect_and(&args.connect, opts, key.as_ref(), plan, |session| {
                tcp::run_client(session, &args.messages, opts.profile, true).map(|_| ())
            })
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
            let rate = udp::ReplyRate { per_second: args.max_rate, burst: args.max_rate };
            udp::serve(&socket, &args.reply, args.once, true, rate).map(|_| ())
        }
        UdpRole::Client(args) => {
            udp::run_client(&args.connect, &args.messages, args.timeout, true).map(|_| ())
        }
    }
}

/// Print a command's output as the seed does (`print(ret.decode())`), without doubling a
/// final newline.
fn print_output(output: &str) {
    console::print_line(output.strip_suffix('\n').unwrap_or(output));
}

fn run_exec(role: ExecRole) -> Result<()> {
    match role {
        ExecRole::Controller(args) => {
            let key = session_key(&args.session)?;
            let wire = ExecWire {
                raw: args.wire.raw,
                encoding: args.wire.encoding,
                profile: args.session.profile,
            };
            let from_stdin = args.commands.is_empty();
            let reply_timeout = args.reply_timeout;
            let commands = Arc::new(args.commands);
            let control = move |s: Session<'_>| {
                let mut source = CommandSource::from_args_or_stdin(commands.to_vec());
                let next = || {
                    let command = source.next_command().map_err(|e| Error::LocalIo {
                        what: "cannot read commands from",
                        path: "stdin".into(),
                        source: e,
                    })?;
                    Ok(command.filter(|c| c.trim() != "q"))
                };
                exec::control_with(s, wire, reply_timeout, next, |x| print_output(&x.output))
                    .map(|_| ())
            };
            let (listens, addr) = args.endpoint.pick(true, DEFAULT_TCP_ADDR);
            let plan = plan(&args.session, side(listens), Some(Role::ExecController));
            if listens && from_stdin {
                // Commands typed on stdin are for one agent: the session ends with `q` (or
                // the end of input), and an agent that connects meanwhile is told so.
                serve_one_agent(&addr, &args.session, key, plan, control)
            } else if listens {
                listen_and_serve(&addr, &args.session, &args.serve, key, None, plan, control)
            } else {
                connect_and(&addr, &args.session, key.as_ref(), plan, control)
            }
        }
        ExecRole::Agent(args) => {
            let key = session_key(&args.session)?;
            if key.is_none() && !args.insecure {
                return Err(Error::InsecureAgent);
            }
            let wire = ExecWire {
                raw: args.wire.raw,
                encoding: args.wire.encoding,
                profile: args.session.profile,
            };
            let limits = RunLimits {
                timeout: args.command_timeout.max(std::time::Duration::from_millis(1)),
                max_output: args.max_output,
            };
            let quiet = args.session.quiet;
            let env = runner::CommandEnv::of_process(key.as_ref().map(Key::bytes));
            // The agent's commands end with it (issue 12 item 3).
            runner::tree::end_runs_on_signal().map_err(|e| Error::LocalIo {
                what: "cannot watch signals in",
                path: "wirekit".into(),
                source: e,
            })?;
            let serve = move |session: Session<'_>| {
                exec::serve_agent_with(session, wire, limits, &env, |ran| {
                    if !quiet {
                        let killed = if ran.timed_out { " (killed at the timeout)" } else { "" };
                        eprintln!(
                            "ran {:?}: {} bytes of output{killed}",
                            ran.command, ran.reply_len
                        );
                    }
                })
                .map(|_| ())
            };
            let (listens, addr) = args.endpoint.pick(false, DEFAULT_TCP_ADDR);
            let plan = plan(&args.session, side(listens), Some(Role::ExecAgent));
            if listens {
                let risk = Some("runs the commands of anyone who connects (--insecure)");
                listen_and_serve(&addr, &args.session, &args.serve, key, risk, plan, serve)
            } else {
                connect_and(&addr, &args.session, key.as_ref(), plan, serve)
            }
        }
    }
}

/// The side of the connection we are on.
const fn side(we_listen: bool) -> Side {
    if we_listen {
        Side::Accepting
    } else {
        Side::Connecting
    }
}

fn run_file(role: FileRole) -> Result<()> {
    match role {
        FileRole::Send(args) => {
            let key = session_key(&args.session)?;
            // Checked before the network: a directory, FIFO, unreadable file or a name our
            // own receiver refuses fails now, not on every connection.
            let outgoing =
                file::Outgoing::check(&args.path, args.name.as_deref(), args.header_dir)?;
            let (listens, addr) = args.endpoint.pick(true, DEFAULT_FILE_ADDR);
            let (profile, quiet) = (args.session.profile, args.session.quiet);
            let send = move |s: Session<'_>| file::send(s, &outgoing, profile, quiet).map(|_| ());
            let plan = plan(&args.session, side(listens), Some(Role::FileSender));
            if listens {
                listen_and_serve(&addr, &args.session, &args.serve, key, None, plan, send)
            } else {
                connect_and(&addr, &args.session, key.as_ref(), plan, send)
            }
        }
        FileRole::Recv(args) => {
            let key = session_key(&args.session)?;
            let dir = open_receive_dir(&args.dir)?;
            let (listens, addr) = args.endpoint.pick(false, DEFAULT_FILE_ADDR);
            let names = match args.names {
                NameRule::Portable => NamePolicy::Portable,
                NameRule::Permissive => NamePolicy::Permissive,
            };
            let opts = file::RecvOptions {
                dir: Arc::new(dir),
                rules: ReceiveRules {
                    max_size: args.max_size,
                    min_free: args.min_free,
                    names,
                    no_clobber: args.no_clobber,
                },
                min_rate: args.min_rate,
                rate_window: std::time::Duration::from_secs(file::RATE_WINDOW_SECS),
                profile: args.session.profile,
                quiet: args.session.quiet,
            };
            let quiet = args.session.quiet;
            let keyed = key.is_some();
            let session = &args.session;
            let (timeout, deadline) = (session.timeout, args.header_deadline);
            let recv = move |stream: TcpStream, plan: Plan| {
                // Before the handshake: a refused key resets too, and the handshake and
                // header together get --header-deadline, however slowly they trickle.
                file::reset_unless_delivered(&stream);
                let phase = net::Watchdog::global().arm(&stream, deadline);
                let got = session::with_open(stream, key.as_ref(), plan, timeout, |opened| {
                    file::receive(file::explain_deadline(opened, phase.as_ref())?, &opts, phase)
                })?;
                if !quiet {
                    eprintln!("saved {}", got.path.display());
                }
                Ok(())
            };
            let plan = plan(&args.session, side(listens), Some(Role::FileReceiver));
            if listens {
                let options = ServeOptions {
                    max_per_source: usize::try_from(args.max_per_source).unwrap_or(usize::MAX),
                    ..serve_options(&args.serve, session.quiet)
                };
                let risk = (!keyed).then_some("saves the files of anyone who connects (no key)");
                bind_and_serve(&addr, session.quiet, options, risk, move |stream| {
                    recv(stream, plan).map_err(|e: Error| e.unless_keyed(keyed))
                })
            } else {
                let stream = net::connect_tcp(&addr, net::timeout_of(session.timeout))?;
                recv(stream, plan).map_err(|e: Error| e.unless_keyed(keyed))
            }
        }
    }
}

/// Open `--dir` once, check that we can write there, remove temporary files a killed
/// receiver left, and remove ours on SIGINT/SIGTERM from now on.
fn open_receive_dir(dir: &Path) -> Result<TargetDir> {
    if !dir.is_dir() {
        return Err(Error::LocalIo {
            what: "cannot write into",
            path: dir.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "not an existing directory (create it or fix --dir)",
            ),
        });
    }
    let target = TargetDir::open(dir)?;
    target.check_writable()?;
    match target.sweep_stale_temp_files() {
        Ok(0) => {}
        Ok(n) => eprintln!("removed {n} stale temporary file(s) from {}", dir.display()),
        Err(e) => {
            eprintln!("wirekit: cannot look for stale temporary files in {}: {e}", dir.display())
        }
    }
    remove_temp_files_on_signals().map_err(|source| Error::LocalIo {
        what: "cannot handle signals for",
        path: dir.to_path_buf(),
        source,
    })?;
    Ok(target)
}

fn run_auth(role: AuthRole) -> Result<()> {
    match role {
        AuthRole::Server(args) => {
            let key =
                session_key(&args.session)?.ok_or(Error::KeyRequired("wirekit auth server"))?;
            let plan = plan(&args.session, Side::Accepting, None);
            // The handshake is the whole exchange here, so the session opens without one.
            let listener = net::bind_tcp(&args.listen)?;
            let local = listener
                .local_addr()
                .map_err(|source| Error::Bind { addr: args.listen.clone(), source })?;
            net::announce_listening(&args.listen, local, args.session.quiet);
            let timeout = args.session.timeout;
            net::serve(&listener, serve_options(&args.serve, args.session.quiet), move |s, _| {
                if plan.profile == Profile::Secure {
                    return session::with_open(s, Some(&key), plan, timeout, |opened| {
                        auth::judge_secure(opened, console::print_line)
                    });
                }
                let session = Session::start(s, timeout)?;
                auth::judge(session, &key, plan, console::print_line)
            })
        }
        AuthRole::Client(args) => {
            let key =
                session_key(&args.session)?.ok_or(Error::KeyRequired("wirekit auth client"))?;
            let opts = &args.session;
            let plan = plan(opts, Side::Connecting, None);
            let stream = net::connect_tcp(&args.connect, net::timeout_of(opts.timeout))?;
            let line = if plan.profile == Profile::Secure {
                session::with_open(stream, Some(&key), plan, opts.timeout, |opened| {
                    auth::prove_secure(opened?)
                })?
            } else {
                auth::prove(Session::start(stream, opts.timeout)?, &key, plan)?
            };
            if !opts.quiet {
                console::print_line(line);
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn only_a_server_reachable_from_other_machines_is_warned_about() {
        let risk = "runs the commands of anyone who connects (--insecure)";
        for loopback in ["127.0.0.1:8090", "[::1]:8090", "127.0.0.2:1"] {
            assert_eq!(exposure_warning(loopback.parse().unwrap(), risk), None, "{loopback}");
        }
        for open in ["0.0.0.0:8090", "[::]:8090", "192.168.1.5:8090"] {
            let warning = exposure_warning(open.parse().unwrap(), risk).unwrap();
            assert!(warning.contains(risk) && warning.contains("warning"), "{warning}");
        }
    }
}
