//! `sigmat eval -r RULES... [-p PIPELINE]... [EVENTS...]`: run Sigma rules natively on JSON
//! events, after the pipelines (so one Sigma rule runs on Sysmon-shaped or ECS-shaped events).
//!
//! Events come from the files given (NDJSON, JSON array, concatenated JSON objects, optionally
//! gzip-compressed; `-` or no file at all means stdin), streamed whatever their size. Windows
//! event JSON is understood as is. A record that cannot be read (malformed JSON, invalid UTF-8,
//! not a JSON object, larger than `--max-record-size`) is reported with its location and
//! skipped.
//! Matches go to stdout, one line each; a per-rule summary and every error go to stderr; on a
//! terminal, stderr also shows a progress line.
//!
//! Locations follow one scheme, for matches and errors alike: `path:line` where the event
//! starts (for NDJSON its line number; `path:line:column` for a value that is not the first on
//! its line), `path (record N)` for EVTX, which has no lines. Errors add ` (record N)`, and
//! `-f jsonl` matches carry `line`, `column` and `record` (the event's number in its input).
//!
//! Correlation rules among the rules run as a stage after matching (`crate::eval::correlate`):
//! their alerts are printed as they fire, and matches of the rules they refer to only when a
//! correlation says `generate: true`. EQL sequences (Elastic `.toml` rules) run on the same
//! stage: each completed sequence is printed once, with every event's record number
//! (`docs/sequence-semantics.md`); their steps' own matches are not printed.
//!
//! Exit status: 0 when the run completed (with or without matches); 1 when some rule or
//! correlation could not be loaded or compiled, or some input or event
//! could not be read (those are reported and skipped, the run goes on); 2 on usage errors
//! (including no rule to run).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, ValueEnum};
use rayon::prelude::*;
use serde_json::Value;

use crate::error::Error;
use crate::eval::correlate::{self, Alert, Correlator, Extracted};
use crate::eval::input::{EventReader, Pos, RawRecord, ReadOptions, DEFAULT_MAX_RECORD};
use crate::eval::{RuleSet, Scratch};
use crate::ir::Document;
use crate::session::Session;

/// Output format of `eval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EvalFormat {
    /// `input:record: level title (id)` per match.
    Text,
    /// One JSON object per match: rule_id, title, level, rule_path, input, record (+ event).
    Jsonl,
}

/// Arguments of `sigmat eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// A Sigma rule file or folder (walked for `.yml` / `.yaml`); repeat `-r` for more.
    #[arg(short = 'r', long = "rules", required = true, value_name = "RULES")]
    pub rules: Vec<PathBuf>,
    /// Processing pipeline applied to the rules before compilation: a built-in name or a
    /// pySigma pipeline YAML file (repeatable; run by priority).
    #[arg(short = 'p', long = "pipeline", value_name = "NAME|FILE")]
    pub pipelines: Vec<String>,
    /// Event files (NDJSON, JSON array, concatenated JSON, `.gz`); stdin when none or `-`.
    #[arg(value_name = "EVENTS")]
    pub events: Vec<PathBuf>,
    /// Output format.
    #[arg(short = 'f', long, value_enum, default_value_t = EvalFormat::Text)]
    pub format: EvalFormat,
    /// Include the (normalised) event in each jsonl match (needs `-f jsonl`).
    #[arg(long)]
    pub with_event: bool,
    /// Worker threads (default: all cores).
    #[arg(short = 'j', long)]
    pub threads: Option<usize>,
    /// No per-rule summary or progress on stderr (errors are still shown).
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// The largest event record read (an NDJSON line or one value), in bytes or with a K, M
    /// or G suffix (binary units); a larger record is reported and skipped.
    #[arg(long, value_name = "SIZE", default_value = "64M", value_parser = parse_size)]
    pub max_record_size: usize,
    /// Options of the correlation stage.
    #[command(flatten)]
    pub correlation: CorrelationArgs,
}

