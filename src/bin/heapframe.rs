//! The `heapframe` command: a thin shell over the library.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use heapframe::Profile;
use heapframe::escape::terminal;
use heapframe::report::{self, BaseMode, Granularity, TopOptions};
use heapframe::views::notebook::NotebookDisplay;

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
    /// Rank what grows across snapshots (a bundle, files or glob patterns).
    Growth(GrowthArgs),
    /// Decide from a bundle's metrics whether memory leaks.
    Verdict(VerdictArgs),
    /// Compare a bundle captured before a fix with one captured after it.
    Validate(ValidateArgs),
    /// Evaluate the on-call checklist on a bundle.
    Checklist(ChecklistArgs),
    /// Record an event (deploy, restart, incident, fix, note) in a bundle's
    /// timeline (its manifest.json).
    Note(NoteArgs),
    /// Print a bundle's timeline: recorded events, restarts detected from
    /// the data, and when the snapshots and scrapes begin and end.
    Timeline(ChecklistArgs),
    /// Collect an incident from a running service into a bundle folder:
    /// heap, allocs and goroutine profiles every --every, metrics every
    /// --metrics-every.
    Collect(CollectArgs),
    /// Import a service's memory history from a Prometheus server into a
    /// bundle's metrics (for `verdict` on history older than the incident).
    ImportPrometheus(ImportArgs),
    /// Read goroutine dumps (?debug=2, a crash or SIGQUIT traceback, or a
    /// log holding one): goroutines grouped by state and stack, the groups
    /// blocked the way leaks are, and, given a later dump, growth by creator.
    Goroutines(GoroutinesArgs),
    /// Import a GODEBUG=gctrace=1 log into a bundle's metrics: heap at GC
    /// start and end, live heap after GC, goal, GC count and CPU share, one
    /// point per GC cycle (for `verdict` from a log).
    ImportLog(ImportLogArgs),
    /// Append bundles (or profile files) to a Parquet dataset that DuckDB,
    /// Spark and polars read: snapshots, samples, stacks and metrics,
    /// Hive-partitioned by service and date. Exporting twice adds nothing.
    Export(ExportArgs),
    /// Rank what grows in every service of a dataset (heapframe export),
    /// one service at a time: the top growers per service.
    Fleet(FleetArgs),
    /// Write the whole evidence chain of a bundle as one self-contained HTML page.
    #[cfg(feature = "views")]
    Report(ReportArgs),
    /// Write a flame graph (or, with --base, a differential one) as SVG.
    #[cfg(feature = "views")]
    Flame(FlameArgs),
}

