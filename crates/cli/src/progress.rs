//! Progress on stderr: a spinner naming the running stage, which turns into a bar
//! with a count for stages that go item by item. Hidden without a terminal or with
//! `-q`.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Resident memory now and at its peak so far, in MiB (Linux `/proc/self/status`;
/// `None` elsewhere).
pub(crate) fn memory_mib() -> Option<(f64, f64)> {
    let mib = |name| proc_kib("/proc/self/status", name).map(|kib| kib as f64 / 1024.0);
    Some((mib("VmRSS:")?, mib("VmHWM:")?))
}

/// The value of a `Name:   N kB` line of a Linux `/proc` file, in KiB.
pub(crate) fn proc_kib(file: &str, name: &str) -> Option<u64> {
    std::fs::read_to_string(file)
        .ok()?
        .lines()
        .find(|l| l.starts_with(name))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The stage display.
pub(crate) struct Stages {
    bar: ProgressBar,
    /// The library's stage last shown by [`Stages::on`].
    shown: std::sync::Mutex<Option<&'static str>>,
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

impl Stages {
    pub(crate) fn new(quiet: bool) -> Self {
        let bar = if quiet || !std::io::stderr().is_terminal() {
            ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden())
        } else {
            let b = ProgressBar::new_spinner();
            b.set_style(spinner_style());
            b.enable_steady_tick(Duration::from_millis(100));
            b
        };
        Stages {
            bar,
            shown: std::sync::Mutex::new(None),
        }
    }

    /// Shows the library's progress: a new stage when it changes (a bar when it
    /// counts, in bytes when reading), else the count.
    pub(crate) fn on(&self, p: livingcircle::Progress) {
        use livingcircle::Progress;
        let msg = p.stage();
        let mut shown = self
            .shown
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *shown != Some(msg) {
            *shown = Some(msg);
            match (p, p.count()) {
                (Progress::Reading { .. }, Some((_, total))) => self.bytes(msg, total),
                (_, Some((_, total))) => self.counted(msg, total),
                (_, None) => self.stage(msg),
            }
        }
        if let Some((done, _)) = p.count() {
            self.set(done);
        }
    }

    /// A new stage with a spinner.
    pub(crate) fn stage(&self, msg: &'static str) {
        self.bar.set_style(spinner_style());
        self.bar.set_message(msg);
        log_stage(msg);
    }

    /// A new stage of `len` items, shown as a bar; advance it with [`Stages::inc`].
    pub(crate) fn counted(&self, msg: &'static str, len: u64) {
        self.bar.set_message(msg);
        self.bar.set_style(
            ProgressStyle::with_template(
                "{elapsed:>4} {msg} [{bar:30}] {human_pos}/{human_len} ({per_sec}, {eta} left)",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        self.bar.set_length(len);
        self.bar.set_position(0);
        self.bar.set_message(msg);
        log_stage(msg);
    }

    /// A new stage over `len` bytes of a file, shown as a bar; move it with
    /// [`Stages::set`].
    pub(crate) fn bytes(&self, msg: &'static str, len: u64) {
        self.bar.set_message(msg);
        self.bar.set_style(
            ProgressStyle::with_template(
                "{elapsed:>4} {msg} [{bar:30}] {bytes}/{total_bytes} ({eta} left)",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        self.bar.set_length(len);
        self.bar.set_position(0);
        self.bar.set_message(msg);
        log_stage(msg);
    }

    /// Moves a [`Stages::bytes`] or [`Stages::counted`] stage to `pos` (never back).
    pub(crate) fn set(&self, pos: u64) {
        if pos > self.bar.position() {
            self.bar.set_position(pos);
        }
    }

    pub(crate) fn done(&self) {
        self.bar.finish_and_clear();
    }
}

/// Logs a stage's start with the memory held then.
fn log_stage(msg: &str) {
    match memory_mib() {
        Some((rss, peak)) => {
            tracing::info!(rss_mib = rss.round(), peak_mib = peak.round(), "{msg}");
        }
        None => tracing::info!("{msg}"),
    }
}

impl Drop for Stages {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