/// Options of the correlation stage (correlation rules found among the rules).
#[derive(Debug, Args)]
pub struct CorrelationArgs {
    /// Event time field for correlations (default: `@timestamp`, else the Windows
    /// `Event.System.TimeCreated` `SystemTime` attribute). ISO-8601 text (offsets, fractions)
    /// or epoch seconds / milliseconds as JSON numbers.
    #[arg(long, value_name = "FIELD")]
    pub timestamp_field: Option<String>,
    /// How far, in event time, an event may arrive behind the newest one seen and still be
    /// correlated in time order (`90s`, `5m`, `1h`, `2d`, `0s`). Events are held that long
    /// before correlating, so an unsorted file whose disorder stays within the bound gives the
    /// same alerts as the sorted file; an event later than that is counted, reported and left
    /// out of the correlations.
    #[arg(long, value_name = "SPAN", default_value = "1h", value_parser = parse_span)]
    pub max_lateness: u64,
    /// Cap on live groups per correlation; members of new groups beyond it are dropped,
    /// counted and reported.
    #[arg(long, value_name = "N", default_value_t = correlate::DEFAULT_MAX_GROUPS)]
    pub max_groups: usize,
}

fn parse_span(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, 's')) => (&t[..i], 1),
        Some((i, 'm')) => (&t[..i], 60),
        Some((i, 'h')) => (&t[..i], 3_600),
        Some((i, 'd')) => (&t[..i], 86_400),
        _ => return Err(format!("`{s}`: a whole number followed by s, m, h or d")),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult)?.checked_mul(1_000_000_000))
        .filter(|&ns| ns <= i64::MAX as u64)
        .ok_or_else(|| format!("`{s}`: a whole number followed by s, m, h or d"))
}

/// `123`, `64K`, `64M`, `1G` (binary units) as a number of bytes.
fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let (digits, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => t.split_at(i),
        None => (t, ""),
    };
    let shift = match unit.to_ascii_uppercase().trim_end_matches(['B', 'I']) {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        _ => return Err(format!("unknown size unit `{unit}` (use K, M or G)")),
    };
    let n: usize = digits
        .parse()
        .map_err(|_| format!("`{s}` is not a size (e.g. 64M)"))?;
    n.checked_mul(1 << shift)
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("`{s}` is not a usable size (1 byte up to the address space)"))
}

const _: () = assert!(
    DEFAULT_MAX_RECORD == 64 << 20,
    "the --max-record-size default says 64M"
);

/// Records per parallel batch.
const BATCH: usize = 1024;

/// Where an event starts, and its matches with the event, or why its record could not be read
/// (numbered later, in order). The event is kept only when it is printed (`--with-event` and
/// some match).
type Outcome = (
    Pos,
    Result<(Vec<usize>, Option<Value>, Option<Extracted>), Error>,
);

/// The outcomes of one record: one event, or several for a line of concatenated values.
enum Outcomes {
    None,
    One(Outcome),
    Many(Vec<Outcome>),
}

impl Outcomes {
    fn push(&mut self, o: Outcome) {
        *self = match std::mem::replace(self, Outcomes::None) {
            Outcomes::None => Outcomes::One(o),
            Outcomes::One(a) => Outcomes::Many(vec![a, o]),
            Outcomes::Many(mut v) => {
                v.push(o);
                Outcomes::Many(v)
            }
        };
    }

    fn into_iter(self) -> impl Iterator<Item = Outcome> {
        let (one, many) = match self {
            Outcomes::None => (None, Vec::new()),
            Outcomes::One(o) => (Some(o), Vec::new()),
            Outcomes::Many(v) => (None, v),
        };
        one.into_iter().chain(many)
    }
}

