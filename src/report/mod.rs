//! Renderings of results for people: the terminal summary and progress line (more formats build
//! on the same number formatting).

pub mod format;
pub mod terminal;
pub mod verdict;
