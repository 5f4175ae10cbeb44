//! What a template may read ([`Scope`]): the names checked when the profile loads.

use std::collections::{BTreeMap, BTreeSet};

use minijinja::Value;

use super::shorten;

/// What a template may read besides `env` and the functions: variables extracted so far and
/// the columns of declared data feeds. Checked when the profile loads.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Variables available as `vars.NAME`.
    pub vars: BTreeSet<String>,
    /// Feeds available as `data.NAME.column`, with their columns.
    pub feeds: BTreeMap<String, Vec<String>>,
    /// The first row of each feed in scope, to try templates with at load time.
    pub samples: BTreeMap<String, Value>,
}

impl Scope {
    pub(super) fn check(&self, var: &str, source: &str) -> Result<(), String> {
        let mut parts = var.split('.');
        let root = parts.next().unwrap_or(var);
        let list = |items: &mut dyn Iterator<Item = &String>| {
            let names: Vec<String> = items.map(|n| format!("`{n}`")).collect();
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        };
        // `vars` / `data` without a dotted name (like `vars['x']`) cannot be checked here and
        // pass, like every name that is in scope.
        match (root, parts.next(), parts.next()) {
            ("vars", Some(name), _) if !self.vars.contains(name) => Err(format!(
                "unknown variable `vars.{name}` in template `{}`: expected a value extracted by `setup` or an earlier step of the scenario ({})",
                shorten(source),
                list(&mut self.vars.iter())
            )),
            ("data", Some(feed), column) => match self.feeds.get(feed) {
                None => Err(format!(
                    "unknown data feed `{feed}` in template `{}`: expected a feed declared under `data` ({})",
                    shorten(source),
                    list(&mut self.feeds.keys())
                )),
                Some(_) if column.is_none() => Err(format!(
                    "`data.{feed}` needs a column in template `{}`: expected `{{{{ data.{feed}.COLUMN }}}}`",
                    shorten(source)
                )),
                Some(columns) => {
                    let column = column.unwrap_or_default();
                    if columns.iter().any(|c| c == column) {
                        Ok(())
                    } else {
                        Err(format!(
                            "data feed `{feed}` has no column `{column}` (template `{}`): expected one of {}",
                            shorten(source),
                            list(&mut columns.iter())
                        ))
                    }
                }
            },
            _ => Ok(()),
        }
    }
}