/// Runs `eval`; see the module docs for the exit status.
#[must_use]
pub fn run(args: &EvalArgs) -> i32 {
    if args.with_event && args.format != EvalFormat::Jsonl {
        eprintln!(
            "error[usage]: --with-event adds each matching event to its jsonl line\n  = hint: add `-f jsonl`"
        );
        return 2;
    }
    // `-j`: a pool of its own for the evaluation (the global one may already exist, the
    // loader uses it); otherwise rayon's global pool.
    let pool = match args.threads {
        Some(n) => match rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build()
        {
            Ok(pool) => Some(pool),
            Err(e) => {
                eprintln!("error[usage]: cannot start {n} threads: {e}");
                return 2;
            }
        },
        None => None,
    };
    let session = match Session::builder().pipelines(&args.pipelines).build() {
        Ok(s) => s,
        Err(e) => {
            report(&e);
            return 2;
        }
    };
    let batch = session.load(&args.rules);
    // The front end's warnings (unused search identifiers, empty files): not failures.
    for w in &batch.warnings {
        eprintln!("{}", w.render_warning());
    }
    let (docs, errors) = batch.documents();
    let mut failed = !errors.is_empty();
    for (_, f) in &errors {
        report(f.error());
    }
    // Filters were applied to their rules by the loader.
    let docs: Vec<Document> = docs
        .into_iter()
        .map(|(_, d)| d)
        .filter(|d| !matches!(d, Document::Filter(_)))
        .collect();
    let config = correlate::Config {
        timestamp_field: args.correlation.timestamp_field.clone(),
        max_lateness: i64::try_from(args.correlation.max_lateness).unwrap_or(i64::MAX),
        max_groups: args.correlation.max_groups,
        ..correlate::Config::default()
    };
    let (set, correlator, errors) = correlate::compile_documents(docs, config);
    for (_, e) in &errors {
        failed = true;
        report(e);
    }
    if set.is_empty() {
        eprintln!(
            "error[usage]: no rule to run (from {} path(s))",
            args.rules.len()
        );
        return 2;
    }
    let inputs: Vec<Option<PathBuf>> = if args.events.is_empty() {
        // Waiting on a terminal without a word would look like a hang.
        if std::io::stdin().is_terminal() {
            eprintln!(
                "reading events from stdin (end with Ctrl-D; give event files as arguments to read them instead)"
            );
        }
        vec![None]
    } else {
        args.events.iter().cloned().map(Some).collect()
    };
    let mut run = Run::new(&set, args, pool, correlator);
    let opts = ReadOptions {
        max_record: args.max_record_size,
    };
    // A reader thread reads and splits the inputs while batches are evaluated in parallel.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Msg>(4);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            for (k, input) in inputs.iter().enumerate() {
                match EventReader::open_with(input.as_deref(), opts) {
                    Ok(mut reader) => {
                        let name: std::sync::Arc<str> = reader.name().into();
                        while let Some(batch) = reader.next_batch(BATCH) {
                            if tx.send(Msg::Batch(k, name.clone(), batch)).is_err() {
                                return;
                            }
                        }
                    }
                    Err(e) => {
                        if tx.send(Msg::Error(e)).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        for msg in rx {
            match msg {
                Msg::Batch(k, name, batch) => {
                    if run.batch(k, &name, batch).is_err() {
                        // stdout closed (e.g. piped into `head`): stop quietly.
                        break;
                    }
                }
                Msg::Error(e) => {
                    failed = true;
                    report(&e);
                }
            }
        }
    });
    failed |= run.bad_events > 0;
    if run.finish_correlations().is_err() {
        return i32::from(failed);
    }
    run.summary();
    i32::from(failed)
}

/// Where a match is, in the one scheme of matches and errors: `path:line` (the line where the
/// event starts; `path:line:column` when it is not the first value on its line), and
/// `path (record N)` for inputs without lines (EVTX). Errors print the same location followed
/// by ` (record N)`.
fn location(input: &str, pos: Pos, record: usize) -> String {
    match pos {
        Pos { line: 0, .. } => format!("{input} (record {record})"),
        Pos {
            line,
            column: 0 | 1,
        } => format!("{input}:{line}"),
        Pos { line, column } => format!("{input}:{line}:{column}"),
    }
}

