//! The environment variables a profile's templates read (`{{ env.NAME }}`), behind a seam like
//! the data files' ([`super::DataFiles`]): profile code never reads the process environment.
//! The app passes it for a run; a profile parsed from text alone sees none.

/// Looks up the environment variables templates read.
pub trait EnvVars {
    /// The variable's value, `None` when it is not set.
    fn var(&self, name: &str) -> Option<String>;
}

/// No variable is set (a profile parsed from text alone).
pub struct NoEnvVars;

impl EnvVars for NoEnvVars {
    fn var(&self, _name: &str) -> Option<String> {
        None
    }
}

/// Any lookup function (`&|name: &str| std::env::var(name).ok()` is the process environment).
impl<F: Fn(&str) -> Option<String>> EnvVars for F {
    fn var(&self, name: &str) -> Option<String> {
        self(name)
    }
}
