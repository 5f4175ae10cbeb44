//! Request templates: minijinja, compiled once when the profile loads.
//!
//! A string without `{{`, `{%` or `{#` is a literal and never touches the engine. Templates see
//! a small sandboxed function set ([`super::functions`]) and the `env` object; unknown
//! variables, unset environment variables and templates that cannot render (tried once with
//! sample values) are load-time errors, so a typo never becomes a runtime surprise.

mod scope;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::LazyLock;

use minijinja::{Environment, Error as JinjaError, ErrorKind, UndefinedBehavior, Value};
use regex::Regex;

use super::environment::EnvVars;
use super::fast::Fast;
use super::functions::{self, FUNCTIONS};
pub use scope::Scope;

/// A piece of request text: literal, or a compiled template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Text {
    /// Sent as written.
    Literal(String),
    /// Rendered for every request.
    Template {
        /// Index into [`Templates`].
        id: usize,
        /// The source, for messages and reports.
        source: String,
        /// True when it reads `vars` or `data` (it renders with a per-request context).
        contextual: bool,
    },
}

impl Text {
    /// The text as written in the profile.
    pub fn source(&self) -> &str {
        match self {
            Text::Literal(s) | Text::Template { source: s, .. } => s,
        }
    }

    /// True when it never changes between requests.
    pub fn is_literal(&self) -> bool {
        matches!(self, Text::Literal(_))
    }

    /// True when rendering needs the request's `vars` and `data`.
    pub fn is_contextual(&self) -> bool {
        matches!(
            self,
            Text::Template {
                contextual: true,
                ..
            }
        )
    }
}