/// What the reader thread sends: records of the input numbered `.0`, or an input error.
enum Msg {
    Batch(usize, std::sync::Arc<str>, Vec<RawRecord>),
    Error(Error),
}

fn report(e: &Error) {
    eprintln!("{}", e.render());
}

struct Run<'a> {
    set: &'a RuleSet,
    args: &'a EvalArgs,
    pool: Option<rayon::ThreadPool>,
    out: std::io::BufWriter<std::io::StdoutLock<'static>>,
    counts: Vec<u64>,
    /// Each rule's level as written in Sigma (`high`), for output.
    levels: Vec<Option<String>>,
    events: u64,
    bad_events: u64,
    bytes: u64,
    /// The input being read and the records numbered in it so far.
    input: Option<usize>,
    record: usize,
    started: Instant,
    progress: indicatif::ProgressBar,
    corr: Correlator,
    alerts: Vec<Alert>,
}

impl<'a> Run<'a> {
    fn new(
        set: &'a RuleSet,
        args: &'a EvalArgs,
        pool: Option<rayon::ThreadPool>,
        corr: Correlator,
    ) -> Self {
        Run {
            set,
            args,
            pool,
            out: std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock()),
            counts: vec![0; set.len()],
            levels: (0..set.len())
                .map(|r| {
                    let l = set.info(r).level?;
                    serde_json::to_value(l).ok()?.as_str().map(str::to_string)
                })
                .collect(),
            events: 0,
            bad_events: 0,
            bytes: 0,
            input: None,
            record: 0,
            started: Instant::now(),
            progress: super::progress::counter("events", args.quiet),
            corr,
            alerts: Vec::new(),
        }
    }

    fn batch(&mut self, input: usize, name: &str, batch: Vec<RawRecord>) -> std::io::Result<()> {
        self.bytes += batch.iter().map(|r| r.text_len() as u64).sum::<u64>();
        if self.input != Some(input) {
            self.input = Some(input);
            self.record = 0;
        }
        let set = self.set;
        let corr = &self.corr;
        let keep = self.args.with_event && self.args.format == EvalFormat::Jsonl;
        let work = || -> Vec<Outcomes> {
            batch
                .into_par_iter()
                .map_init(Scratch::default, |scratch, r| {
                    let mut outs = Outcomes::None;
                    r.for_each_event(name, &mut |pos, res| {
                        outs.push((
                            pos,
                            res.map(|ev| {
                                let mut m = Vec::new();
                                set.matches_with(&ev, scratch, &mut m);
                                let ex = corr.extract(&ev, &m);
                                let ev = (keep && !m.is_empty()).then(|| ev.to_value());
                                (m, ev, ex)
                            }),
                        ));
                    });
                    outs
                })
                .collect()
        };
        let results = match &self.pool {
            Some(pool) => pool.install(work),
            None => work(),
        };
        for (pos, res) in results.into_iter().flat_map(Outcomes::into_iter) {
            self.events += 1;
            self.record += 1;
            let number = self.record;
            match res {
                Ok((matches, ev, ex)) => {
                    for r in matches {
                        self.counts[r] += 1;
                        if self.corr.rule_output(r) {
                            self.write_match(name, number, pos, r, ev.as_ref())?;
                        }
                    }
                    if let Some(ex) = ex {
                        self.corr.push(self.events, ex, &mut self.alerts);
                        self.write_alerts()?;
                    }
                }
                Err(e) => {
                    self.bad_events += 1;
                    report(&e.at(format!("record {number}")));
                }
            }
        }
        if !self.progress.is_hidden() {
            let matches: u64 = self.counts.iter().sum();
            let rate = self.events as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
            self.progress.set_position(self.events);
            self.progress
                .set_message(format!("{matches} matches, {rate:.0} events/s"));
        }
        Ok(())
    }

    fn write_match(
        &mut self,
        input: &str,
        record: usize,
        pos: Pos,
        r: usize,
        ev: Option<&Value>,
    ) -> std::io::Result<()> {
        /// One JSONL match line, serialised without building a `Value` first.
        #[derive(serde::Serialize)]
        struct Line<'a> {
            rule_id: Option<&'a str>,
            title: &'a str,
            level: Option<&'a str>,
            rule_path: Option<&'a str>,
            input: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            line: Option<usize>,
            #[serde(skip_serializing_if = "Option::is_none")]
            column: Option<usize>,
            record: usize,
            #[serde(skip_serializing_if = "Option::is_none")]
            event: Option<&'a Value>,
        }
        let info = self.set.info(r);
        let level = self.levels[r].as_deref();
        match self.args.format {
            EvalFormat::Text => writeln!(
                self.out,
                "{}: {} {} ({})",
                location(input, pos, record),
                level.unwrap_or("-"),
                info.title,
                info.id.as_deref().unwrap_or("no id")
            ),
            EvalFormat::Jsonl => {
                let line = Line {
                    rule_id: info.id.as_deref(),
                    title: &info.title,
                    level,
                    rule_path: info.file.as_deref(),
                    input,
                    line: (pos.line > 0).then_some(pos.line),
                    column: (pos.line > 0).then_some(pos.column),
                    record,
                    event: ev,
                };
                serde_json::to_writer(&mut self.out, &line)?;
                self.out.write_all(b"\n")
            }
        }
    }

    fn summary(&mut self) {
        let _ = self.out.flush();
        if self.args.quiet {
            return;
        }
        self.progress.finish_and_clear();
        let mut hits: Vec<(u64, usize)> = self
            .counts
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(i, &c)| (c, i))
            .collect();
        hits.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for (c, i) in &hits {
            let info = self.set.info(*i);
            eprintln!(
                "{c:>9}  {} ({})",
                info.title,
                info.id.as_deref().unwrap_or("no id")
            );
        }
        let secs = self.started.elapsed().as_secs_f64();
        eprintln!(
            "{} events ({} malformed), {} matches by {} of {} rules, {:.2}s ({:.0} events/s)",
            self.events,
            self.bad_events,
            self.counts.iter().sum::<u64>(),
            hits.len(),
            self.set.len(),
            secs,
            self.events as f64 / secs.max(1e-9)
        );
    }
}

