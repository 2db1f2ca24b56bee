//! How a request in words names a workflow and gives its arguments: the
//! example phrases of a `command` trigger, which the tier-1 router compares
//! a request with, and its patterns, regular expressions whose named groups
//! read arguments out of the request.
//!
//! ```toml
//! [[triggers]]
//! kind = "command"
//! examples = ["onboard a new client", "onboard {company}, contact {email}"]
//! patterns = ['(?i:onboard) (?P<company>[A-Z][\w&.-]*(?: [A-Z][\w&.-]*)*)']
//! ```
//!
//! A request is compared with the examples twice: as it is, and as its
//! skeleton, with each argument it gives (what a pattern's group read, the
//! one email address or URL for such a parameter) put as its parameter's
//! name. An example writes a parameter as `{name}`, which reads the same
//! way, so "onboard Acme Corp, contact ana@acme.io" and "onboard {company},
//! contact {email}" are both "onboard company, contact email": the values,
//! which no example can know, do not pull the request away from it.

use regex::{Regex, RegexBuilder};
use serde_json::{Map, Value};

use super::definition::Param;
use super::params::{ParamType, is_email};

/// Most example phrases a trigger has.
pub const MAX_EXAMPLES: usize = 50;
/// Most patterns a trigger has.
pub const MAX_PATTERNS: usize = 20;
/// Longest example phrase, in characters.
const MAX_EXAMPLE_CHARS: usize = 300;
/// How large a compiled pattern may grow: a pattern is matched in linear
/// time, and this bounds its memory.
const PATTERN_SIZE: usize = 1 << 20;

#[derive(Debug, Clone, Default)]
pub struct Phrasing {
    pub examples: Vec<String>,
    pub patterns: Vec<Regex>,
}

impl Phrasing {
    /// Checks a trigger's examples and patterns: each pattern compiles, and
    /// each of its named groups is a parameter.
    pub fn parse(examples: Vec<String>, patterns: Vec<String>, params: &[Param]) -> Result<Self, String> {
        if examples.len() > MAX_EXAMPLES || patterns.len() > MAX_PATTERNS {
            return Err(format!("at most {MAX_EXAMPLES} examples and {MAX_PATTERNS} patterns"));
        }
        let mut kept = Vec::new();
        for e in examples {
            let e = e.trim().to_owned();
            if e.is_empty() || e.chars().count() > MAX_EXAMPLE_CHARS {
                return Err(format!("an example is 1 to {MAX_EXAMPLE_CHARS} characters"));
            }
            for slot in e.split('{').skip(1) {
                let name = slot.split_once('}').map(|(n, _)| n.trim()).unwrap_or_default();
                if !params.iter().any(|p| p.name == name) {
                    return Err(format!("example `{e}`: `{{{name}}}` is no parameter (write a parameter as {{NAME}})"));
                }
            }
            kept.push(e);
        }
        if !patterns.is_empty() && kept.is_empty() {
            return Err("patterns read a request the examples route here: give `examples` too".into());
        }
        let mut compiled = Vec::new();
        for p in patterns {
            let re = RegexBuilder::new(&p)
                .size_limit(PATTERN_SIZE)
                .build()
                .map_err(|e| format!("pattern `{p}`: {}", first_line(&e.to_string())))?;
            let groups: Vec<&str> = re.capture_names().flatten().collect();
            if groups.is_empty() {
                return Err(format!("pattern `{p}` names no group: write (?P<PARAM>…) for the parameter it reads"));
            }
            if let Some(g) = groups.iter().find(|g| !params.iter().any(|x| x.name == **g)) {
                return Err(format!("pattern `{p}` reads `{g}`, which is no parameter"));
            }
            compiled.push(re);
        }
        Ok(Self { examples: kept, patterns: compiled })
    }

