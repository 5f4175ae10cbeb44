//! Data feeds (`data`): a file's rows and how they are handed out.

/// A data file's rows, handed to templates as `data.NAME`.
#[derive(Debug, Clone)]
pub struct Feed {
    /// The name templates use.
    pub name: String,
    /// The file as written in the profile.
    pub path: String,
    /// How rows are handed out.
    pub mode: FeedMode,
    /// Column names (CSV header, or the keys every JSON line has).
    pub columns: Vec<String>,
    /// The rows, each an object of column → value.
    pub rows: std::sync::Arc<Vec<minijinja::Value>>,
}

/// How a feed hands out rows: one per arrival (open model) or per user (closed model).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedMode {
    /// In file order, wrapping around.
    Sequential,
    /// At random.
    Random,
    /// Each row once.
    Unique,
}
