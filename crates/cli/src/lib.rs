//! The `livingcircle` command line: parses arguments, configures threads and
//! logging once, and wires the stages together (osm → graph → snap → reach →
//! analysis → export). The binary's `main` only calls [`main`].

/// `println!` that returns the write error (a closed pipe ends the run quietly)
/// instead of panicking.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?
    }};
}

mod args;
mod cmd_analyze;
mod cmd_bench;
mod cmd_graph;
mod cmd_isochrones;
mod cmd_presets;
mod cmd_site;
mod load;
mod progress;
mod report;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};

/// Runs the command line and returns the process exit code: 0 on success (and on
/// a closed stdout pipe), 2 on any error, which is printed as one line on stderr.
pub fn main() -> ExitCode {
    if std::env::args_os().len() <= 1 {
        // No arguments: a short help with the most useful examples, not clap's error.
        print!("{SHORT_HELP}");
        return ExitCode::SUCCESS;
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    init_logging(&cli);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            for cause in err.chain() {
                if let Some(io) = cause.downcast_ref::<std::io::Error>()
                    && io.kind() == std::io::ErrorKind::BrokenPipe
                {
                    return ExitCode::SUCCESS;
                }
            }
            let msg = livingcircle::staging::public_paths(&format!("{err:#}"));
            eprintln!("livingcircle: error: {msg}");
            ExitCode::from(2)
        }
    }
}

const SHORT_HELP: &str = "\
livingcircle — can every resident walk to the everyday services they need within 5, 10
and 15 minutes? (Map data © OpenStreetMap contributors, ODbL 1.0)

Examples:
  livingcircle analyze
      check every residence of the bundled city against GB 50180-2018 and write
      layers and report.html to ./livingcircle-out/
  livingcircle analyze --osm city.osm.pbf --preset complete-community --isochrones --out audit
      the complete-community standard on your own extract, with 5/10/15-minute areas
  livingcircle site --osm city.osm.pbf --category kindergarten --count 5
      where five new kindergartens would bring the most people within 300 m

Commands: analyze, site, isochrones, graph, bench, presets.
`livingcircle help <command>` or `livingcircle <command> --help` lists every option with
its unit and default.
";

fn init_logging(cli: &Cli) {
    use tracing_subscriber::EnvFilter;
    let level = match (cli.global.quiet, cli.global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let threads = cli.global.threads.map_or(0, usize::from);
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        // Commands run on a worker (below): give workers a main thread's stack.
        .stack_size(8 << 20)
        .build_global()
        .map_err(|e| anyhow::anyhow!("cannot start {threads} threads: {e}"))?;
    // The command runs on a worker of the pool, so a parallel step starts on the
    // current thread at once instead of waking a sleeping worker and blocking.
    rayon::scope(|_| match cli.command {
        Command::Graph(a) => cmd_graph::run(&cli.global, &a),
        Command::Analyze(a) => cmd_analyze::run(&cli.global, &a),
        Command::Bench(a) => cmd_bench::run(&cli.global, &a),
        Command::Presets(a) => cmd_presets::run(&a),
        Command::Isochrones(a) => cmd_isochrones::run(&cli.global, &a),
        Command::Site(a) => cmd_site::run(&cli.global, &a),
    })
}