    /// The arguments `text` gives: each named group of a matching pattern
    /// (the first pattern to give a parameter a valid value wins); then,
    /// for a parameter still without one whose type is recognisable on its
    /// own (an email address, a URL), the one such value the text holds,
    /// when it is the only parameter of that type still wanting one. A value
    /// its type refuses is left out, to be asked for.
    pub fn read(&self, text: &str, params: &[Param]) -> Map<String, Value> {
        let mut args = Map::new();
        let plain = without_possessives(text);
        for re in &self.patterns {
            // "Tyrell's weekly report" says what "Tyrell weekly report" does.
            let Some(caps) = re.captures(text).or_else(|| re.captures(&plain)) else { continue };
            for p in params {
                if args.contains_key(&p.name) {
                    continue;
                }
                if let Some(v) = caps.name(&p.name).map(|m| m.as_str().trim()).filter(|v| !v.is_empty()) {
                    if let Ok(v) = p.ty.check(&Value::String(v.to_owned())) {
                        args.insert(p.name.clone(), v);
                    }
                }
            }
        }
        for ty in [ParamType::Email, ParamType::Url] {
            let wanting: Vec<&Param> =
                params.iter().filter(|p| p.ty == ty && p.default.is_none() && !args.contains_key(&p.name)).collect();
            if let ([p], Some(v)) = (wanting.as_slice(), only_one(&ty, text)) {
                args.insert(p.name.clone(), Value::String(v));
            }
        }
        args
    }
}

impl Phrasing {
    /// Whether a pattern reads `param`: then the pattern alone fills it,
    /// and what it does not find is asked for.
    pub fn declares(&self, param: &str) -> bool {
        self.patterns.iter().any(|re| re.capture_names().flatten().any(|g| g == param))
    }

    /// Whether `value`, given as the answer for `param`, has the shape the
    /// patterns read for it: put in an example's `{param}`, the patterns
    /// read it back whole. `None` when no pattern reads `param` or no
    /// example names it, so its shape is not known.
    pub fn reads_back(&self, param: &str, value: &str, params: &[Param]) -> Option<bool> {
        let slot = format!("{{{param}}}");
        let examples: Vec<&String> = self.examples.iter().filter(|e| e.contains(&slot)).collect();
        if !self.declares(param) || examples.is_empty() {
            return None;
        }
        let value = value.trim();
        // Compared as the parameter's type reads it ("5" is the number 5).
        let typed = params.iter().find(|p| p.name == param).and_then(|p| p.ty.check(&Value::String(value.into())).ok());
        Some(typed.is_some_and(|typed| {
            examples.iter().any(|e| self.read(&e.replace(&slot, value), params).get(param) == Some(&typed))
        }))
    }

    /// `text` with each argument it gives put as its parameter's name (see
    /// the module's doc): what is compared with the examples' skeletons.
    pub fn skeleton(&self, text: &str, params: &[Param]) -> String {
        let plain = without_possessives(text);
        let read_plain = !self.patterns.iter().any(|re| re.is_match(text)) && plain != text;
        let text: &str = if read_plain { &plain } else { text };
        let mut spans: Vec<(usize, usize, &str)> = Vec::new();
        for re in &self.patterns {
            let Some(caps) = re.captures(text) else { continue };
            for p in params {
                if let Some(m) = caps.name(&p.name).filter(|m| !m.as_str().trim().is_empty()) {
                    spans.push((m.start(), m.end(), &p.name));
                }
            }
        }
        for p in params.iter().filter(|p| matches!(p.ty, ParamType::Email | ParamType::Url)) {
            if let Some(at) = only_one(&p.ty, text).and_then(|v| text.find(&v).map(|at| (at, at + v.len()))) {
                spans.push((at.0, at.1, &p.name));
            }
        }
        spans.sort();
        let (mut out, mut pos) = (String::with_capacity(text.len()), 0);
        for (start, end, name) in spans {
            if start < pos {
                continue;
            }
            out.push_str(&text[pos..start]);
            out.push_str(&slot_words(name));
            pos = end;
        }
        out.push_str(&text[pos..]);
        out
    }
}

/// `text` with each possessive "'s" after a word taken off.
fn without_possessives(text: &str) -> String {
    static POSSESSIVE: std::sync::LazyLock<Regex> =
        std::sync::LazyLock::new(|| Regex::new(r"(\w)['’]s\b").expect("a valid built-in pattern"));
    POSSESSIVE.replace_all(text, "$1").into_owned()
}

