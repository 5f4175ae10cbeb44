//! Renderings of results for people and machines. One view model ([`view::Report`]) feeds the
//! minijinja templates ([`render`]): Markdown for the PR comment and job summary, JUnit XML and
//! a self-contained HTML page; the terminal summary and verdict are plain text ([`terminal`],
//! [`verdict`]). Untrusted text is escaped on the way in ([`escape`]); charts come from
//! [`series`] and [`chart`].

pub mod capacity;
pub mod chart;
pub mod csv;
pub mod escape;
pub mod failure;
pub mod levels;
pub mod render;
pub mod series;
pub mod terminal;
pub mod verdict;
pub mod view;

pub use render::{Format, Renderer, ReportInput, TemplateError};
pub use view::{Links, Report};
