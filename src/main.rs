//! The `collate` command: parses arguments and hands over to `collate::cli`.

fn main() -> std::process::ExitCode {
    collate::cli::main()
}
