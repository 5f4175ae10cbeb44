//! Paths into JSON documents: a JSON pointer (`/data/items/0/id`) or a simple path
//! (`data.items[0].id`, `$.data.items.0.id`). Used by checks (and extraction) on responses.

use std::fmt;

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// A key of an object (or, when numeric, also an index into an array).
    Key(String),
    /// An index into an array.
    Index(usize),
}

/// A parsed path (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath {
    source: String,
    steps: Vec<Step>,
}

impl JsonPath {
    /// Parses either syntax; the error says what was expected.
    pub fn parse(text: &str) -> Result<Self, String> {
        let source = text.to_string();
        let t = text.trim();
        if t.is_empty() || t == "/" || t == "$" {
            return Ok(Self {
                source,
                steps: Vec::new(),
            });
        }
        let steps = if let Some(pointer) = t.strip_prefix('/') {
            pointer
                .split('/')
                .map(|s| Step::Key(s.replace("~1", "/").replace("~0", "~")))
                .collect()
        } else {
            parse_dotted(t.strip_prefix("$.").unwrap_or(t)).map_err(|why| {
                format!("invalid JSON path `{text}`: {why}; write a pointer like `/data/items/0/id` or a path like `data.items[0].id`")
            })?
        };
        Ok(Self { source, steps })
    }

    /// The value at this path, if present.
    pub fn resolve<'v>(&self, root: &'v serde_json::Value) -> Option<&'v serde_json::Value> {
        let mut at = root;
        for step in &self.steps {
            at = match (step, at) {
                (Step::Key(k), serde_json::Value::Object(map)) => map.get(k)?,
                (Step::Key(k), serde_json::Value::Array(items)) => {
                    items.get(k.parse::<usize>().ok()?)?
                }
                (Step::Index(i), serde_json::Value::Array(items)) => items.get(*i)?,
                _ => return None,
            };
        }
        Some(at)
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

fn parse_dotted(text: &str) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    for part in text.split('.') {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if key.is_empty() && rest.is_empty() {
            return Err("empty segment".into());
        }
        if !key.is_empty() {
            steps.push(Step::Key(key.to_string()));
        }
        while let Some(inner) = rest.strip_prefix('[') {
            let close = inner.find(']').ok_or("unclosed `[`")?;
            let index = inner[..close]
                .trim()
                .parse::<usize>()
                .map_err(|_| format!("`[{}]` is not an array index", &inner[..close]))?;
            steps.push(Step::Index(index));
            rest = &inner[close + 1..];
        }
        if !rest.is_empty() {
            return Err(format!("unexpected `{rest}`"));
        }
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_syntaxes_resolve() {
        let doc = json!({"data": {"items": [{"id": 7}, {"id": 9, "a/b": 1}]}});
        for path in [
            "/data/items/1/id",
            "data.items[1].id",
            "$.data.items[1].id",
            "data.items.1.id",
        ] {
            assert_eq!(
                JsonPath::parse(path).unwrap().resolve(&doc),
                Some(&json!(9)),
                "{path}"
            );
        }
        assert_eq!(
            JsonPath::parse("/data/items/1/a~1b").unwrap().resolve(&doc),
            Some(&json!(1))
        );
        assert_eq!(JsonPath::parse("data.missing").unwrap().resolve(&doc), None);
        assert_eq!(JsonPath::parse("$").unwrap().resolve(&doc), Some(&doc));
    }

    #[test]
    fn bad_paths_are_explained() {
        for bad in ["a..b", "a[x]", "a[1", "a[1]x"] {
            let err = JsonPath::parse(bad).unwrap_err();
            assert!(err.starts_with("invalid JSON path"), "{bad}: {err}");
        }
    }
}
