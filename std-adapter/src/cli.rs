//! The `wirekit` command line (clap derive). Every subcommand and option explains itself in
//! `--help`; the exit codes are listed after the top-level help.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use wirekit_core::datagram::ReplyRate;

use crate::args::{parse_address, parse_memory_size, parse_seconds, parse_size};
use crate::encoding::TextEncoding;
use crate::exit::EXIT_CODES_HELP;

/// Seed default: TCP basics and remote commands.
pub const DEFAULT_TCP_ADDR: &str = "127.0.0.1:8090";
/// Seed default: UDP basics.
pub const DEFAULT_UDP_ADDR: &str = "127.0.0.1:8096";
/// Seed default: file transfer.
pub const DEFAULT_FILE_ADDR: &str = "127.0.0.1:8080";
/// Seed default: authentication.
pub const DEFAULT_AUTH_ADDR: &str = "127.0.0.1:8066";

const ABOUT: &str = "Talk the classic Python socket-tutorial protocols (and CPython's \
multiprocessing.connection) to a device, another wirekit, or a Python peer.";

const LONG_ABOUT: &str = "\
Talk the classic Python socket-tutorial protocols (and CPython's multiprocessing.connection)
to a device, another wirekit, or a Python peer.

Every demo has two roles: run one in each terminal. Servers listen on 127.0.0.1 with the
seed's ports (TCP 8090, UDP 8096, file 8080, auth 8066) unless --listen says otherwise;
`--listen 127.0.0.1:0` picks a free port and prints it. New here? Run `wirekit demo`.

--profile seed and mp authenticate only the start of a connection; --profile secure puts the
whole exchange in a Noise channel (encrypted, authenticated, receipts). Use secure whenever
both ends are wirekit: `wirekit keygen` makes a key for both.";

/// `wirekit`: the PC side of the wirekit demos.
#[derive(Debug, Parser)]
#[command(
    name = "wirekit",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = EXIT_CODES_HELP,
    propagate_version = true,
    subcommand_required = true,
    arg_required_else_help = true
)]
pub struct Cli {
    /// More detail on stderr: each connection, handshake and saved file as it happens; -vv
    /// also every cause behind an error.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Seed TCP basics: raw, unframed text both ways (the example that shows sticky packets).
    Tcp {
        /// Which side to play.
        #[command(subcommand)]
        role: TcpRole,
    },
    /// Seed UDP basics: one datagram per message; the server answers each sender.
    Udp {
        /// Which side to play.
        #[command(subcommand)]
        role: UdpRole,
    },
    /// Remote commands: the controller sends commands, the agent runs them and replies
    /// (demo2 framing by default, demo1 with --raw).
    Exec {
        /// Which side to play.
        #[command(subcommand)]
        role: ExecRole,
    },
    /// File transfer (demo3): a JSON header, then the file's bytes.
    File {
        /// Which side to play.
        #[command(subcommand)]
        role: FileRole,
    },
    /// Authenticate a peer with a shared key (demo4, or the mutual mp handshake), then
    /// report the outcome.
    Auth {
        /// Which side to play.
        #[command(subcommand)]
        role: AuthRole,
    },
    /// Write a new 32-byte random key file (mode 0600) for --key-file.
    Keygen(KeygenArgs),
    /// Run every demo against itself on 127.0.0.1 and print what each side saw.
    Demo(DemoArgs),
}

/// Which wire dialect to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Profile {
    /// The socket tutorial: `struct.pack('i', n)` prefixes, demo4's one-way HMAC-MD5 check.
    #[default]
    Seed,
    /// CPython multiprocessing.connection: `!i` prefixes, mutual handshake with a verdict.
    Mp,
    /// Every byte inside a Noise channel (NNpsk0, ChaCha20-Poly1305): nothing can be read,
    /// changed, cut short or relayed to another exchange. Both ends need the same key of at
    /// least 16 bytes (`wirekit keygen`). Use it whenever both ends are wirekit.
    Secure,
}

/// The challenge a `--profile mp` side sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum MpDigest {
    /// Python ≤ 3.11: 20 random bytes, answered with a bare HMAC-MD5.
    #[default]
    Legacy,
    /// Python ≥ 3.12: `{sha256}` + 40 random bytes, answered with `{sha256}` + HMAC-SHA256.
    Sha256,
}