#[derive(clap::Args)]
struct HttpArgs {
    /// Extra request header, `NAME: VALUE` (repeatable; visible in `ps`).
    #[arg(long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// Send `Authorization: Bearer TOKEN` (visible in `ps`: prefer
    /// --bearer-file or the HEAPFRAME_BEARER environment variable).
    #[arg(long, value_name = "TOKEN", conflicts_with_all = ["bearer_file", "basic", "basic_file"])]
    bearer: Option<String>,
    /// Read the bearer token from the first line of FILE.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["basic", "basic_file"])]
    bearer_file: Option<PathBuf>,
    /// HTTP basic authentication (visible in `ps`: prefer --basic-file or
    /// the HEAPFRAME_BASIC environment variable).
    #[arg(long, value_name = "USER:PASSWORD", conflicts_with = "basic_file")]
    basic: Option<String>,
    /// Read `USER:PASSWORD` for basic authentication from the first line of FILE.
    #[arg(long, value_name = "FILE")]
    basic_file: Option<PathBuf>,
    /// Time allowed for one request (e.g. 30s).
    #[arg(long, default_value_t = heapframe::defaults::duration_text(heapframe::defaults::HTTP_TIMEOUT), value_name = "DURATION")]
    timeout: String,
    /// Further attempts after a transient failure (with back-off).
    #[arg(long, default_value_t = heapframe::defaults::HTTP_RETRIES)]
    retries: u32,
    /// Largest answer accepted, in bytes.
    #[arg(long, default_value_t = heapframe::defaults::HTTP_MAX_BYTES, value_name = "BYTES")]
    max_bytes: u64,
    /// Allow a public address (not loopback or private; a pprof endpoint
    /// should be internal-only). Does not allow link-local or metadata
    /// addresses.
    #[arg(long)]
    allow_public: bool,
    /// Allow link-local addresses (169.254.0.0/16, fe80::/10), for a
    /// service that listens there. Does not allow the cloud metadata
    /// services among them.
    #[arg(long)]
    allow_link_local: bool,
    /// Allow the cloud metadata services (169.254.169.254, fd00:ec2::254,
    /// 100.100.100.200, metadata.google.internal, ...), which hand out the
    /// machine's credentials.
    #[arg(long)]
    allow_metadata: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum MetricsArg {
    /// /metrics (Prometheus text).
    Prometheus,
    /// /debug/vars (Go expvar memstats).
    Expvar,
    /// No metrics.
    Off,
}

#[derive(clap::Args)]
struct CollectArgs {
    /// The service's address, e.g. http://10.0.3.7:6060; several
    /// addresses (replicas of one service) are collected at the same time
    /// into one bundle of several instances (instances/NAME/), each named
    /// by its host:port.
    #[arg(required_unless_present = "targets")]
    urls: Vec<String>,
    /// Also collect the targets listed in FILE: one `URL [NAME]` per
    /// line (NAME: the instance's name; `#` starts a comment line).
    #[arg(long, value_name = "FILE")]
    targets: Option<PathBuf>,
    /// The instance's name in the manifest, for one URL (default: its
    /// host:port).
    #[arg(long, value_name = "NAME", conflicts_with = "targets")]
    instance: Option<String>,
    /// The bundle folder (created if missing; an existing bundle of the same
    /// target is appended to, never overwritten).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Time between heap captures (500ms, 15s, 5m, 1h...).
    #[arg(long, default_value_t = heapframe::defaults::duration_text(heapframe::defaults::COLLECT_EVERY), value_name = "DURATION")]
    every: String,
    /// Heap captures to take (0 = until Ctrl-C).
    #[arg(long, default_value_t = heapframe::defaults::COLLECT_COUNT)]
    count: usize,
    /// Time between metric scrapes.
    #[arg(long, default_value_t = heapframe::defaults::duration_text(heapframe::defaults::METRICS_EVERY), value_name = "DURATION")]
    metrics_every: String,
    /// Where metrics come from.
    #[arg(long, value_enum, default_value = "prometheus")]
    metrics: MetricsArg,
    /// Also take delta heap and allocs profiles over N seconds at each
    /// capture (?seconds=N: what changed in those seconds), into delta/heap/
    /// and delta/allocs/, apart from the cumulative snapshots; N must be
    /// shorter than --every. `heapframe growth BUNDLE/delta/allocs/*.pb.gz`
    /// ranks them.
    #[arg(long, value_name = "N")]
    seconds: Option<u32>,
    /// Ask for a GC before each heap and allocs profile (gc=1).
    #[arg(long)]
    gc: bool,
    /// Only heap profiles (no allocs, goroutine, goroutineleak).
    #[arg(long)]
    heap_only: bool,
    /// The service's name, for the manifest.
    #[arg(long, default_value = "")]
    service: String,
    /// No progress output, only the summary at the end.
    #[arg(long)]
    quiet: bool,
    #[command(flatten)]
    http: HttpArgs,
}

#[derive(clap::Args)]
struct GoroutinesArgs {
    /// The dump.
    dump: PathBuf,
    /// A later dump of the same process: growth by creator and by group.
    later: Option<PathBuf>,
    /// Groups to show.
    #[arg(long, default_value_t = 15)]
    limit: usize,
    /// The smallest group of blocked goroutines named as a leak shape.
    #[arg(long, default_value_t = 10)]
    min_blocked: usize,
}

#[derive(clap::Args)]
struct ImportLogArgs {
    /// The log (plain or gzip-compressed); other lines in it are passed over.
    log: PathBuf,
    /// The bundle folder (created if missing); a metrics table is added to
    /// its metrics/, never over an existing file.
    #[arg(long)]
    out: PathBuf,
    /// When the service's process started (RFC 3339), for log lines that
    /// carry no time of their own and no ?debug=1 heap snapshot in the
    /// bundle places.
    #[arg(long, value_name = "TIME")]
    start: Option<String>,
    #[command(flatten)]
    instance: InstanceArg,
}

#[derive(clap::Args)]
struct ImportArgs {
    /// The Prometheus server, e.g. http://prometheus.internal:9090.
    server: String,
    /// Label matchers that pick the service, e.g. 'job="checkout"'.
    #[arg(long)]
    selector: String,
    /// The bundle folder to add the metrics to (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// How far back the window starts.
    #[arg(long, default_value_t = heapframe::defaults::duration_text(heapframe::defaults::IMPORT_SINCE), value_name = "DURATION")]
    since: String,
    /// Resolution wanted; widened to stay under Prometheus's 11,000 points.
    #[arg(long, default_value_t = heapframe::defaults::duration_text(heapframe::defaults::IMPORT_STEP), value_name = "DURATION")]
    step: String,
    /// The request counter that measures load.
    #[arg(long, default_value = heapframe::defaults::REQUEST_COUNTER)]
    counter: String,
    #[command(flatten)]
    instance: InstanceArg,
    #[command(flatten)]
    http: HttpArgs,
}

#[cfg(feature = "views")]
#[derive(clap::Args)]
struct ReportArgs {
    /// The bundle folder.
    bundle: PathBuf,
    /// Where to write the page (html; default report.html), or the folder
    /// for report.md and its figures (md; default report/).
    #[arg(short, long, value_name = "PATH")]
    output: Option<PathBuf>,
    /// html: one self-contained page; md: Markdown with the charts and
    /// flame graphs as SVG files beside it, to paste into a document.
    #[arg(long, value_enum, default_value = "html")]
    format: ReportFormat,
    /// An after-fix bundle to validate against (default: the manifest's after_fix).
    #[arg(long, value_name = "DIR")]
    after: Option<PathBuf>,
    /// The request counter that measures load.
    #[arg(long, default_value = heapframe::defaults::REQUEST_COUNTER)]
    counter: String,
    /// Add a section on the service's replicas: each instance of the
    /// bundle's service (its manifest's, or --service) in this dataset
    /// judged on its own (html only).
    #[arg(long, value_name = "DATASET")]
    replicas: Option<PathBuf>,
    /// The service to look up in --replicas.
    #[arg(long, requires = "replicas")]
    service: Option<String>,
    /// Of a bundle of several instances, the one the page is about; the
    /// others join it in the replicas section (html).
    #[arg(long, value_name = "NAME")]
    instance: Option<String>,
}

#[cfg(feature = "views")]
#[derive(clap::Args)]
struct FlameArgs {
    /// The profile.
    profile: PathBuf,
    /// Draw the growth from BASE to PROFILE (differential flame graph).
    #[arg(long, value_name = "BASE")]
    base: Option<PathBuf>,
    /// Root on top (icicle graph).
    #[arg(long)]
    icicle: bool,
    /// Sample type (inuse_space by default for heap profiles).
    #[arg(long, value_name = "NAME")]
    sample_index: Option<String>,
    /// Title (default: sample type, total and file).
    #[arg(long)]
    title: Option<String>,
    /// With --base: the change drawn in full colour, in the sample type's
    /// unit (bytes, objects...), to draw several graphs on one scale (by
    /// default the graph's own largest change, which it prints).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i64).range(1..), requires = "base")]
    color_scale: Option<i64>,
    /// Draw only the frames whose name contains TEXT, with what they call,
    /// re-rooted so their names get the whole width; `auto`: the growing
    /// subtree (down from the root while one child carries 80% of the
    /// growth, or of the width without --base).
    #[arg(long, value_name = "TEXT|auto")]
    focus: Option<String>,
    /// Where to write the SVG.
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
}

#[derive(Clone, Copy, ValueEnum)]
enum ReportFormat {
    Html,
    Md,
}

#[derive(Clone, Copy, ValueEnum)]
enum TableFormat {
    Text,
    Csv,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum KindArg {
    Heap,
    Allocs,
    Goroutine,
    Goroutineleak,
}

/// Which instance of a bundle of several (`collect` given several targets).
#[derive(clap::Args)]
struct InstanceArg {
    /// Of a bundle that holds several instances, the one to read or write.
    #[arg(long, value_name = "NAME")]
    instance: Option<String>,
}

/// Reading from a Parquet dataset (`heapframe export`) instead of files.
#[derive(clap::Args)]
struct DatasetArgs {
    /// Read from this dataset (written by `heapframe export`) instead of
    /// files: only the service's partitions, and only the days asked for.
    #[arg(long, value_name = "DIR", requires = "service")]
    dataset: Option<PathBuf>,
    /// The service to read from --dataset.
    #[arg(long, requires = "dataset")]
    service: Option<String>,
    /// Only this instance's snapshots and metrics: of a bundle that holds
    /// several instances, or of --dataset.
    #[arg(long, value_name = "NAME")]
    instance: Option<String>,
    /// Only from this time on (RFC 3339, e.g. 2026-11-24T04:25:00Z; with --dataset).
    #[arg(long, value_name = "TIME", requires = "dataset")]
    since: Option<String>,
    /// Only up to this time (RFC 3339; with --dataset).
    #[arg(long, value_name = "TIME", requires = "dataset")]
    until: Option<String>,
}

impl DatasetArgs {
    /// The dataset and what to read from it, when --dataset is given.
    fn open(
        &self,
    ) -> heapframe::Result<Option<(heapframe::dataset::Dataset, heapframe::dataset::Selection)>>
    {
        let Some(dir) = &self.dataset else {
            return Ok(None);
        };
        let time = |what: &str, t: &Option<String>| {
            t.as_deref()
                .map(|t| {
                    heapframe::units::parse_rfc3339(t)
                        .map_err(|e| heapframe::Error::Option(format!("--{what}: {e}")))
                })
                .transpose()
        };
        let sel = heapframe::dataset::Selection {
            service: self.service.clone().unwrap_or_default(),
            instance: self.instance.clone(),
            since_ms: time("since", &self.since)?,
            until_ms: time("until", &self.until)?,
        };
        Ok(Some((heapframe::dataset::Dataset::read(dir)?, sel)))
    }
}

#[derive(clap::Args)]
struct FleetArgs {
    /// The dataset (written by heapframe export).
    dataset: PathBuf,
    /// Which snapshots to rank.
    #[arg(long, value_enum, default_value = "heap")]
    kind: KindArg,
    /// Group by: function, function-cum, leaf, root, path, file, kind, size, label:KEY.
    #[arg(long, default_value = "function")]
    by: String,
    /// Sample type (inuse_space by default for heap profiles).
    #[arg(long, value_name = "NAME")]
    sample_index: Option<String>,
    /// Growers to show per service.
    #[arg(long, default_value_t = 5)]
    limit: usize,
    /// Rank the profiler's own samples like the rest.
    #[arg(long)]
    keep_profiler: bool,
    /// Only this instance's snapshots.
    #[arg(long)]
    instance: Option<String>,
    /// Only from this time on (RFC 3339).
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// Only up to this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: TableFormat,
}

#[derive(clap::Args)]
struct ExportArgs {
    /// Bundle folders (each exported with its own manifest's service and
    /// target), or profile files / glob patterns (exported together).
    #[arg(required = true)]
    inputs: Vec<String>,
    /// The dataset folder (created when missing; appended to).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// The service, instead of the manifest's (required for loose files).
    #[arg(long)]
    service: Option<String>,
    /// The instance to file a bundle of one (or loose files) under,
    /// instead of its manifest's instance or target host:port; of a bundle
    /// of several instances, the one to export (each keeps its own name).
    #[arg(long)]
    instance: Option<String>,
}

#[derive(clap::Args)]
struct GrowthArgs {
    /// A bundle folder, or profile files / glob patterns.
    #[arg(required_unless_present = "dataset", conflicts_with = "dataset")]
    inputs: Vec<String>,
    #[command(flatten)]
    dataset: DatasetArgs,
    /// Group by: function, function-cum, leaf, root, path, path:K, file,
    /// kind, size, label:KEY; or `instance`: each instance's total growth
    /// and slope side by side (of a bundle of several, of several bundles,
    /// or of the --dataset service), with what grows most in each.
    #[arg(long, default_value = "function")]
    by: String,
    /// Sample type (inuse_space by default for heap profiles).
    #[arg(long, value_name = "NAME")]
    sample_index: Option<String>,
    /// Which snapshots to rank: of a bundle folder, heap unless given; of
    /// profile files, the one kind their sample types say they are.
    #[arg(long, value_enum)]
    kind: Option<KindArg>,
    /// Rows to show in text output.
    #[arg(long, default_value_t = heapframe::defaults::GROWTH_ROWS)]
    limit: usize,
    /// Rank the profiler's own samples (runtime/pprof or net/http/pprof on
    /// the stack) like the rest instead of leaving them out.
    #[arg(long)]
    keep_profiler: bool,
    /// Shortest span of snapshots whose growth counts as steady, as for
    /// `verdict` (e.g. 30s, 5m): shorter growth is named as where to look,
    /// not as code to read first.
    #[arg(long, default_value_t = heapframe::defaults::duration_text(heapframe::defaults::MIN_SPAN), value_name = "DURATION")]
    min_span: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: TableFormat,
}

#[derive(clap::Args)]
struct VerdictArgs {
    /// The bundle folder, or files: profiles, `?debug=1` heap text,
    /// gctrace logs (`*.log`, `*.log.gz`), glob patterns.
    #[arg(required_unless_present = "dataset", conflicts_with = "dataset")]
    inputs: Vec<String>,
    #[command(flatten)]
    dataset: DatasetArgs,
    /// When the process whose gctrace log lines carry no time started
    /// (RFC 3339, e.g. 2026-11-24T04:25:00Z), for a log that no `?debug=1`
    /// heap snapshot of the same process places.
    #[arg(long, value_name = "TIME")]
    start: Option<String>,
    /// The request counter that measures load.
    #[arg(long, default_value = heapframe::defaults::REQUEST_COUNTER)]
    counter: String,
    /// Judge each instance on its own and show them side by side (which
    /// replicas leak): the instances of a bundle of several, of several
    /// bundles, or of the --dataset service. `--by instance` says the same.
    #[arg(long)]
    by_instance: bool,
    /// `instance`: as --by-instance.
    #[arg(long, value_parser = ["instance"], value_name = "instance")]
    by: Option<String>,
    /// With --by instance: also write a chart of each instance's heap in
    /// use over time to FILE (SVG).
    #[arg(long, value_name = "FILE")]
    chart: Option<PathBuf>,
    /// Shortest metrics window that can be judged (e.g. 30s, 5m).
    #[arg(long, default_value_t = heapframe::defaults::duration_text(heapframe::defaults::MIN_SPAN), value_name = "DURATION")]
    min_span: String,
}

#[derive(clap::Args)]
struct ValidateArgs {
    /// The bundle captured before the fix.
    before: PathBuf,
    /// The bundle captured after the fix.
    after: PathBuf,
    /// The request counter that measures load.
    #[arg(long, default_value = heapframe::defaults::REQUEST_COUNTER)]
    counter: String,
    /// Of bundles that hold several instances, compare this instance
    /// (bundles of one are read as they are).
    #[arg(long, value_name = "NAME")]
    instance: Option<String>,
}

#[derive(clap::Args)]
struct ChecklistArgs {
    /// The bundle folder.
    bundle: PathBuf,
    #[command(flatten)]
    instance: InstanceArg,
}

#[derive(clap::Args)]
struct NoteArgs {
    /// The bundle folder.
    bundle: PathBuf,
    /// When: RFC 3339 (2026-11-24T04:20:00Z, or with an offset) or `now`.
    #[arg(long, default_value = "now")]
    at: String,
    /// What kind of event.
    #[arg(long, value_parser = ["deploy", "restart", "incident", "fix", "note"], default_value = "note")]
    kind: String,
    /// What happened (e.g. "v1.4.2").
    #[arg(required = true, num_args = 1..)]
    text: Vec<String>,
    /// Of a bundle of several instances, record it in this instance's
    /// manifest (by default in the bundle's own, which every instance's
    /// timeline shows).
    #[arg(long, value_name = "NAME")]
    instance: Option<String>,
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
    #[arg(required_unless_present = "dataset", conflicts_with = "dataset")]
    profile: Option<PathBuf>,
    #[command(flatten)]
    dataset: DatasetArgs,
    /// With --dataset: the snapshot kind (the latest selected snapshot is shown).
    #[arg(long, value_enum, requires = "dataset")]
    kind: Option<KindArg>,
    /// With --dataset: subtract the earliest selected snapshot from the
    /// latest (pprof -base over the selection).
    #[arg(long, requires = "dataset", conflicts_with_all = ["base", "diff_base"])]
    base_first: bool,
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
    /// Drop the callers of the outermost frame matching RE (pprof -show_from).
    #[arg(long, value_name = "RE")]
    show_from: Option<String>,
    /// Drop the callees of the innermost frame matching RE (pprof -prune_from).
    #[arg(long, value_name = "RE")]
    prune_from: Option<String>,
    /// Only samples whose labels match: [KEY=]RE[,RE...] or a numeric range
    /// with units, e.g. bytes=1mb: or 32b:1kb (pprof -tagfocus).
    #[arg(long, value_name = "FILTER")]
    tag_focus: Option<String>,
    /// Drop samples whose labels match, as --tag-focus (pprof -tagignore).
    #[arg(long, value_name = "FILTER")]
    tag_ignore: Option<String>,
    /// Label keys to show (pprof -tagshow; listed among the active filters).
    #[arg(long, value_name = "RE")]
    tag_show: Option<String>,
    /// Label keys to hide (pprof -taghide; listed among the active filters).
    #[arg(long, value_name = "RE")]
    tag_hide: Option<String>,
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
        Command::Growth(args) => run_growth(args),
        Command::Verdict(args) => run_verdict(args),
        Command::Validate(args) => run_validate(args),
        Command::Checklist(args) => run_checklist(args),
        Command::Collect(args) => run_collect(args),
        Command::ImportPrometheus(args) => run_import(args),
        Command::ImportLog(args) => run_import_log(args),
        Command::Goroutines(args) => run_goroutines(args),
        Command::Export(args) => run_export(args),
        Command::Fleet(args) => run_fleet(args),
        #[cfg(feature = "views")]
        Command::Report(args) => run_report(args),
        Command::Note(args) => run_note(args),
        Command::Timeline(args) => run_timeline(args),
        #[cfg(feature = "views")]
        Command::Flame(args) => run_flame(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line, whatever the message quotes (file names, server
            // answers): line breaks become spaces, other control
            // characters their visible form.
            let msg = e.to_string().replace('\n', " ");
            eprintln!("heapframe: {}", terminal(&msg));
            ExitCode::from(2)
        }
    }
}

/// Refuses `-o` paths that would replace an input or land in a bundle's
/// evidence, before any work is done.
fn check_output(output: &std::path::Path, inputs: &[Option<&PathBuf>]) -> heapframe::Result<()> {
    let inputs: Vec<&std::path::Path> = inputs.iter().flatten().map(|p| p.as_path()).collect();
    heapframe::evidence::bundle::check_output_path(output, &inputs)
}

fn run_top(a: TopArgs) -> heapframe::Result<()> {
    if a.normalize && a.base.is_none() && a.diff_base.is_none() {
        return Err(heapframe::Error::Option(
            "--normalize needs --base or --diff-base".to_string(),
        ));
    }
    if let Some(o) = &a.output {
        check_output(
            o,
            &[a.profile.as_ref(), a.base.as_ref(), a.diff_base.as_ref()],
        )?;
    }
    if a.dataset.instance.is_some() && a.dataset.dataset.is_none() {
        return Err(heapframe::Error::Option(
            "--instance: top reads one profile file; an instance is picked from --dataset \
             (or give that instance's file: BUNDLE/instances/NAME/heap/...)"
                .into(),
        ));
    }
    let from_dataset = a.dataset.open()?;
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
        show_from: a.show_from,
        prune_from: a.prune_from,
        tag_focus: a.tag_focus,
        tag_ignore: a.tag_ignore,
        tag_show: a.tag_show,
        tag_hide: a.tag_hide,
        ..TopOptions::default()
    };
    let rpt = match (&a.base, &a.diff_base) {
        _ if from_dataset.is_some() => {
            let (d, sel) = from_dataset.as_ref().expect("checked");
            let kind = a
                .kind
                .map_or(heapframe::evidence::bundle::SnapshotKind::Heap, Into::into);
            let snaps = d.snapshots(kind, sel)?;
            let (Some(first), Some(last)) = (snaps.first(), snaps.last()) else {
                return Err(no_snapshots(d, sel, kind));
            };
            if a.base_first {
                report::top(
                    &report::subtract(
                        &last.profile,
                        &first.profile,
                        &report::BaseOptions {
                            mode: BaseMode::Subtract,
                            normalize: a.normalize,
                        },
                    )?,
                    &opts,
                )?
            } else {
                report::top(&last.profile, &opts)?
            }
        }
        (Some(b), _) | (_, Some(b)) => {
            let profile = a.profile.as_ref().expect("clap: a profile or --dataset");
            let mode = if a.base.is_some() {
                BaseMode::Subtract
            } else {
                BaseMode::DiffBase
            };
            let source = Profile::from_path(profile)?;
            let base = Profile::from_path(b)?;
            report::top(
                &report::subtract(
                    &source,
                    &base,
                    &report::BaseOptions {
                        mode,
                        normalize: a.normalize,
                    },
                )?,
                &opts,
            )?
        }
        // One profile: read straight into the report.
        _ => {
            let profile = a.profile.as_ref().expect("clap: a profile or --dataset");
            let name = profile.display().to_string();
            let bytes = std::fs::File::open(profile)
                .map_err(heapframe::ProfileError::Io)
                .and_then(|f| heapframe::pprof::read_bounded(f, &Default::default()))
                .map_err(|e| heapframe::Error::profile(&name, e))?;
            report::top_bytes(&bytes, &name, &opts)?
        }
    };
    for (what, given, matched) in [
        ("Focus", opts.focus.is_some(), rpt.matches.focus),
        ("Ignore", opts.ignore.is_some(), rpt.matches.ignore),
        ("Hide", opts.hide.is_some(), rpt.matches.hide),
        ("Show", opts.show.is_some(), rpt.matches.show),
        ("ShowFrom", opts.show_from.is_some(), rpt.matches.show_from),
        ("TagFocus", opts.tag_focus.is_some(), rpt.matches.tag_focus),
        (
            "TagIgnore",
            opts.tag_ignore.is_some(),
            rpt.matches.tag_ignore,
        ),
    ] {
        if given && !matched {
            eprintln!("heapframe: warning: {what} expression matched no samples");
        }
    }
    match a.format {
        Format::Text => write_out(a.output.as_ref(), rpt.to_text().as_bytes()),
        f => {
            let mut df = rpt.to_dataframe()?;
            let bytes = heapframe::tables::encode(
                &mut df,
                match f {
                    Format::Csv => heapframe::tables::TableFormat::Csv,
                    Format::Json => heapframe::tables::TableFormat::Json,
                    _ => {
                        if a.output.is_none() {
                            return Err(heapframe::Error::Option(
                                "--format parquet writes binary data: give --output FILE"
                                    .to_string(),
                            ));
                        }
                        heapframe::tables::TableFormat::Parquet
                    }
                },
            )?;
            write_out(a.output.as_ref(), &bytes)
        }
    }
}

fn write_out(path: Option<&PathBuf>, bytes: &[u8]) -> heapframe::Result<()> {
    match path {
        Some(p) => heapframe::files::replace_file(p, bytes),
        None => {
            let mut out = std::io::stdout().lock();
            // Text output escapes names itself; a CSV or JSON table shown
            // on a terminal is escaped here (in a file or a pipe it stays
            // data, byte for byte).
            let shown;
            let bytes = if out.is_terminal() {
                shown =
                    heapframe::escape::terminal_lines(&String::from_utf8_lossy(bytes)).into_owned();
                shown.as_bytes()
            } else {
                bytes
            };
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

impl From<KindArg> for heapframe::evidence::bundle::SnapshotKind {
    fn from(k: KindArg) -> Self {
        use heapframe::evidence::bundle::SnapshotKind;
        match k {
            KindArg::Heap => SnapshotKind::Heap,
            KindArg::Allocs => SnapshotKind::Allocs,
            KindArg::Goroutine => SnapshotKind::Goroutine,
            KindArg::Goroutineleak => SnapshotKind::GoroutineLeak,
        }
    }
}

/// "DIR: no heap snapshots of service S (instance I, since ..., until ...)".
fn no_snapshots(
    d: &heapframe::dataset::Dataset,
    sel: &heapframe::dataset::Selection,
    kind: heapframe::evidence::bundle::SnapshotKind,
) -> heapframe::Error {
    let mut cond = Vec::new();
    if let Some(i) = &sel.instance {
        cond.push(format!("instance {}", terminal(i)));
    }
    if let Some(t) = sel.since_ms {
        cond.push(format!(
            "since {}",
            heapframe::units::format_time_utc(t.saturating_mul(1_000_000))
        ));
    }
    if let Some(t) = sel.until_ms {
        cond.push(format!(
            "until {}",
            heapframe::units::format_time_utc(t.saturating_mul(1_000_000))
        ));
    }
    let known = d.services().unwrap_or_default();
    heapframe::Error::Option(format!(
        "{}: no {} snapshots of service {}{}{}",
        d.root().display(),
        kind.dir(),
        terminal(&sel.service),
        if cond.is_empty() {
            String::new()
        } else {
            format!(" ({})", cond.join(", "))
        },
        if known.is_empty() {
            String::new()
        } else {
            format!(
                "; it holds {}",
                known
                    .iter()
                    .map(|s| terminal(s).into_owned())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    ))
}

fn run_fleet(a: FleetArgs) -> heapframe::Result<()> {
    use heapframe::polars::prelude::*;
    let d = DatasetArgs {
        dataset: Some(a.dataset.clone()),
        service: None,
        instance: a.instance.clone(),
        since: a.since.clone(),
        until: a.until.clone(),
    };
    let (mut ds, sel) = d.open()?.expect("a dataset is given");
    let kind = a.kind.into();
    let opts = heapframe::growth::GrowthOptions {
        key: a.by.parse()?,
        sample_index: a.sample_index.clone(),
        keep_profiler: a.keep_profiler,
        ..Default::default()
    };
    let all = ds.growth_by_service(kind, &sel, &opts, a.limit)?;
    if all.is_empty() {
        return Err(heapframe::Error::Option(format!(
            "{}: no {} snapshots{}",
            a.dataset.display(),
            kind.dir(),
            if sel.instance.is_some() || sel.since_ms.is_some() || sel.until_ms.is_some() {
                " in the selection"
            } else {
                ""
            }
        )));
    }
    match a.format {
        TableFormat::Text => {
            let mut text = String::new();
            for g in &all {
                let f = |v: i64| g.sample_type.format(v);
                let d = g.totals.1 - g.totals.0;
                text.push_str(&format!(
                    "{}: {} snapshots over {:.1} min; {} {} -> {} ({}{})\n",
                    terminal(&g.service),
                    g.snapshots,
                    (g.times_ms.1 - g.times_ms.0) as f64 / 60_000.0,
                    g.sample_type.name,
                    f(g.totals.0),
                    f(g.totals.1),
                    if d >= 0 { "+" } else { "" },
                    f(d)
                ));
                if g.snapshots < 2 {
                    text.push_str("  one snapshot: no growth to rank\n");
                }
                for r in &g.rows {
                    text.push_str(&format!(
                        "  {:>10} {:>10}/min  R² {:.2}  {}\n",
                        f(r.delta),
                        f(r.slope_per_min.round() as i64),
                        r.r2,
                        terminal(&r.key)
                    ));
                }
            }
            write_out(None, text.as_bytes())
        }
        format => {
            let (mut svc, mut rank, mut key) = (Vec::new(), Vec::new(), Vec::new());
            let (mut first, mut last, mut delta) = (Vec::new(), Vec::new(), Vec::new());
            let (mut slope, mut r2, mut score, mut snaps) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for g in &all {
                for (i, r) in g.rows.iter().enumerate() {
                    svc.push(g.service.clone());
                    rank.push(i as u32 + 1);
                    key.push(r.key.clone());
                    first.push(r.values[0]);
                    last.push(r.values[r.values.len() - 1]);
                    delta.push(r.delta);
                    slope.push(r.slope_per_min);
                    r2.push(r.r2);
                    score.push(r.score);
                    snaps.push(g.snapshots as u32);
                }
            }
            let n = svc.len();
            let mut df = DataFrame::new(
                n,
                vec![
                    Column::new("service".into(), svc),
                    Column::new("rank".into(), rank),
                    Column::new("key".into(), key),
                    Column::new("first".into(), first),
                    Column::new("last".into(), last),
                    Column::new("delta".into(), delta),
                    Column::new("slope_per_min".into(), slope),
                    Column::new("r2".into(), r2),
                    Column::new("score".into(), score),
                    Column::new("snapshots".into(), snaps),
                ],
            )
            .map_err(|e| heapframe::Error::Output(e.to_string()))?;
            let format = match format {
                TableFormat::Json => heapframe::tables::TableFormat::Json,
                _ => heapframe::tables::TableFormat::Csv,
            };
            write_out(None, &heapframe::tables::encode(&mut df, format)?)
        }
    }
}

fn run_export(a: ExportArgs) -> heapframe::Result<()> {
    use heapframe::dataset::{Dataset, ExportSummary, Origin};
    use heapframe::evidence::bundle::Bundle;
    let mut dataset = Dataset::open(&a.out)?;
    let (dirs, files): (Vec<&String>, Vec<&String>) = a
        .inputs
        .iter()
        .partition(|i| std::path::Path::new(i.as_str()).is_dir());
    // What to export, named for messages, with the instance to file it
    // under when the command line says it.
    let mut groups: Vec<(String, Bundle, Option<&str>)> = Vec::new();
    for d in dirs {
        if heapframe::evidence::bundle::instances_in(std::path::Path::new(d))?.is_some() {
            // A bundle of several: each instance under its own name
            // (--instance keeps one).
            for (name, b) in Bundle::open_each(d, &heapframe::evidence::bundle::Load::all())? {
                if a.instance.as_ref().is_some_and(|i| *i != name) {
                    continue;
                }
                groups.push((format!("{d} (instance {name})"), b, None));
            }
        } else {
            groups.push((d.clone(), Bundle::open(d)?, a.instance.as_deref()));
        }
    }
    if !files.is_empty() {
        let label = files
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        groups.push((label, Bundle::from_paths(&files)?, a.instance.as_deref()));
    }
    let mut total = ExportSummary::default();
    for (input, bundle, instance) in &groups {
        let origin = Origin::of(bundle, input, a.service.as_deref(), *instance)?;
        let s = dataset.export(bundle, &origin)?;
        eprintln!(
            "{}: service {}, instance {}: {s}",
            terminal(input),
            terminal(&origin.service),
            terminal(&origin.instance)
        );
        total += s;
    }
    println!("{}: {total}", terminal(&a.out.display().to_string()));
    Ok(())
}

fn run_growth(a: GrowthArgs) -> heapframe::Result<()> {
    use heapframe::evidence::bundle::{Bundle, Load, SnapshotKind};
    use heapframe::growth::{GrowthOptions, growth};
    let any_folder = a.inputs.iter().any(|i| std::path::Path::new(i).is_dir());
    let from_dataset = a.dataset.open()?;
    let given = match a.kind {
        Some(k) => Some(k.into()),
        None if any_folder || from_dataset.is_some() => Some(SnapshotKind::Heap),
        None => None,
    };
    if a.by == "instance" {
        return run_growth_by_instance(
            &a,
            from_dataset.as_ref(),
            given.unwrap_or(SnapshotKind::Heap),
        );
    }
    let instance = a.dataset.instance.as_deref();
    // Only the snapshots ranked: no metrics, no other kinds; profile files
    // without --kind are ranked as the one kind their sample types say.
    let (bundle, kind) = match given {
        Some(kind) if from_dataset.is_some() => {
            let (d, sel) = from_dataset.as_ref().expect("checked");
            let b = d.bundle(sel, &[kind], false)?;
            if b.snapshots(kind).is_empty() {
                return Err(no_snapshots(d, sel, kind));
            }
            (b, kind)
        }
        Some(kind) => (
            Bundle::from_paths_only(&a.inputs, &Load::only(kind).of_instance(instance))?,
            kind,
        ),
        None => {
            let b = Bundle::from_paths_only(
                &a.inputs,
                &Load {
                    kinds: SnapshotKind::ALL.to_vec(),
                    metrics: false,
                    log_start_ms: None,
                    instance: instance.map(str::to_string),
                },
            )?;
            let kind = b.only_kind()?;
            (b, kind)
        }
    };
    let snaps = bundle.snapshots(kind);
    if snaps.is_empty() {
        return Err(heapframe::Error::Option(format!(
            "{}: no {} snapshots",
            bundle.name(),
            kind.dir()
        )));
    }
    let opts = GrowthOptions {
        key: a.by.parse()?,
        sample_index: a.sample_index,
        keep_profiler: a.keep_profiler,
        ..Default::default()
    };
    let table = growth(snaps, &opts)?;
    match a.format {
        TableFormat::Text => {
            let mut text = table.to_text(a.limit);
            let (first, last) = (&snaps[0], &snaps[snaps.len() - 1]);
            if matches!(kind, SnapshotKind::Heap | SnapshotKind::Goroutine) && snaps.len() >= 2 {
                let (w, largest) =
                    heapframe::growth::ranked_widening(&first.profile, &last.profile, &table, 0.5)?;
                if !w.chain.is_empty() {
                    text.push_str(&format!(
                        "\nwidening call path (first -> last snapshot){}: {}\n",
                        match &w.focus {
                            Some(f) => format!(" toward {}", terminal(f)),
                            None => String::new(),
                        },
                        chain_text(&w)
                    ));
                }
                if let Some(l) = largest.as_ref().filter(|l| !l.chain.is_empty()) {
                    text.push_str(&format!(
                        "path of the largest growth (less steady): {}\n",
                        chain_text(l)
                    ));
                }
                let thresholds = heapframe::evidence::verdict::VerdictThresholds {
                    min_span_secs: heapframe::live::http::parse_duration(&a.min_span)?
                        .as_secs_f64(),
                    ..Default::default()
                };
                let standing = heapframe::findings::PathStanding::of(&table, &thresholds);
                for line in heapframe::findings::widening_sentences(&w, largest.as_ref(), &standing)
                {
                    text.push_str(&format!("{line}\n"));
                }
            }
            write_out(None, text.as_bytes())
        }
        f => {
            let mut df = table.to_dataframe()?;
            let fmt = match f {
                TableFormat::Csv => heapframe::tables::TableFormat::Csv,
                _ => heapframe::tables::TableFormat::Json,
            };
            write_out(None, &heapframe::tables::encode(&mut df, fmt)?)
        }
    }
}

/// Each instance to compare, opened with `kinds` (and metrics when
/// `metrics`) and handed to `f` one at a time (memory is one instance's):
/// of the --dataset service, or of every bundle folder given (a bundle of
/// several gives each of its instances, a bundle of one itself); --instance
/// keeps one. Returns what they are, for the heading.
fn each_instance(
    inputs: &[String],
    dataset: Option<&(heapframe::dataset::Dataset, heapframe::dataset::Selection)>,
    only: Option<&str>,
    kinds: &[heapframe::evidence::bundle::SnapshotKind],
    metrics: bool,
    mut f: impl FnMut(String, heapframe::evidence::bundle::Bundle) -> heapframe::Result<()>,
) -> heapframe::Result<String> {
    use heapframe::evidence::bundle::{Bundle, Load};
    let mut seen: Vec<String> = Vec::new();
    if let Some((d, sel)) = dataset {
        let sel = heapframe::dataset::Selection {
            instance: only.map(str::to_string),
            ..sel.clone()
        };
        d.for_each_instance(&sel, kinds, metrics, |instance, b| {
            seen.push(instance.clone());
            f(instance, b)
        })?;
        if seen.is_empty() {
            return Err(no_snapshots(d, &sel, kinds[0]));
        }
        return Ok(sel.service);
    }
    let load = Load {
        kinds: kinds.to_vec(),
        metrics,
        ..Load::all()
    };
    let mut services = std::collections::BTreeSet::new();
    for input in inputs {
        if !std::path::Path::new(input).is_dir() {
            return Err(heapframe::Error::Option(format!(
                "{}: --by instance compares bundle folders (each instance's own series), not \
                 profile files",
                terminal(input)
            )));
        }
        Bundle::for_each_instance(input, &load, |name, b| {
            if only.is_some_and(|o| o != name) {
                return Ok(());
            }
            if seen.contains(&name) {
                return Err(heapframe::Error::Option(format!(
                    "{}: instance {} is given twice",
                    terminal(input),
                    terminal(&name)
                )));
            }
            seen.push(name.clone());
            if !b.manifest.service.is_empty() {
                services.insert(b.manifest.service.clone());
            }
            f(name, b)
        })?;
    }
    if seen.is_empty() {
        return Err(heapframe::Error::Option(format!(
            "no instance {} in {}",
            terminal(only.unwrap_or("")),
            terminal(&inputs.join(" "))
        )));
    }
    Ok(if services.is_empty() {
        inputs.join(" ")
    } else {
        services.into_iter().collect::<Vec<_>>().join(", ")
    })
}

/// `growth --by instance`: each instance's total over its own snapshots,
/// its slope, and what grows most in it, side by side.
fn run_growth_by_instance(
    a: &GrowthArgs,
    dataset: Option<&(heapframe::dataset::Dataset, heapframe::dataset::Selection)>,
    kind: heapframe::evidence::bundle::SnapshotKind,
) -> heapframe::Result<()> {
    use heapframe::findings::{InstanceGrowth, growth_by_instance};
    let opts = heapframe::growth::GrowthOptions {
        sample_index: a.sample_index.clone(),
        keep_profiler: a.keep_profiler,
        ..Default::default()
    };
    let mut rows = Vec::new();
    let what = each_instance(
        &a.inputs,
        dataset,
        a.dataset.instance.as_deref(),
        &[kind],
        false,
        |name, b| {
            rows.extend(growth_by_instance(&[(name, b)], kind, &opts)?);
            Ok(())
        },
    )?;
    if rows.iter().all(|g| g.snapshots == 0) {
        return Err(heapframe::Error::Option(format!(
            "{}: no instance has {} snapshots",
            terminal(&what),
            kind.dir()
        )));
    }
    match a.format {
        TableFormat::Text => {
            let table = InstanceGrowth::to_table(&rows, &format!("{what}: {}", kind.dir()))
                .with_notes(vec![
                    "slope: least-squares fit of the total over the instance's snapshots; one \
                     instance's ranking: heapframe growth BUNDLE --instance NAME"
                        .into(),
                ]);
            write_out(None, table.to_plain_text().as_bytes())
        }
        f => {
            let mut df = InstanceGrowth::frame(&rows)?;
            let fmt = match f {
                TableFormat::Csv => heapframe::tables::TableFormat::Csv,
                _ => heapframe::tables::TableFormat::Json,
            };
            write_out(None, &heapframe::tables::encode(&mut df, fmt)?)
        }
    }
}

/// Frames of a widening chain printed at each end; longer chains (deep
/// recursion) print as `a -> b -> ... (N frames) -> y -> z`.
const CHAIN_ENDS: usize = 8;

/// The widening chain as one line, root first, names escaped for the
/// terminal and the middle of a long chain elided.
fn chain_text(w: &heapframe::growth::Widening) -> String {
    let names: Vec<String> = w
        .chain
        .iter()
        .map(|n| terminal(&n.function).into_owned())
        .collect();
    if names.len() <= 2 * CHAIN_ENDS + 1 {
        return names.join(" -> ");
    }
    format!(
        "{} -> ... ({} frames) -> {}",
        names[..CHAIN_ENDS].join(" -> "),
        names.len() - 2 * CHAIN_ENDS,
        names[names.len() - CHAIN_ENDS..].join(" -> ")
    )
}

fn run_verdict(a: VerdictArgs) -> heapframe::Result<()> {
    let load = heapframe::evidence::bundle::Load {
        log_start_ms: parse_start(a.start.as_deref())?,
        ..heapframe::evidence::bundle::Load::all()
    }
    .of_instance(a.dataset.instance.as_deref());
    if a.by_instance || a.by.is_some() {
        return run_verdict_by_instance(&a);
    }
    if a.chart.is_some() {
        return Err(heapframe::Error::Option(
            "--chart draws the instances side by side: it needs --by instance".into(),
        ));
    }
    let bundle = match a.dataset.open()? {
        Some((d, sel)) => {
            let b = d.bundle(&sel, &heapframe::findings::VERDICT_KINDS, true)?;
            if b.metrics.samples.is_empty() && b.heap.is_empty() {
                return Err(no_snapshots(
                    &d,
                    &sel,
                    heapframe::evidence::bundle::SnapshotKind::Heap,
                ));
            }
            b
        }
        None => heapframe::evidence::bundle::Bundle::from_paths_only(&a.inputs, &load)?,
    };
    let opts = findings_options(&a.counter, Some(&a.min_span))?;
    let g = heapframe::evidence::goroutines::goroutine_check(&bundle)?;
    let v = heapframe::findings::verdict_of(&bundle, None, &g, &opts)?;
    // The same lines a notebook shows as the verdict's plain text.
    let mut text = v.to_plain_text();
    for line in heapframe::findings::goroutine_sentences(&g) {
        text.push_str(&format!("{line}\n"));
    }
    write_out(None, text.as_bytes())
}

fn run_verdict_by_instance(a: &VerdictArgs) -> heapframe::Result<()> {
    use heapframe::evidence::verdict::Verdict;
    use heapframe::findings::InstanceVerdict;
    let dataset = a.dataset.open()?;
    let opts = findings_options(&a.counter, Some(&a.min_span))?;
    let mut all = Vec::new();
    let what = each_instance(
        &a.inputs,
        dataset.as_ref(),
        a.dataset.instance.as_deref(),
        &heapframe::findings::VERDICT_KINDS,
        true,
        |name, b| {
            all.push(InstanceVerdict::judge(name, &b, &opts)?);
            Ok(())
        },
    )?;
    let mut text = format!(
        "{}: {} instances, each judged on its own metrics and snapshots\n",
        terminal(&what),
        all.len()
    );
    for v in &all {
        text.push_str(&format!("  {}\n", terminal(&v.summary())));
    }
    let named = |which: Verdict| {
        let names = InstanceVerdict::with_verdict(&all, which);
        if names.is_empty() {
            "none".to_string()
        } else {
            terminal(&names.join(", ")).into_owned()
        }
    };
    let leaking = InstanceVerdict::with_verdict(&all, Verdict::Leak).len();
    text.push_str(&format!(
        "leak: {} ({leaking} of {}); suspect: {}; not a leak: {}; not enough data: {}\n",
        named(Verdict::Leak),
        all.len(),
        named(Verdict::Suspect),
        named(Verdict::NotALeak),
        named(Verdict::NotEnoughData),
    ));
    text.push_str(if dataset.is_some() {
        "one instance's evidence: heapframe verdict --dataset DIR --service S --instance NAME\n"
    } else {
        "one instance's evidence: heapframe verdict BUNDLE --instance NAME\n"
    });
    if let Some(path) = &a.chart {
        let title = format!("heap in use by instance: {what}");
        let Some(plot) = heapframe::views::chart::instances_chart(&all, &title)? else {
            return Err(heapframe::Error::Option(format!(
                "--chart: no instance has {} samples to draw",
                heapframe::evidence::metrics::names::HEAP_INUSE
            )));
        };
        check_output(path, &[])?;
        write_out(Some(path), plot.svg().as_bytes())?;
    }
    write_out(None, text.as_bytes())
}

fn run_validate(a: ValidateArgs) -> heapframe::Result<()> {
    let open = |dir: &std::path::Path| {
        use heapframe::evidence::bundle::{Bundle, Load, instances_in};
        let several = instances_in(dir)?.is_some();
        let only = if several { a.instance.as_deref() } else { None };
        Bundle::open_only(dir, &Load::all().of_instance(only))
    };
    let before = open(&a.before)?;
    let after = open(&a.after)?;
    let v = heapframe::evidence::verdict::validate_with(
        &before.metrics,
        &after.metrics,
        &heapframe::evidence::verdict::VerdictOptions {
            counter: a.counter.clone(),
            ..Default::default()
        },
    );
    let mut s = v.to_plain_text();
    s.push_str(&format!(
        "  - after the fix: objects plateau {}, heap in use falls after GC {}, RSS no longer one-way {}\n",
        yes_no(Some(v.objects_plateau)),
        yes_no(Some(v.inuse_falls_after_gc)),
        yes_no(v.rss_not_one_way)
    ));
    write_out(None, s.as_bytes())
}

fn yes_no(b: Option<bool>) -> &'static str {
    match b {
        Some(true) => "yes",
        Some(false) => "no",
        None => "unknown",
    }
}

fn run_note(a: NoteArgs) -> heapframe::Result<()> {
    use heapframe::evidence::timeline::{self, EventKind};
    let kind = EventKind::parse(&a.kind).map_err(heapframe::Error::Option)?;
    let e = timeline::event(&a.at, kind, &a.text.join(" "))
        .map_err(|why| heapframe::Error::Option(format!("--at / text: {why}")))?;
    let dir = match &a.instance {
        Some(i) => heapframe::evidence::bundle::instance_dir(&a.bundle, Some(i))?,
        None => a.bundle.clone(),
    };
    timeline::record(&dir, &e)?;
    write_out(
        None,
        format!(
            "recorded in {}: {} {} {}\n",
            terminal(&dir.join("manifest.json").display().to_string()),
            e.time,
            e.kind,
            terminal(&e.text)
        )
        .as_bytes(),
    )
}

fn run_timeline(a: ChecklistArgs) -> heapframe::Result<()> {
    use heapframe::evidence::bundle::{Bundle, Load};
    let bundle = Bundle::open_only(
        &a.bundle,
        &Load::all().of_instance(a.instance.instance.as_deref()),
    )?;
    let entries = bundle.timeline_entries()?;
    write_out(
        None,
        heapframe::evidence::timeline::to_text(&entries).as_bytes(),
    )
}

fn run_checklist(a: ChecklistArgs) -> heapframe::Result<()> {
    use heapframe::evidence::bundle::{Bundle, Load};
    use heapframe::findings::{Findings, FindingsOptions};
    let bundle = Bundle::open_only(
        &a.bundle,
        &Load::all().of_instance(a.instance.instance.as_deref()),
    )?;
    let findings = Findings::of(&bundle, &FindingsOptions::default())?;
    write_out(
        None,
        heapframe::evidence::checklist::to_text(&findings.checklist).as_bytes(),
    )
}

fn fetch_options(a: &HttpArgs) -> heapframe::Result<heapframe::live::http::FetchOptions> {
    use heapframe::live::{FetchOptions, parse_duration};
    let mut headers = Vec::new();
    for h in &a.headers {
        // Not quoted back: a header may hold a secret.
        let (k, v) = h.split_once(':').ok_or_else(|| {
            heapframe::Error::Option("--header: expected NAME: VALUE (no colon found)".into())
        })?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let auth = credentials(a)?;
    Ok(FetchOptions {
        timeout: parse_duration(&a.timeout)?,
        max_bytes: a.max_bytes,
        retries: a.retries,
        headers,
        auth,
        addresses: heapframe::address::AddressPolicy {
            allow_public: a.allow_public,
            allow_link_local: a.allow_link_local,
            allow_metadata: a.allow_metadata,
        },
        ..FetchOptions::default()
    })
}

/// The environment variables that may hold credentials, read when no
/// credential option is given.
const BEARER_ENV: &str = "HEAPFRAME_BEARER";
const BASIC_ENV: &str = "HEAPFRAME_BASIC";

/// Credentials from the options, files or environment; messages name where
/// a secret came from, never the secret.
fn credentials(a: &HttpArgs) -> heapframe::Result<Option<heapframe::live::Auth>> {
    use heapframe::live::Auth;
    let basic = |text: &str| match text.split_once(':') {
        Some((u, p)) => Auth::Basic {
            user: u.to_string(),
            password: Some(p.to_string()),
        },
        None => Auth::Basic {
            user: text.to_string(),
            password: None,
        },
    };
    if let Some(t) = &a.bearer {
        return Ok(Some(Auth::Bearer(t.clone())));
    }
    if let Some(f) = &a.bearer_file {
        return Ok(Some(Auth::Bearer(secret_file(f)?)));
    }
    if let Some(b) = &a.basic {
        return Ok(Some(basic(b)));
    }
    if let Some(f) = &a.basic_file {
        return Ok(Some(basic(&secret_file(f)?)));
    }
    let env = |name: &str| {
        std::env::var(name)
            .ok()
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    match (env(BEARER_ENV), env(BASIC_ENV)) {
        (Some(_), Some(_)) => Err(heapframe::Error::Option(format!(
            "both {BEARER_ENV} and {BASIC_ENV} are set: unset one"
        ))),
        (Some(t), None) => Ok(Some(Auth::Bearer(t))),
        (None, Some(b)) => Ok(Some(basic(&b))),
        (None, None) => Ok(None),
    }
}

/// The first line of a file holding a secret (at most 64 KiB are read).
fn secret_file(path: &std::path::Path) -> heapframe::Result<String> {
    use std::io::Read;
    let err = |why: String| heapframe::Error::Option(format!("{}: {why}", path.display()));
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(64 << 10).read_to_end(&mut bytes))
        .map_err(|e| err(format!("cannot read the credentials: {e}")))?;
    let text =
        String::from_utf8(bytes).map_err(|_| err("the credentials are not UTF-8 text".into()))?;
    let line = text.lines().next().unwrap_or("").trim();
    if line.is_empty() {
        return Err(err(
            "the first line is empty: expected the credentials".into()
        ));
    }
    Ok(line.to_string())
}

fn run_collect(a: CollectArgs) -> heapframe::Result<()> {
    use heapframe::evidence::bundle::SnapshotKind;
    use heapframe::live::collect::{CollectOptions, Collector, MetricsSource};
    use heapframe::live::{ProfileQuery, Service, parse_duration};
    let opts = CollectOptions {
        every: parse_duration(&a.every)?,
        count: a.count,
        metrics_every: parse_duration(&a.metrics_every)?,
        metrics: match a.metrics {
            MetricsArg::Prometheus => MetricsSource::Prometheus,
            MetricsArg::Expvar => MetricsSource::Expvar,
            MetricsArg::Off => MetricsSource::Off,
        },
        kinds: if a.heap_only {
            vec![SnapshotKind::Heap]
        } else {
            SnapshotKind::ALL.to_vec()
        },
        query: ProfileQuery {
            gc: a.gc,
            seconds: None,
        },
        delta_seconds: a.seconds,
        service: a.service.clone(),
        instance: a.instance.clone().unwrap_or_default(),
        progress: !a.quiet,
    };
    if a.urls.len() > 1 || a.targets.is_some() {
        if a.instance.is_some() {
            return Err(heapframe::Error::Option(
                "--instance names the target of a one-URL run; name several in a --targets \
                 file (`URL NAME` per line)"
                    .into(),
            ));
        }
        return run_collect_instances(&a, opts);
    }
    if let Some(i) = &a.instance {
        heapframe::evidence::bundle::instance_folder(i)?;
    }
    let service = Service::new(&a.urls[0], fetch_options(&a.http)?)?;
    let mut collector = Collector::new(service, &a.out, opts)?;
    stop_on_ctrl_c(collector.stop_handle());
    let before = collector.existing_heap_snapshots();
    let report = collector.run()?;
    let mut text = format!(
        "{}: {} heap snapshots written ({} in the bundle), {}{} metric scrapes, {} gaps{}\n",
        a.out.display(),
        report.heap_snapshots,
        before + report.heap_snapshots,
        if report.delta_profiles > 0 {
            format!("{} delta profiles, ", report.delta_profiles)
        } else {
            String::new()
        },
        report.scrapes,
        report.gaps.len(),
        if report.stopped {
            ", stopped early"
        } else {
            ""
        }
    );
    if !report.gaps.is_empty() {
        text.push_str(&format!(
            "  gaps are listed in {}\n",
            a.out.join("gaps.jsonl").display()
        ));
    }
    if before + report.heap_snapshots > 0 {
        text.push_str(&format!(
            "next: heapframe growth {0}; heapframe verdict {0}\n",
            a.out.display()
        ));
    }
    write_out(None, text.as_bytes())?;
    if report.heap_ticks > 0 && report.heap_snapshots == 0 {
        let last = report
            .gaps
            .iter()
            .rev()
            .find(|g| g.what == "heap")
            .map_or("", |g| g.error.as_str());
        return Err(heapframe::Error::Output(format!(
            "no heap snapshot could be taken; last error: {last}"
        )));
    }
    Ok(())
}

/// Ctrl-C once: set `stop` (the captures in progress finish); twice: quit
/// now (temporary files are ignored by loading and removed by the next run).
fn stop_on_ctrl_c(stop: std::sync::Arc<std::sync::atomic::AtomicBool>) {
    let pressed = std::sync::atomic::AtomicBool::new(false);
    let _ = ctrlc::set_handler(move || {
        if pressed.swap(true, std::sync::atomic::Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("heapframe: stopping after the current capture (Ctrl-C again to quit now)");
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
    });
}

/// `collect` with several targets: one bundle of several instances.
fn run_collect_instances(
    a: &CollectArgs,
    opts: heapframe::live::collect::CollectOptions,
) -> heapframe::Result<()> {
    use heapframe::live::Service;
    use heapframe::live::collect::{InstancesCollector, TargetLine, read_targets};
    let mut lines: Vec<TargetLine> = a
        .urls
        .iter()
        .map(|u| TargetLine {
            url: u.clone(),
            instance: None,
        })
        .collect();
    if let Some(f) = &a.targets {
        lines.extend(read_targets(f)?);
    }
    let fetch = fetch_options(&a.http)?;
    let mut targets = Vec::new();
    for t in lines {
        let svc = Service::new(&t.url, fetch.clone())?;
        let name = t
            .instance
            .unwrap_or_else(|| format!("{}:{}", svc.base().host(), svc.base().port()));
        targets.push((name, svc));
    }
    let mut collector = InstancesCollector::new(targets, &a.out, opts)?;
    stop_on_ctrl_c(collector.stop_handle());
    let report = collector.run()?;
    let out = terminal(&a.out.display().to_string()).into_owned();
    let mut text = format!("{out}: {} instances\n", report.instances.len());
    let mut none = Vec::new();
    for (name, dir, r, before) in &report.instances {
        text.push_str(&format!(
            "  {}: {} heap snapshots written ({} in its bundle), {} metric scrapes, {} gaps{}{}\n",
            terminal(name),
            r.heap_snapshots,
            before + r.heap_snapshots,
            r.scrapes,
            r.gaps.len(),
            if r.stopped { ", stopped early" } else { "" },
            if r.gaps.is_empty() {
                String::new()
            } else {
                format!(
                    " (listed in {})",
                    terminal(&dir.join("gaps.jsonl").display().to_string())
                )
            }
        ));
        if r.heap_ticks > 0 && r.heap_snapshots == 0 {
            none.push(terminal(name).into_owned());
        }
    }
    text.push_str(&format!(
        "next: heapframe verdict {out} --by instance; heapframe growth {out} --instance NAME\n"
    ));
    write_out(None, text.as_bytes())?;
    if none.len() == report.instances.len() {
        return Err(heapframe::Error::Output(
            "no heap snapshot could be taken from any instance; see each one's gaps.jsonl".into(),
        ));
    }
    if !none.is_empty() {
        eprintln!(
            "heapframe: no heap snapshot could be taken from {}",
            none.join(", ")
        );
    }
    Ok(())
}

fn run_goroutines(a: GoroutinesArgs) -> heapframe::Result<()> {
    use heapframe::profile::goroutine_text::read_dump;
    let first = read_dump(&a.dump)?;
    let shown = |d: &heapframe::profile::goroutine_text::GoroutineDump, name: &PathBuf| {
        let mut t = format!(
            "{}: {} goroutines in {} groups (state and stack)\n",
            terminal(&name.display().to_string()),
            d.goroutines.len(),
            d.buckets().len()
        );
        t.push_str("   count  state                     minutes  top frame (creator)\n");
        for b in d.buckets().iter().take(a.limit) {
            let top = b.frames.first().map_or("-", |f| f.function.as_str());
            let wait = match b.wait_minutes {
                (lo, hi) if lo == hi => format!("{hi}"),
                (lo, hi) => format!("{lo}-{hi}"),
            };
            t.push_str(&format!(
                "{:>8}  {:<24}  {:>7}  {}{}\n",
                b.count,
                terminal(&b.state),
                wait,
                terminal(top),
                b.creator
                    .as_deref()
                    .map_or(String::new(), |c| format!(" ({})", terminal(c)))
            ));
        }
        for line in d.blocked_sentences(a.min_blocked) {
            t.push_str(&format!("blocked: {}\n", terminal(&line)));
        }
        t
    };
    let mut text = shown(&first, &a.dump);
    if let Some(later_path) = &a.later {
        let later = read_dump(later_path)?;
        text.push('\n');
        text.push_str(&shown(&later, later_path));
        text.push_str("\ngrowth by creator (first -> later):\n");
        for (creator, before, after) in first.growth_by_creator(&later).iter().take(a.limit) {
            text.push_str(&format!(
                "{:>+8}  {:>6} -> {:<6}  {}\n",
                *after as i64 - *before as i64,
                before,
                after,
                terminal(creator)
            ));
        }
    }
    write_out(None, text.as_bytes())
}

fn parse_start(start: Option<&str>) -> heapframe::Result<Option<i64>> {
    start
        .map(|t| {
            heapframe::units::parse_rfc3339(t)
                .map_err(|e| heapframe::Error::Option(format!("--start: {e}")))
        })
        .transpose()
}

fn run_import_log(a: ImportLogArgs) -> heapframe::Result<()> {
    let start = parse_start(a.start.as_deref())?;
    let out = heapframe::evidence::bundle::instance_dir(&a.out, a.instance.instance.as_deref())?;
    let done = heapframe::evidence::bundle::import_log(&a.log, &out, start)?;
    let fmt = heapframe::units::format_rfc3339;
    let mut text = format!(
        "{}: {} GC cycles, {} to {}, placed by {}\n",
        terminal(&done.path.display().to_string()),
        done.cycles,
        fmt(done.span_ms.0),
        fmt(done.span_ms.1),
        done.placed_by
    );
    for n in &done.notes {
        text.push_str(&format!("  note: {}\n", terminal(n)));
    }
    text.push_str(&format!(
        "next: heapframe verdict {}{}\n",
        terminal(&a.out.display().to_string()),
        a.instance
            .instance
            .as_ref()
            .map_or(String::new(), |i| format!(" --instance {}", terminal(i)))
    ));
    write_out(None, text.as_bytes())
}

fn run_import(a: ImportArgs) -> heapframe::Result<()> {
    use heapframe::live::prometheus::{HistoryQuery, Server};
    use heapframe::live::{now_ms, parse_duration};
    let server = Server::new(&a.server, fetch_options(&a.http)?)?;
    let end_ms = now_ms();
    let since = parse_duration(&a.since)?;
    let q = HistoryQuery {
        selector: a.selector,
        start_ms: end_ms - since.as_millis() as i64,
        end_ms,
        step: parse_duration(&a.step)?,
        counter: a.counter,
    };
    let out = heapframe::evidence::bundle::instance_dir(&a.out, a.instance.instance.as_deref())?;
    let (h, path) = server.import_into(&q, &out)?;
    let mut text = format!(
        "{}: {} samples over {} at a {} s step\n",
        path.display(),
        h.series.samples.len() + h.series.non_finite.len(),
        a.since,
        h.step.as_secs()
    );
    for (query, n) in &h.queries {
        text.push_str(&format!("  {query}: {n} series\n"));
    }
    text.push_str(&format!("next: heapframe verdict {}\n", a.out.display()));
    write_out(None, text.as_bytes())
}
/// The findings options of the verdict's flags: the request counter that
/// measures load and, when given, the shortest window that can be judged.
fn findings_options(
    counter: &str,
    min_span: Option<&str>,
) -> heapframe::Result<heapframe::findings::FindingsOptions> {
    let mut thresholds = heapframe::evidence::verdict::VerdictThresholds::default();
    if let Some(span) = min_span {
        thresholds.min_span_secs = heapframe::live::http::parse_duration(span)?.as_secs_f64();
    }
    Ok(heapframe::findings::FindingsOptions {
        verdict: heapframe::evidence::verdict::VerdictOptions {
            counter: counter.to_string(),
            thresholds,
        },
        ..Default::default()
    })
}

#[cfg(feature = "views")]
fn run_report(a: ReportArgs) -> heapframe::Result<()> {
    use heapframe::findings::{Findings, FindingsOptions};
    let output = a.output.clone().unwrap_or_else(|| {
        PathBuf::from(match a.format {
            ReportFormat::Html => heapframe::defaults::REPORT_FILE,
            ReportFormat::Md => "report",
        })
    });
    check_output(&output, &[Some(&a.bundle), a.after.as_ref()])?;
    if a.replicas.is_some() && matches!(a.format, ReportFormat::Md) {
        return Err(heapframe::Error::Option(
            "--replicas: only the html page has the replicas section".into(),
        ));
    }
    use heapframe::evidence::bundle::{Bundle, Load, instances_in};
    let several = instances_in(&a.bundle)?.is_some();
    let bundle = Bundle::open_only(&a.bundle, &Load::all().of_instance(a.instance.as_deref()))?;
    let opts = findings_options(&a.counter, None)?;
    let findings = Findings::of(
        &bundle,
        &FindingsOptions {
            after: a.after,
            ..opts.clone()
        },
    )?;
    let mut text = findings.to_text();
    match a.format {
        ReportFormat::Html => {
            // The service's replicas: from the dataset asked for, else the
            // bundle's other instances, each judged on its own.
            let replicas = match &a.replicas {
                Some(dir) => {
                    let service = a
                        .service
                        .clone()
                        .unwrap_or_else(|| bundle.manifest.service.clone());
                    let d = heapframe::dataset::Dataset::read(dir)?;
                    let sel = heapframe::dataset::Selection::service(service);
                    let all = heapframe::findings::verdicts_by_instance(&d, &sel, &opts)?;
                    if all.is_empty() {
                        return Err(no_snapshots(
                            &d,
                            &sel,
                            heapframe::evidence::bundle::SnapshotKind::Heap,
                        ));
                    }
                    Some(all)
                }
                None if several => Some(heapframe::findings::verdicts_of(&a.bundle, None, &opts)?),
                None => None,
            };
            let report = match &replicas {
                Some(all) => {
                    text.push_str(&format!(
                        "Replicas: {}\n",
                        terminal(&heapframe::findings::InstanceVerdict::leak_count(all))
                    ));
                    heapframe::views::page::page_with_replicas(&bundle, &findings, 12, all)?
                }
                None => heapframe::views::page::page(&bundle, &findings, 12)?,
            };
            heapframe::files::replace_file(&output, report.html.as_bytes())?;
            text.push_str(&format!(
                "report: {} ({} kB)\n",
                terminal(&output.display().to_string()),
                report.html.len().div_ceil(1024)
            ));
        }
        ReportFormat::Md => {
            let path =
                heapframe::views::markdown::write_markdown_report(&bundle, &findings, 12, &output)?;
            text.push_str(&format!(
                "report: {} (figures in {})\n",
                terminal(&path.display().to_string()),
                terminal(&output.join("figures").display().to_string())
            ));
        }
    }
    write_out(None, text.as_bytes())
}

#[cfg(feature = "views")]
fn run_flame(a: FlameArgs) -> heapframe::Result<()> {
    use heapframe::views::flame::{FlameOptions, Layout, diff_flame_with, flame_with};
    let opts = FlameOptions {
        sample_index: a.sample_index,
        layout: if a.icicle {
            Layout::Icicle
        } else {
            Layout::Flame
        },
        title: a.title,
        width: None,
        color_scale: a.color_scale,
        focus: a
            .focus
            .as_deref()
            .map(|f| f.parse().unwrap_or_else(|e| match e {})),
    };
    check_output(&a.output, &[Some(&a.profile), a.base.as_ref()])?;
    let profile = Profile::from_path(&a.profile)?;
    let graph = match &a.base {
        Some(b) => diff_flame_with(&Profile::from_path(b)?, &profile, &opts)?,
        None => flame_with(&profile, &opts)?,
    };
    graph.save(&a.output)?;
    if let Some(scale) = graph.color_scale() {
        eprintln!(
            "colour scale: full colour at ±{scale} (--color-scale {scale} draws another graph on the same scale)"
        );
    }
    Ok(())
}