/// An example as it is compared: each `{name}` as the parameter's name.
pub fn example_skeleton(example: &str) -> String {
    let mut out = String::with_capacity(example.len());
    let mut rest = example;
    while let Some((before, after)) = rest.split_once('{') {
        out.push_str(before);
        match after.split_once('}') {
            Some((name, tail)) => {
                out.push_str(&slot_words(name.trim()));
                rest = tail;
            }
            None => {
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `text` with its names taken out: each run of capitalised words (or
/// words with digits, such as `Q3`) after the first word of a sentence,
/// with the short joining words inside it (`Ten Years of Steward`, `Maria
/// Lopez and Li Wei`). A request full of names no example can know is then
/// compared by what it asks for: "publish Ten Years of Steward on the Acme
/// blog" as "publish on the blog". `None` when it has no names, or nothing
/// else.
pub fn without_names(text: &str) -> Option<String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let bare = |w: &str| w.trim_matches(|c: char| !c.is_alphanumeric()).to_owned();
    let starts_sentence = |i: usize| i == 0 || words[i - 1].ends_with(['.', '!', '?', ':']);
    let is_name = |i: usize| {
        let w = bare(words[i]);
        let first = w.chars().next();
        let capital = first.is_some_and(char::is_uppercase) && !starts_sentence(i);
        let pronoun = matches!(w.split('\'').next(), Some("I"));
        let coded = w.chars().any(|c| c.is_ascii_digit()) && w.chars().any(char::is_alphabetic);
        (capital || coded) && !pronoun
    };
    let names: Vec<bool> = (0..words.len()).map(is_name).collect();
    let joins = |i: usize| {
        let w = bare(words[i]);
        i > 0 && i + 1 < words.len() && names[i - 1] && names[i + 1] && w.chars().count() <= 3 && !w.is_empty()
    };
    let kept: Vec<&str> = (0..words.len()).filter(|&i| !names[i] && !joins(i)).map(|i| words[i]).collect();
    (kept.len() < words.len() && !kept.is_empty()).then(|| kept.join(" "))
}

fn slot_words(name: &str) -> String {
    name.replace(['_', '-'], " ")
}

/// The one value of a self-evident type (an email address, an http(s)
/// URL) in `text`, when it holds exactly one.
pub fn only_one(ty: &ParamType, text: &str) -> Option<String> {
    let mut found: Vec<String> = text
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| "<>()[]{},;:\"'`".contains(c)).trim_end_matches(['.', '!', '?']))
        .filter(|w| match ty {
            ParamType::Email => is_email(w),
            ParamType::Url => ty.check(&Value::String((*w).to_owned())).is_ok(),
            _ => false,
        })
        .map(str::to_owned)
        .collect();
    found.dedup();
    match found.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    }
}

fn first_line(s: &str) -> String {
    s.lines().rfind(|l| !l.trim().is_empty()).unwrap_or(s).trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(name: &str, ty: ParamType, default: Option<Value>) -> Param {
        Param { name: name.into(), ty, description: String::new(), default }
    }

    #[test]
    fn patterns_and_self_evident_types_fill_arguments() {
        let params = vec![
            param("client", ParamType::Contact, None),
            param("email", ParamType::Email, None),
            param("days", ParamType::Number, Some(Value::from(3))),
        ];
        let p = Phrasing::parse(
            vec!["onboard a new client".into()],
            vec![
                r"\b(?i:onboard) (?P<client>[A-Z][\w&.-]*(?: [A-Z][\w&.-]*)*)".into(),
                r"in (?P<days>\d+) days".into(),
            ],
            &params,
        )
        .unwrap();
        let args = p.read("please onboard Acme Corp (bob@acme.io) and check in 5 days", &params);
        assert_eq!(args["client"], "Acme Corp");
        assert_eq!(args["email"], "bob@acme.io");
        assert_eq!(args["days"], Value::from(5.0));
        let args = p.read("onboard someone new: a@x.io or b@y.io", &params);
        assert!(!args.contains_key("email"), "two addresses: which one is asked, not guessed");
        assert!(!args.contains_key("client"), "the pattern wants a capitalised name");
    }

    #[test]
    fn requests_and_examples_read_with_their_arguments_as_names() {
        let params = vec![param("company", ParamType::Contact, None), param("contact_email", ParamType::Email, None)];
        let p = Phrasing::parse(
            vec!["onboard {company}, contact {contact_email}".into()],
            vec![r"(?i:onboard) (?P<company>[A-Z]\w*(?: [A-Z]\w*)*)".into()],
            &params,
        )
        .unwrap();
        assert_eq!(
            p.skeleton("Onboard Acme Corp, contact ana@acme.io.", &params),
            "Onboard company, contact contact email."
        );
        assert_eq!(example_skeleton(&p.examples[0]), "onboard company, contact contact email");
        assert_eq!(p.skeleton("nothing here", &params), "nothing here");
        let err = Phrasing::parse(vec!["onboard {client}".into()], vec![], &params).unwrap_err();
        assert!(err.contains("`{client}` is no parameter"), "{err}");
    }

    #[test]
    fn a_possessive_reads_as_the_name_and_an_answer_has_the_shape_the_patterns_read() {
        let params = vec![param("client", ParamType::String, None)];
        let p = Phrasing::parse(
            vec!["weekly report for {client}".into()],
            vec![
                r"(?P<client>[A-Z][\w&.-]*)\s+(?i:weekly report)".into(),
                r"(?i:report for)\s+(?P<client>[A-Z][\w&.-]*)".into(),
            ],
            &params,
        )
        .unwrap();
        assert_eq!(p.read("can you do Tyrell's weekly report?", &params)["client"], "Tyrell");
        assert_eq!(p.read("Tyrell’s weekly report", &params)["client"], "Tyrell");
        assert_eq!(p.skeleton("do Tyrell's weekly report", &params), "do client weekly report");
        assert_eq!(p.reads_back("client", "Tyrell", &params), Some(true));
        assert_eq!(p.reads_back("client", "put on record that Hugo returned the laptop", &params), Some(false));
        assert_eq!(p.reads_back("other", "Tyrell", &params), None, "no pattern reads it");
        let days = vec![param("days", ParamType::Number, None)];
        let p =
            Phrasing::parse(vec!["check in {days} days".into()], vec![r"in (?P<days>\d+) days".into()], &days).unwrap();
        assert_eq!(p.reads_back("days", "5", &days), Some(true), "read as its type reads it");
        assert_eq!(p.reads_back("days", "in a week or so", &days), Some(false));
    }

    #[test]
    fn names_are_taken_out_of_a_request_and_nothing_else() {
        let out = |t: &str| without_names(t);
        assert_eq!(out("publish Ten Years of Steward by Maria Lopez on the Acme blog").unwrap(), "publish on the blog");
        assert_eq!(out("Publish the Q3 retrospective").unwrap(), "Publish the retrospective");
        assert_eq!(out("Thanks. Onboard Hooli and Raviga, please").unwrap(), "Thanks. Onboard please");
        assert_eq!(out("can I onboard Bolt Studio now?").unwrap(), "can I onboard now?");
        assert_eq!(out("publish the blog post"), None, "no names");
        assert_eq!(out("Hooli"), None, "nothing but a name");
    }

    #[test]
    fn bad_phrasings_are_refused_with_why() {
        let params = vec![param("client", ParamType::String, None)];
        let err = |e: Vec<&str>, p: Vec<&str>| {
            Phrasing::parse(e.into_iter().map(Into::into).collect(), p.into_iter().map(Into::into).collect(), &params)
                .unwrap_err()
        };
        assert!(err(vec!["x"], vec!["(?P<who>.+)"]).contains("`who`, which is no parameter"));
        assert!(err(vec!["x"], vec!["onboard (.+)"]).contains("names no group"));
        assert!(err(vec!["x"], vec!["(?P<client>"]).starts_with("pattern"));
        assert!(err(vec![], vec!["(?P<client>.+)"]).contains("give `examples`"));
        assert!(err(vec![" "], vec![]).contains("1 to"));
    }
}
