//! The `offer-gateway` binary: parses the command line, sets up tracing and
//! hands over to the library.
//!
//! With the `sim` feature (the default) it runs the embedded simulators:
//! the demo when no `--config` is given, and the `simulate` subcommand.
//! Without it, it refuses to start without `--config`.

use std::io::{IsTerminal as _, Write as _};
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use offer_gateway::config::Config;
use offer_gateway::upstream::InstanceSpec;
use offer_gateway::{Gateway, GatewayOptions};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

/// The allocator: mimalloc (without transparent huge pages, which would
/// make resident memory grow in 2 MiB steps). JSON and GraphQL values make
/// many small, short-lived allocations across threads, where it spends
/// markedly less CPU than the system allocator (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Why a build without the `sim` feature does not start without `--config`.
#[cfg(not(feature = "sim"))]
const NO_SIMULATORS: &str = "no --config given: this build has no embedded simulators \
     (built without the `sim` feature); pass --config FILE (see examples/gateway.toml)";

/// One GraphQL API over the REST APIs that publish product offers.
///
#[cfg_attr(
    feature = "sim",
    doc = "Without arguments it starts simulators of the three upstream styles on"
)]
#[cfg_attr(
    feature = "sim",
    doc = "loopback and the gateway over them, ready to query in GraphiQL."
)]
#[cfg_attr(
    not(feature = "sim"),
    doc = "This build has no embedded simulators (built without the `sim` feature):"
)]
#[cfg_attr(not(feature = "sim"), doc = "it needs `--config FILE`.")]
#[derive(Parser, Debug)]
#[command(name = "offer-gateway", version)]
struct Cli {
    /// Address to listen on [default: 127.0.0.1:4000, or `listen` from the config file].
    #[arg(long, global = true)]
    listen: Option<SocketAddr>,

    /// A TOML file naming real upstream instances (see examples/gateway.toml).
    #[cfg_attr(
        feature = "sim",
        doc = "Without it, the gateway runs over the embedded simulators."
    )]
    #[cfg_attr(
        not(feature = "sim"),
        doc = "Required: this build has no embedded simulators."
    )]
    #[arg(long)]
    config: Option<PathBuf>,

    /// Directory of the catalog index [default: `offer-gateway-data` in the
    /// working directory, or `data_dir` from the config file].
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,

    /// Log lines as JSON instead of human-readable text.
    #[arg(long, global = true)]
    log_json: bool,

    /// An origin (`scheme://host[:port]`, or `scheme://host:*` for any port)
    /// allowed to call the gateway from a browser; repeatable. Replaces
    /// `server.cors_allowed_origins` [demo default: http://localhost:* and
    /// http://127.0.0.1:*].
    #[arg(long = "cors-origin", value_name = "ORIGIN", global = true)]
    cors_origins: Vec<String>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the GraphQL schema (SDL); `schema.graphql` is this output.
    PrintSchema,
    /// Run only the simulators and print each one's base URL and demo credentials.
    #[cfg(feature = "sim")]
    Simulate(demo::SimulateArgs),
    /// Check a configuration file without starting.
    CheckConfig {
        /// The file to check.
        file: PathBuf,
    },
    /// Print the SHA-256 hash of a client API key read from standard input,
    /// for `server.client_key_hashes`.
    HashKey,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::PrintSchema) => {
            print!("{}", offer_gateway::sdl());
            Ok(())
        }
        Some(Command::HashKey) => {
            let mut key = String::new();
            std::io::stdin().read_line(&mut key)?;
            let key = key.trim_end_matches(['\n', '\r']);
            anyhow::ensure!(!key.is_empty(), "give the key on standard input");
            println!("{}", offer_gateway::hash_key(key));
            Ok(())
        }
        Some(Command::CheckConfig { file }) => {
            let config = Config::load(&file)?;
            println!(
                "{}: ok ({} upstream instance{})",
                file.display(),
                config.instances.len(),
                if config.instances.len() == 1 { "" } else { "s" }
            );
            Ok(())
        }
        #[cfg(feature = "sim")]
        Some(Command::Simulate(args)) => {
            let _flushed_at_exit = init_tracing(cli.log_json);
            demo::simulate(args).await
        }
        None => {
            let _flushed_at_exit = init_tracing(cli.log_json);
            run(cli.listen, cli.config, cli.data_dir, cli.cors_origins).await
        }
    }
}

