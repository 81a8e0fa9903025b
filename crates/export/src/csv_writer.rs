//! A layer's columns as CSV, without its geometry (`isochrones --stats-only`).

use std::io::Write;
use std::path::Path;

use crate::schema::{LayerWriter, RowBuf, Rows, Schema, Value};
use crate::{AtomicFile, Error};

/// CSV with a header row of the schema's column names; one line per row, no
/// geometry. Floats as Rust prints them (`12`, `0.1`), nulls as empty fields,
/// lists of texts as JSON arrays.
pub struct CsvWriter {
    file: AtomicFile,
}

impl CsvWriter {
    /// Starts the file at `path` with its header.
    ///
    /// # Errors
    /// The directory is not writable.
    pub fn create(path: &Path, schema: &Schema) -> Result<Self, Error> {
        let mut file = AtomicFile::create(path)?;
        let mut text = String::new();
        for (i, f) in schema.fields.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            csv_field(&f.name, &mut text);
        }
        text.push('\n');
        file.write_all(text.as_bytes()).map_err(|e| file.error(e))?;
        Ok(CsvWriter { file })
    }
}

/// `s` as a CSV field (quoted when it holds a comma, quote or line break).
pub(crate) fn csv_field(s: &str, out: &mut String) {
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

impl LayerWriter for CsvWriter {
    fn write(&mut self, rows: &dyn Rows) -> Result<(), Error> {
        use std::fmt::Write as _;
        let mut text = String::new();
        let mut buf = RowBuf::default();
        for i in 0..rows.len() {
            buf.clear();
            rows.row(i, &mut buf);
            for (k, v) in buf.values.iter().enumerate() {
                if k > 0 {
                    text.push(',');
                }
                match *v {
                    Value::Null => {}
                    Value::Int(x) => write!(text, "{x}").expect("writing to a String"),
                    Value::Float(x) => write!(text, "{x}").expect("writing to a String"),
                    Value::Bool(x) => text.push_str(if x { "true" } else { "false" }),
                    Value::Text(s) => csv_field(s, &mut text),
                    Value::Formatted { start, len } => {
                        csv_field(buf.formatted(start, len), &mut text)
                    }
                    Value::TextList { start, len } => csv_field(
                        &serde_json::to_string(buf.list(start, len))
                            .expect("a list of strings serialises"),
                        &mut text,
                    ),
                }
            }
            text.push('\n');
        }
        self.file
            .write_all(text.as_bytes())
            .map_err(|e| self.file.error(e))
    }

    fn finish(self: Box<Self>) -> Result<(), Error> {
        self.file.commit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_when_needed() {
        let mut s = String::new();
        for f in ["plain", "a,b", "say \"hi\"", "two\nlines"] {
            csv_field(f, &mut s);
            s.push('|');
        }
        assert_eq!(s, "plain|\"a,b\"|\"say \"\"hi\"\"\"|\"two\nlines\"|");
    }
}
