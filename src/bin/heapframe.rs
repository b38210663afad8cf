//! The `heapframe` command: a thin shell over the library.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use heapframe::Profile;
use heapframe::report::{self, BaseMode, Granularity, TopOptions};

#[derive(Parser)]
#[command(
    name = "heapframe",
    version,
    about = "Go memory-leak investigations from pprof heap snapshots"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the top table of a profile, as `go tool pprof -top` does.
    Top(TopArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// pprof's text, byte for byte.
    Text,
    /// The table as CSV.
    Csv,
    /// The table as a JSON array of rows.
    Json,
    /// The table as Parquet (needs --output).
    Parquet,
}

#[derive(Clone, Copy, ValueEnum)]
enum GranularityArg {
    Functions,
    Filefunctions,
    Files,
    Lines,
    Addresses,
}

#[derive(clap::Args)]
struct TopArgs {
    /// The profile (.pb.gz or raw protobuf).
    profile: PathBuf,
    /// Sample type to show, by name (inuse_space, alloc_objects, ...) or position.
    #[arg(long, value_name = "NAME")]
    sample_index: Option<String>,
    /// Subtract this profile (pprof -base).
    #[arg(long, value_name = "FILE", conflicts_with = "diff_base")]
    base: Option<PathBuf>,
    /// Subtract this profile, percentages relative to it (pprof -diff_base).
    #[arg(long, value_name = "FILE")]
    diff_base: Option<PathBuf>,
    /// Scale the profile to the base's total before subtracting.
    #[arg(long)]
    normalize: bool,
    /// Group frames into nodes by function, file, line, ...
    #[arg(long, value_enum, default_value = "functions")]
    granularity: GranularityArg,
    /// Attribute inlined frames to the function they were inlined into.
    #[arg(long)]
    noinlines: bool,
    /// Show at most N nodes (0 = all).
    #[arg(long, value_name = "N", default_value_t = 0)]
    nodecount: usize,
    /// Sort by cumulative value.
    #[arg(long)]
    cum: bool,
    /// Only samples with a frame matching RE.
    #[arg(long, value_name = "RE")]
    focus: Option<String>,
    /// Drop samples with a frame matching RE.
    #[arg(long, value_name = "RE")]
    ignore: Option<String>,
    /// Remove frames matching RE.
    #[arg(long, value_name = "RE")]
    hide: Option<String>,
    /// Keep only frames matching RE.
    #[arg(long, value_name = "RE")]
    show: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Write to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Top(args) => run_top(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let msg = e.to_string().replace('\n', " ");
            eprintln!("heapframe: {msg}");
            ExitCode::from(2)
        }
    }
}

fn run_top(a: TopArgs) -> heapframe::Result<()> {
    if a.normalize && a.base.is_none() && a.diff_base.is_none() {
        return Err(heapframe::Error::Option(
            "--normalize needs --base or --diff-base".to_string(),
        ));
    }
    let source = Profile::from_path(&a.profile)?;
    let profile = match (&a.base, &a.diff_base) {
        (Some(b), _) => report::subtract(
            &source,
            &Profile::from_path(b)?,
            BaseMode::Subtract,
            a.normalize,
        )?,
        (_, Some(b)) => report::subtract(
            &source,
            &Profile::from_path(b)?,
            BaseMode::DiffBase,
            a.normalize,
        )?,
        _ => source,
    };
    let opts = TopOptions {
        sample_index: a.sample_index,
        granularity: match a.granularity {
            GranularityArg::Functions => Granularity::Functions,
            GranularityArg::Filefunctions => Granularity::FileFunctions,
            GranularityArg::Files => Granularity::Files,
            GranularityArg::Lines => Granularity::Lines,
            GranularityArg::Addresses => Granularity::Addresses,
        },
        noinlines: a.noinlines,
        node_count: a.nodecount,
        cum: a.cum,
        focus: a.focus,
        ignore: a.ignore,
        hide: a.hide,
        show: a.show,
        ..TopOptions::default()
    };
    let rpt = report::top(&profile, &opts)?;
    for (what, given, matched) in [
        ("Focus", opts.focus.is_some(), rpt.matches.focus),
        ("Ignore", opts.ignore.is_some(), rpt.matches.ignore),
        ("Hide", opts.hide.is_some(), rpt.matches.hide),
        ("Show", opts.show.is_some(), rpt.matches.show),
    ] {
        if given && !matched {
            eprintln!("heapframe: warning: {what} expression matched no samples");
        }
    }
    match a.format {
        Format::Text => write_out(a.output.as_ref(), rpt.to_text().as_bytes()),
        f => {
            let mut df = rpt.to_dataframe()?;
            let bytes = heapframe::frames::encode(
                &mut df,
                match f {
                    Format::Csv => heapframe::frames::TableFormat::Csv,
                    Format::Json => heapframe::frames::TableFormat::Json,
                    _ => {
                        if a.output.is_none() {
                            return Err(heapframe::Error::Option(
                                "--format parquet writes binary data: give --output FILE"
                                    .to_string(),
                            ));
                        }
                        heapframe::frames::TableFormat::Parquet
                    }
                },
            )?;
            write_out(a.output.as_ref(), &bytes)
        }
    }
}

fn write_out(path: Option<&PathBuf>, bytes: &[u8]) -> heapframe::Result<()> {
    match path {
        Some(p) => heapframe::frames::write_atomically(p, bytes),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes).and_then(|_| out.flush()).or_else(|e| {
                if e.kind() == std::io::ErrorKind::BrokenPipe {
                    Ok(())
                } else {
                    Err(heapframe::Error::Output(format!(
                        "writing to standard output: {e}"
                    )))
                }
            })
        }
    }
}