/// The shared key; any of these turns on the handshake.
#[derive(Debug, Clone, Default, Args)]
pub struct KeyArgs {
    /// Shared key as text (the seed's example is `egg`). Beats --key-file and WIREKIT_KEY.
    /// Other users can see it in the process list: prefer --key-file or WIREKIT_KEY.
    ///
    /// `tcp`, `file` and `exec` never use it on the wire: each role proves itself with
    /// HMAC-SHA256(key, "wirekit/1 role-key " + role), both sides verify each other, and no
    /// traffic flows before that. `auth`, and `tcp --profile mp`, use it as it is (for the
    /// seed's Python peers and CPython's authkey). Under `--profile secure` every exchange
    /// derives the Noise PSK from it (HKDF-SHA256); it must be at least 16 bytes.
    #[arg(long, value_name = "TEXT", conflicts_with = "key_file")]
    pub key: Option<String>,
    /// Read the shared key from a file (see `wirekit keygen`). Beats WIREKIT_KEY.
    #[arg(long, value_name = "PATH")]
    pub key_file: Option<PathBuf>,
}

/// Options every connection-oriented role shares.
#[derive(Debug, Clone, Args)]
pub struct SessionArgs {
    /// Wire dialect: `seed` (the tutorial), `mp` (CPython multiprocessing.connection) or
    /// `secure` (everything encrypted and authenticated; needs a 16+ byte key on both ends).
    #[arg(long, value_enum, default_value_t = Profile::Seed)]
    pub profile: Profile,
    /// The shared key (environment: WIREKIT_KEY).
    #[command(flatten)]
    pub key: KeyArgs,
    /// With --profile mp: the challenge we send. `legacy` talks to Python 3.11 and older,
    /// `sha256` is Python 3.12's default; both kinds of answer are accepted either way.
    #[arg(long, value_enum, default_value_t = MpDigest::Legacy)]
    pub mp_digest: MpDigest,
    /// With --profile mp: refuse HMAC-MD5 both ways. MD5 answers (bare 16 bytes or `{md5}`)
    /// are rejected, MD5 challenges are not answered, and our challenge is `{sha256}` whatever
    /// --mp-digest says. Python 3.12+ peers work; Python 3.11 and older (MD5 only) cannot.
    #[arg(long)]
    pub mp_require_sha256: bool,
    /// Give up when the peer sends nothing for SECS seconds (0 = wait forever; fractions and
    /// units allowed: 1.5, 500ms, 2m).
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = parse_seconds)]
    pub timeout: Duration,
    /// Print only the data and errors, no status lines or summaries.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Options of every server.
#[derive(Debug, Clone, Copy, Args)]
pub struct ServeArgs {
    /// Serve one connection, then exit with its status.
    #[arg(long)]
    pub once: bool,
    /// Serve at most N connections at the same time; more wait in the backlog.
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
}

/// `wirekit tcp` roles.
#[derive(Debug, Subcommand)]
pub enum TcpRole {
    /// Listen; print what each client sends and answer each message with the next --reply.
    Server(TcpServerArgs),
    /// Connect; send each MESSAGE, print each reply.
    Client(TcpClientArgs),
}

