//! The functions request templates may call (`random_int`, `random_choice`, `uuid`, `now`,
//! `fake_*`, `env`) and the stand-in that plays `vars` when a template is tried at load time.
//!
//! Every error a function raises starts with the call (`random_int(5, 1): …`), so the load-time
//! check can tell a misused function from a stand-in that merely lacks a real value.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use minijinja::value::{Enumerator, Object, ObjectRepr, Rest};
use minijinja::{Environment, Error as JinjaError, ErrorKind, State, Value};

/// The functions templates may call.
pub(super) const FUNCTIONS: &[&str] = &[
    "random_int",
    "random_choice",
    "uuid",
    "now",
    "fake_name",
    "fake_first_name",
    "fake_last_name",
    "fake_email",
    "env",
];

/// Adds the function set and an empty `env` to `env`.
pub(super) fn install(env: &mut Environment<'static>) {
    env.add_function("random_int", random_int);
    env.add_function("random_choice", random_choice);
    env.add_function("uuid", random_uuid);
    env.add_function("now", now);
    env.add_function("fake_name", fake_name);
    env.add_function("fake_first_name", || fake_first_name().to_string());
    env.add_function("fake_last_name", || fake_last_name().to_string());
    env.add_function("fake_email", fake_email);
    env.add_global("env", env_global(BTreeMap::new()));
}

/// `fake_name()`: a first and a last name.
pub(super) fn fake_name() -> String {
    format!("{} {}", pick(FIRST_NAMES), pick(LAST_NAMES))
}

/// `fake_first_name()`.
pub(super) fn fake_first_name() -> &'static str {
    pick(FIRST_NAMES)
}

/// `fake_last_name()`.
pub(super) fn fake_last_name() -> &'static str {
    pick(LAST_NAMES)
}

/// `fake_email()`: `first.last1234@example.com`.
pub(super) fn fake_email() -> String {
    format!(
        "{}.{}{}@example.com",
        pick(FIRST_NAMES).to_lowercase(),
        pick(LAST_NAMES).to_lowercase(),
        fastrand::u32(1..10_000)
    )
}

/// The `env` global holding `vars` (name → value).
pub(super) fn env_global(vars: BTreeMap<String, String>) -> Value {
    Value::from_object(EnvVars(vars))
}

/// True when `e` was raised by one of the functions above (a misuse whatever the values).
pub(super) fn raised_by_a_function(e: &JinjaError) -> bool {
    e.detail().is_some_and(|d| {
        FUNCTIONS
            .iter()
            .any(|f| d.strip_prefix(f).is_some_and(|rest| rest.starts_with('(')))
    })
}

fn function_error(message: String) -> JinjaError {
    JinjaError::new(ErrorKind::InvalidOperation, message)
}

/// A stand-in for a value only known at run time (`vars`): any attribute or item of it is
/// another stand-in, and it renders as `sample`. Functions accept it anywhere.
#[derive(Debug)]
struct StandIn;

impl Object for StandIn {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, _key: &Value) -> Option<Value> {
        Some(stand_in())
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("sample")
    }
}

/// A value only known at run time, for trying templates at load time.
pub(super) fn stand_in() -> Value {
    Value::from_object(StandIn)
}

fn is_stand_in(v: &Value) -> bool {
    v.downcast_object_ref::<StandIn>().is_some()
}

#[allow(clippy::needless_pass_by_value)] // minijinja passes arguments by value
fn random_int(low: Value, high: Value) -> Result<Value, JinjaError> {
    if is_stand_in(&low) || is_stand_in(&high) {
        return Ok(Value::from(0));
    }
    let whole = |v: &Value| {
        i64::try_from(v.clone()).map_err(|_| {
            function_error(format!(
                "random_int({low:?}, {high:?}): `{v}` is not a whole number"
            ))
        })
    };
    let (a, b) = (whole(&low)?, whole(&high)?);
    if a > b {
        return Err(function_error(format!(
            "random_int({a}, {b}): the first bound is larger than the second"
        )));
    }
    Ok(Value::from(fastrand::i64(a..=b)))
}

#[allow(clippy::needless_pass_by_value)] // minijinja passes arguments by value
fn random_choice(items: Rest<Value>) -> Result<Value, JinjaError> {
    if items.iter().any(is_stand_in) {
        return Ok(stand_in());
    }
    // `random_choice(["a", "b"])` or `random_choice("a", "b")`.
    let pool: Vec<Value> = match items.as_slice() {
        [one] if one.as_object().is_some() || one.len().is_some() && one.as_str().is_none() => {
            one.try_iter()?.collect()
        }
        many => many.to_vec(),
    };
    if pool.is_empty() {
        return Err(function_error(
            "random_choice(): needs at least one item, like `random_choice('a', 'b')`".into(),
        ));
    }
    Ok(pool[fastrand::usize(..pool.len())].clone())
}

/// The `env` global: a map (`env.NAME`) that can also be called (`env('NAME')`), holding only
/// the variables the templates were checked to read.
#[derive(Debug)]
struct EnvVars(BTreeMap<String, String>);

impl Object for EnvVars {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.0.get(key.as_str()?).map(|v| Value::from(v.as_str()))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.0.keys().map(|k| Value::from(k.as_str())).collect())
    }

    fn call(self: &Arc<Self>, _: &mut State<'_, '_>, args: &[Value]) -> Result<Value, JinjaError> {
        let name = match args {
            [name] => name.as_str(),
            _ => None,
        }
        .ok_or_else(|| function_error("env(): takes one name, like env('API_TOKEN')".into()))?;
        self.get_value(&Value::from(name)).ok_or_else(|| {
            JinjaError::new(
                ErrorKind::UndefinedError,
                format!("env('{name}'): environment variable `{name}` is not set"),
            )
        })
    }
}

/// A random (version 4) UUID from the thread's fast generator.
pub fn random_uuid() -> String {
    uuid::Builder::from_random_bytes(fastrand::u128(..).to_le_bytes())
        .into_uuid()
        .hyphenated()
        .to_string()
}

#[allow(clippy::needless_pass_by_value)] // minijinja passes arguments by value
fn now(format: Option<Value>) -> Result<Value, JinjaError> {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    if format.as_ref().is_some_and(is_stand_in) {
        return Ok(Value::from(since.as_secs()));
    }
    match format.as_ref().map(|f| f.as_str()) {
        None | Some(Some("rfc3339" | "iso")) => Ok(Value::from(
            humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
        )),
        Some(Some("unix")) => Ok(Value::from(since.as_secs())),
        Some(Some("unix_ms")) => Ok(Value::from(since.as_millis() as u64)),
        Some(_) => Err(function_error(format!(
            "now({:?}): use `rfc3339` (default), `unix` or `unix_ms`",
            format.unwrap_or_default()
        ))),
    }
}

fn pick(list: &[&'static str]) -> &'static str {
    list[fastrand::usize(..list.len())]
}

const FIRST_NAMES: &[&str] = &[
    "Ada", "Alan", "Amara", "Ben", "Chen", "Dana", "Elena", "Farah", "Grace", "Hiro", "Ines",
    "Jonas", "Kofi", "Lena", "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq",
    "Uma", "Viktor", "Wen", "Yara", "Zoe",
];
const LAST_NAMES: &[&str] = &[
    "Abe", "Becker", "Costa", "Diallo", "Evans", "Fischer", "Garcia", "Haddad", "Ivanova",
    "Jensen", "Kim", "Lopez", "Moreau", "Nakamura", "Okafor", "Patel", "Rossi", "Silva", "Tanaka",
    "Umar", "Varga", "Weber", "Xu", "Yilmaz", "Zhang",
];