/// `env('NAME')` calls, whose names are checked at load like `env.NAME`.
static ENV_CALL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"\benv\s*\(\s*['"]([^'"]+)['"]\s*\)"#).expect("constant regex"));
/// Every call of `env`, quoted name or not.
static ANY_ENV_CALL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\benv\s*\(").expect("constant regex"));

/// Names a template may use besides its functions: `env` and minijinja's built-in globals.
const VARIABLES: &[&str] = &[
    "env",
    "range",
    "dict",
    "namespace",
    "lipsum",
    "cycler",
    "joiner",
];

/// All compiled templates of a profile.
pub struct Templates {
    env: Environment<'static>,
    /// Per compiled template (its id is the index), its direct rendering when it has one of
    /// the common shapes.
    fast: Vec<Option<Fast>>,
    /// Per compiled template, whether it reads `vars` (known only once setup has run).
    reads_vars: Vec<bool>,
    /// Environment variables the templates read (their values are secrets to mask).
    env_vars: BTreeMap<String, String>,
    /// Whether a variable that is not set is an error (a run) or stands in empty (reading the
    /// profile for its gate settings only, see [`Templates::for_settings`]).
    env_required: bool,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("count", &self.fast.len())
            .field("env_vars", &self.env_vars.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Default for Templates {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether a string needs the template engine at all.
pub fn is_template(text: &str) -> bool {
    text.contains("{{") || text.contains("{%") || text.contains("{#")
}

/// When `text` is exactly one `{{ expression }}`, the expression.
pub fn sole_expression(text: &str) -> Option<&str> {
    let t = text.trim();
    let inner = t.strip_prefix("{{")?.strip_suffix("}}")?;
    let inner = inner.strip_prefix('-').unwrap_or(inner);
    let inner = inner.strip_suffix('-').unwrap_or(inner);
    if inner.contains("{{") || inner.contains("}}") || inner.contains("{%") {
        return None;
    }
    Some(inner.trim())
}

impl Templates {
    /// An engine with loadgate's function set and no templates yet.
    pub fn new() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        functions::install(&mut env);
        Self {
            env,
            fast: Vec::new(),
            reads_vars: Vec::new(),
            env_vars: BTreeMap::new(),
            env_required: true,
        }
    }

    /// An engine for reading a profile's settings (gate, thresholds) without sending anything:
    /// templates are still compiled and checked, but an environment variable that is not set
    /// stands in as an empty string and templates are not rendered with sample values. Rendering
    /// a report in a job without the run's secrets (the fork-safe comment workflow) needs this.
    pub fn for_settings() -> Self {
        Self {
            env_required: false,
            ..Self::new()
        }
    }

    /// Compiles `source` into a [`Text`] (a literal when it has no template syntax), checking
    /// every name it reads against `scope`. The error message says what is wrong; the caller
    /// adds where.
    pub fn text(&mut self, source: &str, scope: &Scope, env: &dyn EnvVars) -> Result<Text, String> {
        if !is_template(source) {
            return Ok(Text::Literal(source.to_string()));
        }
        let (id, contextual) = self.add(source, source, scope, env, Fast::text(source))?;
        Ok(Text::Template {
            id,
            source: source.to_string(),
            contextual,
        })
    }

    /// Compiles a single expression whose value is rendered as JSON (for typed JSON fields).
    /// Returns the template and whether it reads `vars` or `data`.
    pub fn json_expression(
        &mut self,
        expression: &str,
        scope: &Scope,
        env: &dyn EnvVars,
    ) -> Result<(usize, bool), String> {
        let wrapped = format!("{{{{ ({expression}) | tojson }}}}");
        self.add(
            &wrapped,
            &format!("{{{{ {expression} }}}}"),
            scope,
            env,
            Fast::json(expression),
        )
    }

    /// Compiles `source`; messages show `shown` (the text as the profile wrote it, where
    /// loadgate rewrote it). `fast` is its direct rendering, if it has one; the template is
    /// still compiled and checked by the engine.
    fn add(
        &mut self,
        source: &str,
        shown: &str,
        scope: &Scope,
        env: &dyn EnvVars,
        fast: Option<Fast>,
    ) -> Result<(usize, bool), String> {
        let id = self.fast.len();
        let name = template_name(id);
        self.env
            .add_template_owned(name.clone(), source.to_string())
            .map_err(|e| {
                format!(
                    "invalid template `{}` ({}): expected minijinja syntax like `{{{{ random_int(1, 10) }}}}` or `{{{{ vars.id }}}}`, with every `{{{{` closed by `}}}}` and every bracket and quote closed",
                    shorten(shown),
                    describe(&e)
                )
            })?;
        let template = self.env.get_template(&name).map_err(|e| describe(&e))?;
        let mut wanted_env = BTreeSet::new();
        let mut contextual = false;
        let mut reads_vars = false;
        if ANY_ENV_CALL.find_iter(source).count() != ENV_CALL.find_iter(source).count() {
            return Err(format!(
                "`env()` with a computed name in template `{}`: expected a quoted name like `env('API_TOKEN')` or `env.API_TOKEN` (a computed name cannot be checked when the profile loads)",
                shorten(shown)
            ));
        }
        for var in template.undeclared_variables(true) {
            let root = var.split('.').next().unwrap_or(&var);
            if FUNCTIONS.contains(&root) && root != "env" {
                continue;
            }
            if root == "env" {
                match var.split_once('.') {
                    Some((_, name)) => {
                        wanted_env.insert(name.to_string());
                    }
                    None if !source.contains("env(") => {
                        return Err("`env` needs a variable name: write `{{ env.NAME }}`".into());
                    }
                    None => {}
                }
                continue;
            }
            if root == "vars" || root == "data" {
                scope.check(&var, shown)?;
                contextual = true;
                reads_vars |= root == "vars";
                continue;
            }
            if !VARIABLES.contains(&root) {
                return Err(format!(
                    "unknown variable `{root}` in template `{}`: expected `env.NAME`, `vars.NAME`, `data.FEED.COLUMN` or one of the functions {}",
                    shorten(shown),
                    FUNCTIONS
                        .iter()
                        .map(|f| format!("`{f}()`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        for cap in ENV_CALL.captures_iter(source) {
            wanted_env.insert(cap[1].to_string());
        }
        for name in wanted_env {
            let value = match env.var(&name) {
                Some(value) => value,
                None if !self.env_required => String::new(),
                None => {
                    return Err(format!(
                        "template reads environment variable `{name}`, which is not set: expected it set before loadgate starts (`export {name}=…`)"
                    ));
                }
            };
            self.env_vars.insert(name, value);
        }
        self.env
            .add_global("env", functions::env_global(self.env_vars.clone()));
        if self.env_required {
            self.try_render(&name, shown, scope, reads_vars)?;
        }
        self.fast.push(fast);
        self.reads_vars.push(reads_vars);
        Ok((id, contextual))
    }

    /// Renders a new template once with sample values (the first row of each feed in scope,
    /// stand-ins for `vars`), so an unknown filter or a misused function is a load-time error
    /// instead of a failure of every request. A template that reads `vars` is only held to
    /// what fails whatever their values (unknown filters and tests, wrong argument counts, a
    /// function's own complaint), since the stand-ins are not real values.
    fn try_render(
        &self,
        name: &str,
        shown: &str,
        scope: &Scope,
        reads_vars: bool,
    ) -> Result<(), String> {
        let context = Value::from(BTreeMap::from([
            ("vars", functions::stand_in()),
            ("data", Value::from(scope.samples.clone())),
        ]));
        let template = self.env.get_template(name).map_err(|e| describe(&e))?;
        let Err(e) = template.render(context) else {
            return Ok(());
        };
        let regardless_of_values = functions::raised_by_a_function(&e)
            || matches!(
                e.kind(),
                ErrorKind::SyntaxError
                    | ErrorKind::UnknownFilter
                    | ErrorKind::UnknownTest
                    | ErrorKind::UnknownFunction
                    | ErrorKind::TooManyArguments
                    | ErrorKind::MissingArgument
                    | ErrorKind::UnknownBlock
            );
        if reads_vars && !regardless_of_values {
            return Ok(());
        }
        let tried_with = match (reads_vars, scope.samples.is_empty()) {
            (false, true) => "",
            (false, false) => " (tried with the first row of each data feed)",
            (true, true) => " (tried with stand-ins for `vars`)",
            (true, false) => {
                " (tried with the first row of each data feed and stand-ins for `vars`)"
            }
        };
        Err(format!(
            "template `{}` cannot render ({}): expected known filters and tests, and functions called with valid arguments{tried_with}",
            shorten(shown),
            describe(&e)
        ))
    }

    /// What `text` renders to with the environment and the first row of each data feed in
    /// `scope`, as far as that is known when the profile loads: `None` when it reads `vars`
    /// (setup produces them), when environment variables may stand in empty (see
    /// [`Templates::for_settings`]), or when it cannot render (reported when it was compiled).
    pub fn sample(&self, text: &Text, scope: &Scope) -> Option<String> {
        match text {
            Text::Literal(s) => Some(s.clone()),
            Text::Template { id, .. } => {
                if !self.env_required || self.reads_vars.get(*id).is_none_or(|r| *r) {
                    return None;
                }
                let context = Value::from(BTreeMap::from([(
                    "data",
                    Value::from(scope.samples.clone()),
                )]));
                self.render_with_engine(*id, &context).ok()
            }
        }
    }

    /// Renders template `id` with a context (`()` or a map with `vars` and `data`).
    pub fn render(&self, id: usize, context: &Value) -> Result<String, String> {
        if let Some(Some(fast)) = self.fast.get(id) {
            return Ok(fast.render());
        }
        self.render_with_engine(id, context)
    }

    /// Renders template `id` with minijinja, whatever its shape.
    fn render_with_engine(&self, id: usize, context: &Value) -> Result<String, String> {
        let template = self
            .env
            .get_template(&template_name(id))
            .map_err(|e| describe(&e))?;
        template.render(context.clone()).map_err(|e| describe(&e))
    }

    /// Renders a [`Text`] with a context.
    pub fn render_text<'a>(
        &self,
        text: &'a Text,
        context: &Value,
    ) -> Result<std::borrow::Cow<'a, str>, String> {
        match text {
            Text::Literal(s) => Ok(std::borrow::Cow::Borrowed(s)),
            Text::Template { id, .. } => self.render(*id, context).map(std::borrow::Cow::Owned),
        }
    }

    /// The environment variables templates read, name and value: secrets, masked in outputs.
    pub fn env_values(&self) -> impl Iterator<Item = (&str, &str)> {
        self.env_vars
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
    }

    /// Number of compiled templates.
    pub fn len(&self) -> usize {
        self.fast.len()
    }

    /// True when the profile has no templates.
    pub fn is_empty(&self) -> bool {
        self.fast.is_empty()
    }
}

/// The start of a long template, for messages.
fn shorten(source: &str) -> String {
    let one_line = source.replace('\n', " ");
    if one_line.chars().count() <= 60 {
        return one_line;
    }
    let mut cut: String = one_line.chars().take(57).collect();
    cut.push('…');
    cut
}

fn template_name(id: usize) -> String {
    format!("t{id}")
}

/// A one-line description of a minijinja error (kind, detail, no template name).
fn describe(e: &JinjaError) -> String {
    let mut text = match e.detail() {
        Some(detail) => format!("{}: {detail}", e.kind()),
        None => e.kind().to_string(),
    };
    if let Some(line) = e.line() {
        let _ = write!(text, " (template line {line})");
    }
    text
}
