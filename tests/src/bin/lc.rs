//! The `livingcircle` command line, built for the integration tests.

fn main() -> std::process::ExitCode {
    livingcircle_cli::main()
}