/// Logs to standard output through a writer thread: a request formats its
/// lines and queues them, and the thread writes whatever is queued in one
/// write, so that the access log costs a request no system call. Nothing
/// is dropped: a full queue (1,024 lines, allocated up front) makes
/// loggers wait. The guard flushes the queue when dropped, at exit.
fn init_tracing(json: bool) -> tracing_appender::non_blocking::WorkerGuard {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("offer_gateway=info,tower_http=info"));
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .buffered_lines_limit(1024)
        .thread_name("offer-gateway-log")
        .finish(std::io::BufWriter::with_capacity(
            64 * 1024,
            std::io::stdout(),
        ));
    // Colours only on a terminal: never escape codes in a log file.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stdout().is_terminal())
        .with_writer(writer);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
    guard
}

async fn run(
    listen: Option<SocketAddr>,
    config: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    cors_origins: Vec<String>,
) -> anyhow::Result<()> {
    // Without a file: the embedded demo.
    #[cfg(feature = "sim")]
    let demo = config.is_none();
    let mut config = match &config {
        Some(path) => Config::load(path)?,
        #[cfg(feature = "sim")]
        None => Config::demo()?,
        #[cfg(not(feature = "sim"))]
        None => anyhow::bail!(NO_SIMULATORS),
    };
    if let Some(dir) = data_dir {
        config.options.data_dir = Some(dir);
    }
    if !cors_origins.is_empty() {
        config.options.server.cors_allowed_origins = cors_origins;
        config
            .options
            .server
            .validate()
            .map_err(|err| anyhow::anyhow!("--cors-origin: {err}"))?;
    }
    let listen = listen.unwrap_or(config.listen);
    #[cfg(feature = "sim")]
    if demo {
        return demo::run(listen, config.options).await;
    }
    serve(listen, config.instances, config.options).await
}

/// Builds the gateway over `instances` and serves it on `addr` until
/// ctrl-c or SIGTERM.
async fn serve(
    addr: SocketAddr,
    instances: Vec<InstanceSpec>,
    options: GatewayOptions,
) -> anyhow::Result<()> {
    let grace = options.server.shutdown_grace;
    let origins = options.server.cors_allowed_origins.clone();
    let gateway = Gateway::build(instances, options).await?;
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    let local = listener.local_addr()?;
    // Standard output may be closed by whoever started the process (a
    // test reads up to the listening line): a failed write stops nothing.
    let mut out = std::io::stdout();
    let _ = match origins.is_empty() {
        true => writeln!(
            out,
            "CORS: no browser origin allowed (--cors-origin ORIGIN to allow one)"
        ),
        false => writeln!(
            out,
            "CORS: browser apps at {} may call it (--cors-origin ORIGIN to change)",
            origins.join(", ")
        ),
    };
    // The last line at start: the address, once the listener is bound.
    let _ = writeln!(
        out,
        "offer-gateway listening: GraphiQL at http://{local}/graphql"
    );
    let _ = out.flush();
    offer_gateway::serve_with_grace(
        listener,
        gateway.router(),
        offer_gateway::shutdown_signal(),
        grace,
    )
    .await?;
    Ok(())
}

/// The demo and the `simulate` subcommand: the embedded simulators.
#[cfg(feature = "sim")]
mod demo {
    use std::net::SocketAddr;
    use std::time::Duration;

    use anyhow::Context as _;
    use offer_gateway::sim::fault::FaultSpec;
    use offer_gateway::sim::{SimOptions, Simulators};
    use offer_gateway::upstream::{closient, medusa, violet, Credentials};
    use offer_gateway::GatewayOptions;

