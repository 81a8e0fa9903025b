//! `livingcircle presets`: list the built-in presets or print one.

use livingcircle_analysis::{BUILTIN, Preset};

use crate::args::PresetsArgs;

pub(crate) fn run(a: &PresetsArgs) -> anyhow::Result<()> {
    if let Some(name) = &a.show {
        let Some((_, src)) = BUILTIN.iter().find(|(n, _)| n == name) else {
            anyhow::bail!(
                "unknown preset `{name}`; valid: {}",
                Preset::builtin_names().join(", ")
            );
        };
        {
            use std::io::Write as _;
            std::io::stdout().lock().write_all(src.as_bytes())?;
        }
        return Ok(());
    }
    for (name, _) in BUILTIN {
        let p = Preset::load(name)?;
        outln!("{name}: {} ({} categories)", p.name, p.categories.len());
        for c in &p.categories {
            let t = match (c.max_m, c.max_min) {
                (Some(m), _) => format!("{m} m"),
                (_, Some(min)) => format!("{min} min"),
                _ => String::new(),
            };
            let level = c
                .level
                .map(|l| format!("{l}-min circle"))
                .unwrap_or_default();
            let tags: Vec<String> = c.tags.iter().map(ToString::to_string).collect();
            outln!(
                "  {:<16} {:<8} {:<14} {} {} [{}]",
                c.key,
                t,
                level,
                c.name,
                c.name_zh.as_deref().unwrap_or(""),
                tags.join("; ")
            );
        }
    }
    Ok(())
}