/// `wirekit tcp server`.
#[derive(Debug, Args)]
#[command(after_help = "The seed's server answers `hi`, then `吃了`. After the last reply it \
repeats the last one until the client closes. With --profile mp every message is one \
multiprocessing.connection frame (send_bytes/recv_bytes) instead of raw bytes. With --profile \
secure the raw text travels inside the Noise channel, and the server's close_notify follows \
the client's.")]
pub struct TcpServerArgs {
    /// Address to listen on (port 0 picks a free port and prints it).
    #[arg(long, value_name = "ADDR", value_parser = parse_address, default_value = DEFAULT_TCP_ADDR)]
    pub listen: String,
    /// Replies, in order (repeat the option for several).
    #[arg(long = "reply", value_name = "TEXT", default_values_t = ["hi".to_string(), "吃了".to_string()])]
    pub replies: Vec<String>,
    /// Session options.
    #[command(flatten)]
    pub session: SessionArgs,
    /// Server options.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// `wirekit tcp client`.
#[derive(Debug, Args)]
pub struct TcpClientArgs {
    /// Server address.
    #[arg(long, value_name = "ADDR", value_parser = parse_address, default_value = DEFAULT_TCP_ADDR)]
    pub connect: String,
    /// Messages to send, one reply awaited after each.
    #[arg(value_name = "MESSAGE", default_values_t = ["hello".to_string(), "吃了吗?".to_string()])]
    pub messages: Vec<String>,
    /// Session options.
    #[command(flatten)]
    pub session: SessionArgs,
}

/// `wirekit udp` roles.
#[derive(Debug, Subcommand)]
pub enum UdpRole {
    /// Receive datagrams; print each and answer its sender with --reply.
    Server(UdpServerArgs),
    /// Send each MESSAGE as one datagram and print the reply.
    Client(UdpClientArgs),
}

/// `wirekit udp server`.
#[derive(Debug, Args)]
#[command(after_help = "Never answered (no reply loops): datagrams from the server's own \
address, datagrams that are exactly the server's reply (another server's answer), and a source \
beyond --max-rate.")]
pub struct UdpServerArgs {
    /// Address to listen on (port 0 picks a free port and prints it).
    #[arg(long, value_name = "ADDR", value_parser = parse_address, default_value = DEFAULT_UDP_ADDR)]
    pub listen: String,
    /// The reply to every datagram.
    #[arg(long, value_name = "TEXT", default_value = "bye")]
    pub reply: String,
    /// Answer at most N datagrams per second (and N at once) per source address, so that a
    /// spoofed datagram cannot start an endless reply loop with another server; 0 = no limit.
    #[arg(long, value_name = "N", default_value_t = ReplyRate::DEFAULT.per_second)]
    pub max_rate: u32,
    /// Answer one datagram, then exit.
    #[arg(long)]
    pub once: bool,
    /// Print only the data and errors.
    #[arg(short, long)]
    pub quiet: bool,
}

/// `wirekit udp client`.
#[derive(Debug, Args)]
#[command(after_help = "A message must fit one datagram: at most 65,507 bytes over IPv4 \
(65,527 over IPv6). Longer messages are refused, never truncated.")]
pub struct UdpClientArgs {
    /// Server address.
    #[arg(long, value_name = "ADDR", value_parser = parse_address, default_value = DEFAULT_UDP_ADDR)]
    pub connect: String,
    /// Messages, one datagram each.
    #[arg(value_name = "MESSAGE", default_values_t = ["hello".to_string()])]
    pub messages: Vec<String>,
    /// Give up waiting for a reply after SECS seconds (0 = wait forever; 1.5, 500ms allowed).
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = parse_seconds)]
    pub timeout: Duration,
    /// Print only the data and errors.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Options shared by both exec roles.
#[derive(Debug, Clone, Args)]
pub struct ExecWireArgs {
    /// demo1: unframed replies (shows sticky packets). Default: demo2's length prefix.
    #[arg(long)]
    pub raw: bool,
    /// Encoding of command text and output on the wire (the seed's Windows peers use gbk).
    #[arg(long, value_enum, default_value_t = TextEncoding::Utf8)]
    pub encoding: TextEncoding,
}

/// `wirekit exec` roles.
#[derive(Debug, Subcommand)]
pub enum ExecRole {
    /// Send commands (from -c, else stdin lines) and print the output. Listens for an agent by
    /// default; --connect reaches an agent that listens (a device).
    Controller(ExecControllerArgs),
    /// Run the commands a controller sends and reply with their output. Connects to the
    /// controller by default; --listen waits for one.
    Agent(ExecAgentArgs),
}

/// The agent's default `--command-timeout`.
pub const DEFAULT_COMMAND_TIMEOUT: &str = "60";
/// The controller's default `--reply-timeout`: [`DEFAULT_COMMAND_TIMEOUT`] and 5 s for the
/// killed command's reply to arrive (a test holds the two in step).
pub const DEFAULT_REPLY_TIMEOUT: &str = "65";

