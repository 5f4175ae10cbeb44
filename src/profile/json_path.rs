//! Paths into JSON documents: a JSON pointer (`/data/items/0/id`) or a simple path
//! (`data.items[0].id`, `$.data.items.0.id`). Used by checks (and extraction) on responses.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize as _;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use smallvec::SmallVec;

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
    pub fn resolve<'v>(&self, root: &'v Value) -> Option<&'v Value> {
        resolve_steps(root, &self.steps)
    }

    /// The values at `paths` in the JSON document `body`, as [`JsonPath::resolve`] on the parsed
    /// document would give them, read in one pass without building the document: only the values
    /// at the paths are built, everything off the paths is skipped (and still checked to be valid
    /// JSON, as is the whole body). Responses are checked this way on every request, where
    /// building the whole document allocated every string and object of it.
    pub fn select(body: &[u8], paths: &[&JsonPath]) -> Result<JsonValues, serde_json::Error> {
        let mut out: JsonValues = std::iter::repeat_n(None, paths.len()).collect();
        let routes: Routes<'_> = paths
            .iter()
            .enumerate()
            .map(|(slot, p)| (slot, p.steps.as_slice()))
            .collect();
        let mut de = serde_json::Deserializer::from_slice(body);
        Walk {
            routes: &routes,
            out: &mut out,
        }
        .deserialize(&mut de)?;
        de.end()?;
        Ok(out)
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

fn resolve_steps<'v>(root: &'v Value, steps: &[Step]) -> Option<&'v Value> {
    let mut at = root;
    for step in steps {
        at = match (step, at) {
            (Step::Key(k), Value::Object(map)) => map.get(k)?,
            (Step::Key(k), Value::Array(items)) => items.get(k.parse::<usize>().ok()?)?,
            (Step::Index(i), Value::Array(items)) => items.get(*i)?,
            _ => return None,
        };
    }
    Some(at)
}

/// The values [`JsonPath::select`] found, one per path (inline for the usual few paths).
pub type JsonValues = SmallVec<[Option<Value>; 4]>;

/// A path still to follow: its output slot and the steps left.
type Route<'p> = (usize, &'p [Step]);
/// Routes, inline for the usual few: no allocation per object level or array element.
type Routes<'p> = SmallVec<[Route<'p>; 4]>;

/// Follows the routes into one value.
struct Walk<'r, 'p, 'o> {
    routes: &'r [Route<'p>],
    out: &'o mut [Option<Value>],
}

