//! Renderings of results for people: the terminal summary and progress line (more formats build
//! on the same number formatting), and the escaping of untrusted text for Markdown.

pub mod capacity;
pub mod escape;
pub mod format;
pub mod terminal;
pub mod verdict;