/// `wirekit exec controller`.
#[derive(Debug, Args)]
#[command(after_help = "Send `q` to end the session (as the seed does). Commands typed on \
stdin go to one agent: the controller serves the first agent that connects, closes any other \
at once, and exits after `q` or the end of input; with -c it serves every agent that connects. \
With --raw (demo1) \
a reply has no length: each command's output is one read of at most 500 bytes, like the \
seed's recv(500), so a longer reply spills into the next command's output, and a command that \
prints nothing leaves the controller waiting until --reply-timeout.

Commands under --profile seed have no length either: the agent runs each piece the network \
delivers as one command, so a command split in two segments runs as two, and two that arrive \
together run as one (the seed's wire; keep commands short and wait for each reply). Under \
--profile mp every command is one frame (at most 1024 bytes) and runs whole; under --profile \
secure every command is one seed frame inside the Noise channel, `q` included, and the \
controller exits 0 only after the agent's close_notify.")]
pub struct ExecControllerArgs {
    /// Listen or connect (default: listen on 127.0.0.1:8090).
    #[command(flatten)]
    pub endpoint: EndpointArgs,
    /// Wait up to SECS for each command's reply (0 = forever). The default is the agent's
    /// default --command-timeout (60 s) and 5 s for the reply's way back, so a long command
    /// ends with the agent's "killed" reply rather than the session; --timeout bounds every
    /// other read.
    #[arg(long, value_name = "SECS", default_value = DEFAULT_REPLY_TIMEOUT, value_parser = parse_seconds)]
    pub reply_timeout: Duration,
    /// A command to send (repeat for several); without -c, commands are read from stdin.
    #[arg(short = 'c', long = "command", value_name = "CMD")]
    pub commands: Vec<String>,
    /// Wire options.
    #[command(flatten)]
    pub wire: ExecWireArgs,
    /// Session options.
    #[command(flatten)]
    pub session: SessionArgs,
    /// Server options.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// `wirekit exec agent`.
#[derive(Debug, Args)]
#[command(after_help = "This runs commands from the network. Without a key it refuses to \
start unless --insecure is given; with a key it verifies the controller (with the controller's \
role key, see --key) before running anything, whichever side listens.

Under --profile seed each received segment is one command (the seed's wire: the network can \
split or merge commands); under --profile mp each command is one frame and runs whole. Under \
--profile secure each command is one seed frame inside the Noise channel and nothing runs \
before the controller's first record decrypted; an altered record ends the session.

Commands run without WIREKIT_KEY (or any variable holding the key) in their environment. A \
command's processes, setsid or double-forked ones included, end when it ends, times out, or \
the agent is stopped (SIGINT/SIGTERM/SIGHUP). With --insecure --listen on an address other \
machines reach, the agent warns at start.")]
pub struct ExecAgentArgs {
    /// Listen or connect (default: connect to 127.0.0.1:8090).
    #[command(flatten)]
    pub endpoint: EndpointArgs,
    /// Accept commands without authenticating the controller (the seed's controller has no key).
    #[arg(long)]
    pub insecure: bool,
    /// Kill a command that runs longer than SECS seconds (and reply with what it printed).
    /// The controller's --reply-timeout default waits longer than this default.
    #[arg(long, value_name = "SECS", default_value = DEFAULT_COMMAND_TIMEOUT, value_parser = parse_seconds)]
    pub command_timeout: Duration,
    /// Keep at most BYTES of each command's stdout and of its stderr; the rest is cut with a notice.
    #[arg(long, value_name = "BYTES", value_parser = parse_memory_size, default_value = "1M")]
    pub max_output: usize,
    /// Wire options.
    #[command(flatten)]
    pub wire: ExecWireArgs,
    /// Session options.
    #[command(flatten)]
    pub session: SessionArgs,
    /// Server options (with --listen).
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// Where a role that may take either end connects or listens (file and exec roles). A flag
/// without ADDR means the subcommand's seed default address.
#[derive(Debug, Clone, Args)]
pub struct EndpointArgs {
    /// Listen on ADDR (HOST:PORT, :PORT or PORT) and talk to the peer that connects.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, require_equals = true,
          value_parser = parse_address, conflicts_with = "connect")]
    pub listen: Option<Option<String>>,
    /// Connect to ADDR (e.g. a device that listens).
    #[arg(long, value_name = "ADDR", num_args = 0..=1, require_equals = true,
          value_parser = parse_address)]
    pub connect: Option<Option<String>>,
}

impl EndpointArgs {
    /// Whether we listen, and the address: `default_addr` when no ADDR was given, and
    /// `listens_by_default` decides when neither flag was.
    pub fn pick(&self, listens_by_default: bool, default_addr: &str) -> (bool, String) {
        let addr =
            |given: &Option<String>| given.clone().unwrap_or_else(|| default_addr.to_owned());
        match (&self.listen, &self.connect) {
            (Some(given), _) => (true, addr(given)),
            (None, Some(given)) => (false, addr(given)),
            (None, None) => (listens_by_default, default_addr.to_owned()),
        }
    }
}

/// `wirekit file` roles.
#[derive(Debug, Subcommand)]
pub enum FileRole {
    /// Send PATH: header (name, directory, size) then its bytes. Listens by default, like the
    /// seed's server.
    Send(FileSendArgs),
    /// Receive one file into --dir. Connects by default.
    Recv(FileRecvArgs),
}

/// `wirekit file send`.
#[derive(Debug, Args)]
pub struct FileSendArgs {
    /// The file to send.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// Send it under NAME instead of its own file name (which must pass the receiver's
    /// --names portable rule: see `wirekit file recv --help`).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Put the file's absolute directory in the header's `filepath`, as the seed's sender
    /// did (default: empty; receivers never use it, and it tells them where your files are).
    #[arg(long)]
    pub header_dir: bool,
    /// Listen or connect (default: listen on 127.0.0.1:8080).
    #[command(flatten)]
    pub endpoint: EndpointArgs,
    /// Session options.
    #[command(flatten)]
    pub session: SessionArgs,
    /// Server options (when listening).
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// `wirekit file recv`.
#[derive(Debug, Args)]
#[command(after_help = "Only a plain file name is accepted: empty names, `.`/`..`, paths, \
drive letters, hidden (leading-dot) names, control characters, bidi controls, trailing dots \
or spaces, Windows device names and names over 255 bytes are refused. --names portable (the \
default) also refuses `:` (NTFS streams) and `<>|?*\"`, every Windows device name (COM0-9, \
LPT0-9, COM¹²³, CONIN$, CONOUT$, CLOCK$, any case, any extension), a leading `-`, invisible \
or line-breaking characters (U+061C, U+200B-U+200D except between emoji, U+2060, U+FEFF, \
U+2028/9) and names not in Unicode NFC. The body goes to a temporary file (mode 0600) that \
is fsynced, given the replaced file's mode (or 0666 less the umask) and renamed into place \
only when complete, and the directory is fsynced before `saved` is printed; a clean close \
(under --profile secure: the close_notify, after the sender's) tells the sender it was saved, \
every refusal resets the connection; under --profile secure a stream cut before the sender's \
close_notify saves nothing. --dir is opened once; \
temporary files are removed on SIGINT/SIGTERM, and ones a killed receiver left are removed \
at start-up. SIZE takes K, M, G, T (powers of 1024).")]
pub struct FileRecvArgs {
    /// Listen or connect (default: connect to 127.0.0.1:8080).
    #[command(flatten)]
    pub endpoint: EndpointArgs,
    /// Directory to write into.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// Refuse files larger than SIZE.
    #[arg(long, value_name = "SIZE", default_value = "4G", value_parser = parse_size)]
    pub max_size: u64,
    /// Refuse a file that would leave less than SIZE free in --dir, counting uploads in
    /// progress (default: 5 % of the file system, at most 2G).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub min_free: Option<u64>,
    /// Which file names are accepted: `portable` (safe on Windows, macOS and in a shell) or
    /// `permissive` (the older rule: safe on Linux only).
    #[arg(long, value_enum, default_value_t = NameRule::Portable)]
    pub names: NameRule,
    /// Refuse a file whose name exists in --dir (default: replace it atomically, keeping its
    /// permission bits, as the seed's receiver replaces it).
    #[arg(long)]
    pub no_clobber: bool,
    /// The handshake and the file header together must arrive within SECS of the connection
    /// being accepted (0: only --timeout per read). A whole-phase bound: a peer trickling a
    /// byte per read timeout cannot hold a connection slot.
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = parse_seconds)]
    pub header_deadline: Duration,
    /// The body must arrive at SIZE bytes per second or faster, averaged over each 10 s
    /// (0: no floor).
    #[arg(long, value_name = "SIZE", default_value = "1K", value_parser = parse_size)]
    pub min_rate: u64,
    /// With --listen: serve at most N connections from one IP address at a time; more are
    /// reset at once (0: no limit). Devices of a fleet come from distinct addresses.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub max_per_source: u32,
    /// Session options.
    #[command(flatten)]
    pub session: SessionArgs,
    /// Server options (when listening).
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// `file recv --names`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NameRule {
    /// Safe on Linux, Windows and macOS and in a shell.
    Portable,
    /// The older rule: safe to write on Linux, nothing more.
    Permissive,
}