/// The correlation stage's output and summary.
impl Run<'_> {
    fn write_alerts(&mut self) -> std::io::Result<()> {
        for m in self.corr.take_sequence_matches() {
            let seqs = self.corr.sequences();
            match self.args.format {
                EvalFormat::Jsonl => {
                    serde_json::to_writer(&mut self.out, &seqs.match_json(&m))?;
                    self.out.write_all(b"\n")?;
                }
                EvalFormat::Text => {
                    let s = seqs.sequence(m.sequence);
                    let level = s
                        .meta
                        .level
                        .and_then(|l| serde_json::to_value(l).ok())
                        .and_then(|v| v.as_str().map(str::to_string));
                    let keys: Vec<String> = m
                        .keys
                        .iter()
                        .map(|k| k.as_deref().unwrap_or("null").to_string())
                        .collect();
                    let recs: Vec<String> = m.records.iter().map(u64::to_string).collect();
                    writeln!(
                        self.out,
                        "sequence {}..{}: {} {} ({}) [{}], records {}",
                        correlate::format_time(m.first),
                        correlate::format_time(m.last),
                        level.as_deref().unwrap_or("-"),
                        s.meta.title,
                        seqs.label(m.sequence),
                        keys.join(", "),
                        recs.join(","),
                    )?;
                }
            }
        }
        for a in std::mem::take(&mut self.alerts) {
            match self.args.format {
                EvalFormat::Jsonl => {
                    serde_json::to_writer(&mut self.out, &self.corr.alert_json(&a))?;
                    self.out.write_all(b"\n")?;
                }
                EvalFormat::Text => {
                    let c = self.corr.correlation(a.correlation);
                    let level = c
                        .meta
                        .level
                        .and_then(|l| serde_json::to_value(l).ok())
                        .and_then(|v| v.as_str().map(str::to_string));
                    let group: Vec<String> =
                        a.group.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    let agg = match a.aggregate {
                        correlate::Aggregate::Count(n) => format!("count {n}"),
                        correlate::Aggregate::Value(v) => format!("value {v}"),
                    };
                    let recs: Vec<String> = a.records.iter().map(u64::to_string).collect();
                    writeln!(
                        self.out,
                        "correlation {}..{}: {} {} ({}) [{}] {agg}, records {}{}",
                        correlate::format_time(a.first),
                        correlate::format_time(a.last),
                        level.as_deref().unwrap_or("-"),
                        c.meta.title,
                        self.corr.label(a.correlation),
                        group.join(", "),
                        recs.join(","),
                        if a.truncated { ",…" } else { "" },
                    )?;
                }
            }
        }
        Ok(())
    }

    /// Ends the correlation stage: judges the open windows, prints the last alerts, and
    /// reports (always, even with `-q`) events the correlations could not use.
    fn finish_correlations(&mut self) -> std::io::Result<()> {
        if self.corr.is_empty() {
            return Ok(());
        }
        self.corr.finish(&mut self.alerts);
        self.write_alerts()?;
        self.out.flush()?;
        let st = self.corr.stats().clone();
        let field = self
            .args
            .correlation
            .timestamp_field
            .as_deref()
            .unwrap_or("@timestamp or Event.System.TimeCreated");
        if st.no_timestamp > 0 {
            eprintln!("warning[correlation]: {} event(s) matching rules of correlations have no usable timestamp ({field}): left out of the correlations", st.no_timestamp);
        }
        if st.late > 0 {
            eprintln!("warning[correlation]: {} event(s) arrived later than --max-lateness allows (older than an event already correlated): left out of the correlations", st.late);
        }
        if st.forced > 0 {
            eprintln!("warning[correlation]: the reorder buffer was full ({} events): {} event(s) were correlated before --max-lateness had passed", correlate::DEFAULT_MAX_BUFFERED, st.forced);
        }
        for c in 0..self.corr.len() {
            let cs = self.corr.corr_stats(c);
            let label = self.corr.label(c);
            if cs.capped > 0 {
                eprintln!("warning[correlation]: `{label}`: {} event(s) of new groups dropped at the --max-groups cap ({} live groups)", cs.capped, self.args.correlation.max_groups);
            }
            if cs.no_group > 0 && !self.args.quiet {
                eprintln!(
                    "note: `{label}`: {} event(s) without a usable group-by value ignored",
                    cs.no_group
                );
            }
            if cs.no_value > 0 && !self.args.quiet {
                eprintln!(
                    "note: `{label}`: {} event(s) without a usable value field ignored",
                    cs.no_value
                );
            }
            if !self.args.quiet {
                eprintln!(
                    "{:>9}  alerts of correlation `{label}` ({})",
                    cs.alerts,
                    self.corr.correlation(c).kind.name()
                );
            }
        }
        let seqs = self.corr.sequences();
        for s in 0..seqs.len() {
            let st = seqs.stats(s);
            let label = seqs.label(s);
            if st.capped > 0 {
                eprintln!("warning[sequence]: `{label}`: {} event(s) of new join keys dropped at the cap of {} live keys", st.capped, correlate::DEFAULT_MAX_KEYS);
            }
            if !self.args.quiet {
                if st.no_key > 0 {
                    eprintln!(
                        "note: `{label}`: {} event(s) without a usable join key value ignored",
                        st.no_key
                    );
                }
                eprintln!("{:>9}  sequences `{label}` completed", st.matches);
            }
        }
        Ok(())
    }
}