impl<'de> DeserializeSeed<'de> for Walk<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        if self.routes.iter().any(|(_, steps)| steps.is_empty()) {
            // A path ends here: build this value, and resolve any longer path inside it.
            let value = Value::deserialize(d)?;
            for (slot, steps) in self.routes {
                self.out[*slot] = resolve_steps(&value, steps).cloned();
            }
            return Ok(());
        }
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Key(key)) = map.next_key()? {
            let next: Routes<'_> = self
                .routes
                .iter()
                .filter(|(_, steps)| matches!(&steps[0], Step::Key(k) if *k == key))
                .map(|(slot, steps)| (*slot, &steps[1..]))
                .collect();
            if next.is_empty() {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            // A repeated key replaces the earlier value, as in a parsed document.
            for (slot, _) in &next {
                self.out[*slot] = None;
            }
            map.next_value_seed(Walk {
                routes: &next,
                out: self.out,
            })?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0usize;
        loop {
            let next: Routes<'_> = self
                .routes
                .iter()
                .filter(|(_, steps)| match &steps[0] {
                    Step::Index(i) => *i == index,
                    Step::Key(k) => k.parse::<usize>().ok() == Some(index),
                })
                .map(|(slot, steps)| (*slot, &steps[1..]))
                .collect();
            let more = if next.is_empty() {
                seq.next_element::<IgnoredAny>()?.is_some()
            } else {
                seq.next_element_seed(Walk {
                    routes: &next,
                    out: self.out,
                })?
                .is_some()
            };
            if !more {
                return Ok(());
            }
            index += 1;
        }
    }

    // Scalars hold no paths: the routes that reach one stay unresolved.
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

/// An object key, borrowed from the body unless it holds escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(KeyVisitor)
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

    /// `select` gives what `resolve` gives on the parsed document, path by path.
    fn same_as_resolve(body: &str, paths: &[&str]) {
        let parsed: Vec<JsonPath> = paths.iter().map(|p| JsonPath::parse(p).unwrap()).collect();
        let refs: Vec<&JsonPath> = parsed.iter().collect();
        let doc: Value = serde_json::from_str(body).unwrap();
        let selected = JsonPath::select(body.as_bytes(), &refs).unwrap();
        for (path, got) in parsed.iter().zip(&selected) {
            assert_eq!(got.as_ref(), path.resolve(&doc), "{body} at {path}");
        }
    }

    #[test]
    fn select_reads_what_resolve_reads() {
        let body = r#"{"ok": true, "n": 1.50, "big": 18446744073709551615, "neg": -3,
            "s": "a\"b\u00e9", "esc\u0061ped": 1, "null": null,
            "data": {"items": [{"id": 7}, {"id": 9, "a/b": [1, {"deep": "x"}]}], "count": 2},
            "dup": {"x": 1}, "dup": {"y": 2}, "list": [[0, 1], [2, 3]]}"#;
        same_as_resolve(
            body,
            &[
                "/ok",
                "/n",
                "/big",
                "/neg",
                "/s",
                "/escaped",
                "/null",
                "/data",
                "/data/items",
                "/data/items/1",
                "/data/items/1/id",
                "data.items[0].id",
                "data.items.1.id",
                "/data/items/1/a~1b/1/deep",
                "/data/items/5",
                "/data/count/x",
                "/missing",
                "/dup/x",
                "/dup/y",
                "/dup",
                "/list/1/0",
                "list[0][1]",
                "/ok/deeper",
                "$",
            ],
        );
        // One path inside another's value, and the same path twice.
        same_as_resolve(
            body,
            &["/data/items", "/data/items/0/id", "/data/items/0/id"],
        );
        same_as_resolve("[1, 2, {\"a\": 3}]", &["/2/a", "/0", "[1]", "/3"]);
        same_as_resolve("\"text\"", &["/a", "$"]);
        same_as_resolve("{}", &[]);
    }

    /// Small JSON documents over few keys, so that random paths often hit.
    fn documents() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i32>().prop_map(Value::from),
            (-1e6f64..1e6).prop_map(Value::from),
            "[a-c\"\\\\é]{0,3}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                proptest::collection::btree_map("[ab0-2]", inner, 0..4)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn select_matches_resolve_on_any_document(
            doc in documents(),
            paths in proptest::collection::vec(
                proptest::collection::vec("[ab0-2]", 0..4), 1..5),
        ) {
            let body = serde_json::to_string(&doc).unwrap();
            let texts: Vec<String> = paths.iter().map(|p| format!("/{}", p.join("/"))).collect();
            let texts: Vec<&str> = texts.iter().map(|t| if t == "/" { "$" } else { t.as_str() }).collect();
            same_as_resolve(&body, &texts);
        }
    }

    #[test]
    fn select_refuses_what_is_not_json() {
        let path = JsonPath::parse("/a").unwrap();
        for bad in [
            "",
            "ok",
            "{\"a\": 1",
            "{\"a\": 1} trailing",
            "{\"b\": [1,}",
            "{\"a\": tru}",
        ] {
            assert!(
                JsonPath::select(bad.as_bytes(), &[&path]).is_err(),
                "{bad:?}"
            );
            assert!(serde_json::from_str::<Value>(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bad_paths_are_explained() {
        for bad in ["a..b", "a[x]", "a[1", "a[1]x"] {
            let err = JsonPath::parse(bad).unwrap_err();
            assert!(err.starts_with("invalid JSON path"), "{bad}: {err}");
        }
    }
}
