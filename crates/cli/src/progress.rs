//! Stage spinners on stderr, hidden without a terminal or with `-q`.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A spinner that names the running stage.
pub(crate) struct Stages {
    bar: ProgressBar,
}

impl Stages {
    pub(crate) fn new(quiet: bool) -> Self {
        let bar = if quiet || !std::io::stderr().is_terminal() {
            ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden())
        } else {
            let b = ProgressBar::new_spinner();
            b.set_style(
                ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            b.enable_steady_tick(Duration::from_millis(100));
            b
        };
        Stages { bar }
    }

    pub(crate) fn stage(&self, msg: &'static str) {
        self.bar.set_message(msg);
        tracing::info!("{msg}");
    }

    pub(crate) fn done(&self) {
        self.bar.finish_and_clear();
    }
}

impl Drop for Stages {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
