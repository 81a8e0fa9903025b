//! The `livingcircle` binary.

fn main() -> std::process::ExitCode {
    livingcircle_cli::main()
}
