//! YAML mappings kept in file order ([`Pairs`]), and the keys an error left open for the
//! parser to name.

use std::fmt;

use serde::{Deserialize, de};
use serde_saphyr::Spanned;

/// A YAML mapping kept in file order (serde maps lose order; this one keeps it and rejects
/// duplicate keys).
#[derive(Debug, Clone, PartialEq)]
pub struct Pairs<K, V>(pub Vec<(K, V)>);

impl<K, V> Default for Pairs<K, V> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<K, V> Pairs<K, V> {
    /// Iterates in file order.
    pub fn iter(&self) -> impl Iterator<Item = &(K, V)> {
        self.0.iter()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'de, K, V> Deserialize<'de> for Pairs<K, V>
where
    K: Deserialize<'de> + KeyText,
    V: Deserialize<'de>,
{
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis<K, V>(std::marker::PhantomData<(K, V)>);
        impl<'de, K: Deserialize<'de> + KeyText, V: Deserialize<'de>> de::Visitor<'de> for Vis<K, V> {
            type Value = Pairs<K, V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping of keys to values")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Pairs<K, V>, A::Error> {
                let mut out: Vec<(K, V)> = Vec::new();
                while let Some(k) = map.next_key::<K>()? {
                    if K::HIDDEN_FROM_PATH {
                        OPEN_KEYS.with(|keys| keys.borrow_mut().push(k.key_text().to_string()));
                    }
                    // On an error the key stays on the stack, for the message to name it.
                    let v = map.next_value::<V>()?;
                    if K::HIDDEN_FROM_PATH {
                        OPEN_KEYS.with(|keys| keys.borrow_mut().pop());
                    }
                    if out.iter().any(|(seen, _)| seen.key_text() == k.key_text()) {
                        return Err(de::Error::custom(format!(
                            "duplicate key `{}`",
                            k.key_text()
                        )));
                    }
                    out.push((k, v));
                }
                Ok(Pairs(out))
            }
        }
        d.deserialize_map(Vis(std::marker::PhantomData))
    }
}

/// The text of a mapping key, for duplicate detection and messages.
pub trait KeyText {
    /// True when the error path cannot see this key type (serde_path_to_error records plain
    /// string keys, but writes `?` for `Spanned` ones): [`Pairs`] keeps those keys itself.
    const HIDDEN_FROM_PATH: bool;

    /// The key as written.
    fn key_text(&self) -> &str;
}

impl KeyText for String {
    const HIDDEN_FROM_PATH: bool = false;

    fn key_text(&self) -> &str {
        self
    }
}

impl KeyText for Spanned<String> {
    const HIDDEN_FROM_PATH: bool = true;

    fn key_text(&self) -> &str {
        &self.value
    }
}

thread_local! {
    /// Keys of the [`Pairs`] entries being read whose key type is hidden from the error path,
    /// outermost first. An error leaves its entries' keys here; the parser takes them to name
    /// the `?` segments of the path.
    static OPEN_KEYS: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Takes the keys an error left open (see [`KeyText::HIDDEN_FROM_PATH`]), outermost first;
/// call before parsing (to clear) and after an error.
pub(in crate::profile) fn take_open_keys() -> Vec<String> {
    OPEN_KEYS.with(|keys| std::mem::take(&mut *keys.borrow_mut()))
}
