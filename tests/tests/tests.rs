//! One integration-test binary; modules by topic.

mod analyze;
mod bad_input;
mod bundled;
mod fixtures;
mod formats;
mod isochrones;
mod oracle;
mod report;
mod shared;
mod site;
mod util;