/// `wirekit auth` roles.
#[derive(Debug, Subcommand)]
pub enum AuthRole {
    /// Listen; challenge each client and print `legit client` or `illegitimate client`.
    Server(AuthServerArgs),
    /// Connect and prove knowledge of the key.
    Client(AuthClientArgs),
}

/// `wirekit auth server`.
#[derive(Debug, Args)]
pub struct AuthServerArgs {
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", value_parser = parse_address, default_value = DEFAULT_AUTH_ADDR)]
    pub listen: String,
    /// Session options (a key is required).
    #[command(flatten)]
    pub session: SessionArgs,
    /// Server options.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// `wirekit auth client`.
#[derive(Debug, Args)]
pub struct AuthClientArgs {
    /// Server address.
    #[arg(long, value_name = "ADDR", value_parser = parse_address, default_value = DEFAULT_AUTH_ADDR)]
    pub connect: String,
    /// Session options (a key is required).
    #[command(flatten)]
    pub session: SessionArgs,
}

/// `wirekit keygen`.
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Where to write the key (created 0600); `-` writes it to standard output (not a
    /// terminal; `./-` is a file named `-`).
    #[arg(value_name = "PATH", default_value = "wirekit.key")]
    pub path: PathBuf,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

/// `wirekit demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Print only the pass/fail summary.
    #[arg(short, long)]
    pub quiet: bool,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        let argv = std::iter::once("wirekit").chain(args.iter().copied()).map(Into::into);
        Cli::try_parse_from(crate::args::join_address_values(argv))
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn tcp_defaults_are_the_seeds() {
        let Command::Tcp { role: TcpRole::Server(s) } = parse(&["tcp", "server"]).unwrap().command
        else {
            panic!("not tcp server")
        };
        assert_eq!(s.listen, "127.0.0.1:8090");
        assert_eq!(s.replies, ["hi", "吃了"]);
        assert_eq!(s.session.timeout, Duration::from_secs(30));
        assert_eq!(s.serve.max_connections, 64);
        assert_eq!(s.session.profile, Profile::Seed);
        let Command::Tcp { role: TcpRole::Client(c) } =
            parse(&["tcp", "client", "--connect", "h:1", "a", "b", "c"]).unwrap().command
        else {
            panic!("not tcp client")
        };
        assert_eq!((c.connect.as_str(), c.messages.len()), ("h:1", 3));
    }

    #[test]
    fn ports_per_demo() {
        let Command::Udp { role: UdpRole::Server(u) } = parse(&["udp", "server"]).unwrap().command
        else {
            panic!()
        };
        assert_eq!((u.listen.as_str(), u.reply.as_str()), ("127.0.0.1:8096", "bye"));
        let Command::Auth { role: AuthRole::Client(a) } =
            parse(&["auth", "client"]).unwrap().command
        else {
            panic!()
        };
        assert_eq!(a.connect, "127.0.0.1:8066");
        let Command::File { role: FileRole::Recv(r) } =
            parse(&["file", "recv", "--listen"]).unwrap().command
        else {
            panic!()
        };
        assert_eq!(r.endpoint.pick(false, DEFAULT_FILE_ADDR), (true, "127.0.0.1:8080".into()));
        let Command::Exec { role: ExecRole::Controller(c) } =
            parse(&["exec", "controller", "--connect", "10.0.2.15:8090"]).unwrap().command
        else {
            panic!()
        };
        assert_eq!(c.endpoint.pick(true, DEFAULT_TCP_ADDR), (false, "10.0.2.15:8090".into()));
        let Command::Exec { role: ExecRole::Agent(a) } =
            parse(&["exec", "agent", "--insecure"]).unwrap().command
        else {
            panic!()
        };
        assert_eq!(a.endpoint.pick(false, DEFAULT_TCP_ADDR), (false, DEFAULT_TCP_ADDR.into()));
    }

    /// Issue 12.12: by default the controller waits for a reply longer than the agent lets a
    /// command run, so a long command ends with the agent's "killed" reply, not the session.
    #[test]
    fn exec_defaults_agree() {
        let Command::Exec { role: ExecRole::Controller(c) } =
            parse(&["exec", "controller"]).unwrap().command
        else {
            panic!()
        };
        let Command::Exec { role: ExecRole::Agent(a) } =
            parse(&["exec", "agent", "--insecure"]).unwrap().command
        else {
            panic!()
        };
        assert!(
            c.reply_timeout > a.command_timeout,
            "{:?} vs {:?}",
            c.reply_timeout,
            a.command_timeout
        );
        assert!(c.reply_timeout - a.command_timeout >= Duration::from_secs(5));
    }

    /// Issue 12.9: `--connect`/`--listen` never swallow the next argument, and take what
    /// socat/nc users type.
    #[test]
    fn an_optional_address_never_swallows_the_path() {
        let Command::File { role: FileRole::Send(f) } =
            parse(&["file", "send", "--connect", "big.bin"]).unwrap().command
        else {
            panic!()
        };
        assert_eq!(f.path, PathBuf::from("big.bin"));
        assert_eq!(f.endpoint.pick(true, DEFAULT_FILE_ADDR), (false, DEFAULT_FILE_ADDR.into()));
        let Command::File { role: FileRole::Send(f) } =
            parse(&["file", "send", "--listen", ":18080", "big.bin"]).unwrap().command
        else {
            panic!()
        };
        assert_eq!(f.endpoint.pick(false, DEFAULT_FILE_ADDR), (true, "127.0.0.1:18080".into()));
        let Command::Exec { role: ExecRole::Agent(a) } =
            parse(&["exec", "agent", "--listen", "18090", "--key", "egg"]).unwrap().command
        else {
            panic!()
        };
        assert_eq!(a.endpoint.pick(false, DEFAULT_TCP_ADDR), (true, "127.0.0.1:18090".into()));
        let Command::Tcp { role: TcpRole::Server(t) } =
            parse(&["tcp", "server", "--listen", "18090"]).unwrap().command
        else {
            panic!()
        };
        assert_eq!(t.listen, "127.0.0.1:18090");
        let Command::File { role: FileRole::Recv(r) } =
            parse(&["file", "recv", "--connect", "--key", "egg", "--max-size", "10M"])
                .unwrap()
                .command
        else {
            panic!()
        };
        assert_eq!(r.endpoint.pick(false, DEFAULT_FILE_ADDR), (false, DEFAULT_FILE_ADDR.into()));
        assert_eq!(r.max_size, 10 << 20);
        assert!(parse(&["tcp", "client", "--connect", "nowhere"]).is_err());
    }

    #[test]
    fn key_and_key_file_conflict() {
        let err = parse(&["auth", "server", "--key", "a", "--key-file", "b"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
    }

    #[test]
    fn zero_max_connections_is_refused() {
        assert!(parse(&["tcp", "server", "--max-connections", "0"]).is_err());
    }

    #[test]
    fn encoding_accepts_gbk_and_utf8() {
        for (text, enc) in [("gbk", TextEncoding::Gbk), ("utf-8", TextEncoding::Utf8)] {
            let Command::Exec { role: ExecRole::Agent(a) } =
                parse(&["exec", "agent", "--encoding", text]).unwrap().command
            else {
                panic!()
            };
            assert_eq!(a.wire.encoding, enc);
        }
    }

    #[test]
    fn top_level_help_lists_exit_codes() {
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("Exit codes:") && help.contains("5  authentication failed"));
        for sub in ["tcp", "udp", "exec", "file", "auth", "keygen", "demo"] {
            assert!(help.contains(sub), "{sub}");
        }
    }
}
