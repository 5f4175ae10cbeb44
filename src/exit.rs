//! How the process ends: the exit codes, documented with the top-level error in
//! [`crate::error`], which also maps every gate verdict to one.

/// How the process ends (see the module docs for the table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// 0: pass or improvement.
    Pass,
    /// 1: regression or threshold breach.
    Regression,
    /// 2: usage or profile error.
    Usage,
    /// 3: untrusted or incomplete run.
    Untrusted,
    /// 4: publishing failed where required.
    Publish,
}

impl ExitCode {
    /// The numeric code.
    pub fn code(self) -> u8 {
        match self {
            ExitCode::Pass => 0,
            ExitCode::Regression => 1,
            ExitCode::Usage => 2,
            ExitCode::Untrusted => 3,
            ExitCode::Publish => 4,
        }
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code.code())
    }
}