    /// The options of `simulate`.
    #[derive(clap::Args, Debug)]
    pub(crate) struct SimulateArgs {
        /// Latency added to every simulator answer, e.g. `20ms`.
        #[arg(long, value_parser = humantime::parse_duration, default_value = "0ms")]
        latency: Duration,
        /// Inject a fault: `UPSTREAM[@ENDPOINT]:FAULT[*N]`, e.g. `violet:hang`,
        /// `closient:status=503*2`, `medusa@GET /admin/offers:reset`. Faults:
        /// latency=DURATION, hang, status=CODE, rate-limited=SECONDS, malformed-json,
        /// truncated-body, wrong-content-type, reset, random-bytes=SEED. Repeatable.
        #[arg(long = "fault", value_name = "SPEC")]
        faults: Vec<FaultSpec>,
        /// Expire every Violet token and Medusa session this often, e.g. `30s`.
        #[arg(long, value_parser = humantime::parse_duration)]
        expire_tokens_every: Option<Duration>,
        /// Do not enforce Closient's per-key rate limits.
        #[arg(long)]
        no_rate_limits: bool,
        /// Drift mode: send the unusual values the seed documents allow (unknown enum
        /// values, nulls, signed and odd amounts, huge counts, missing optional fields)
        /// for a deterministic subset of the catalog, and one unreadable offer in every
        /// twenty of each listing.
        #[arg(long)]
        drift: bool,
    }

    /// The demo: the gateway over the embedded simulators.
    pub(crate) async fn run(addr: SocketAddr, options: GatewayOptions) -> anyhow::Result<()> {
        let sims = Simulators::start_demo()
            .await
            .context("starting the embedded simulators")?;
        tracing::info!(
            closient = %sims.closient.base_url,
            medusa = %sims.medusa.base_url,
            violet = %sims.violet.base_url,
            "embedded simulators running"
        );
        // The demo's options (`Config::demo`, no `[rates]`: the Violet
        // simulator's), over the simulators. The simulators must outlive
        // the server: they are its upstreams.
        super::serve(addr, sims.instance_specs(), options).await
    }

    /// Runs only the simulators until ctrl-c, as `args` asks.
    pub(crate) async fn simulate(args: SimulateArgs) -> anyhow::Result<()> {
        let SimulateArgs {
            latency,
            faults,
            expire_tokens_every,
            no_rate_limits,
            drift,
        } = args;
        let options = SimOptions { drift };
        let seed = offer_gateway::sim::catalog::DEMO_SEED;
        let sims = std::sync::Arc::new(Simulators::start_with(seed, options).await?);
        if options.drift {
            println!("drift mode: unusual values the seeds allow, and some unreadable offers");
        }
        sims.set_latency(latency);
        if no_rate_limits {
            sims.closient_data.set_minute_limit(None);
            sims.closient_data.set_day_limit(None);
        }
        for fault in &faults {
            sims.inject(fault);
            println!(
                "fault: {} {} {}{}",
                fault.upstream,
                fault.endpoint.as_deref().unwrap_or("(every endpoint)"),
                fault.fault,
                fault
                    .first_n
                    .map(|n| format!(" for {n} calls"))
                    .unwrap_or_default()
            );
        }
        if let Some(every) = expire_tokens_every.filter(|d| !d.is_zero()) {
            let sims = sims.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    sims.expire_tokens();
                }
            });
        }
        for spec in &sims.instance_specs() {
            println!(
                "{:<9} {}  ({})",
                spec.name,
                spec.base_url,
                describe(&spec.credentials)
            );
        }
        println!("press ctrl-c to stop");
        offer_gateway::shutdown_signal().await;
        Ok(())
    }

    /// The simulators' demo credentials are public test values, printed so that
    /// any HTTP client can be pointed at the simulators.
    fn describe(credentials: &Credentials) -> String {
        match credentials {
            Credentials::Closient(closient::Credentials { api_key }) => {
                format!("X-API-Key: {}", api_key.expose())
            }
            Credentials::Medusa(medusa::Credentials::Token(token)) => {
                format!("Authorization: Bearer {}", token.expose())
            }
            Credentials::Medusa(medusa::Credentials::EmailPassword { email, password }) => {
                format!(
                    "POST /auth/user/emailpass {{\"email\":\"{email}\",\"password\":\"{}\"}}",
                    password.expose()
                )
            }
            Credentials::Violet(violet::Credentials {
                app_id,
                app_secret,
                username,
                password,
            }) => format!(
                "X-Violet-App-Id: {app_id}, X-Violet-App-Secret: {}, \
                 POST /v1/login {{\"username\":\"{username}\",\"password\":\"{}\"}}",
                app_secret.expose(),
                password.expose()
            ),
        }
    }
}
