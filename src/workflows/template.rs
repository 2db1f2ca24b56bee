//! Templates over a run's values: `params`, the trigger's `trigger` payload,
//! and `run` (workflow, version). minijinja, sandboxed: no file loader, a
//! strict undefined (a misspelt name is an error, never an empty string),
//! and a fuel limit so a hostile template cannot loop forever.

use minijinja::{Environment, UndefinedBehavior};
use serde_json::Value;

/// Instructions one render may take.
const FUEL: u64 = 200_000;
/// The longest text a render may produce.
const MAX_OUTPUT: usize = 256 * 1024;

pub fn environment() -> Environment<'static> {
    // minijinja 2 warns that a later major version will want a `serde`
    // feature for serde values; 2.x has no such feature to turn on.
    #[allow(deprecated)]
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env
}

/// `{{ expr }}` and nothing else: rendered as the expression's value, so a
/// list stays a list and a number a number.
fn sole_expression(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}") && !inner.contains("{%")).then(|| inner.trim())
}

fn is_template(text: &str) -> bool {
    text.contains("{{") || text.contains("{%") || text.contains("{#")
}

fn explain(e: &minijinja::Error) -> String {
    match e.detail() {
        Some(detail) => format!("{} ({detail})", e.kind()),
        None => e.to_string(),
    }
}

/// Renders one string over `ctx`.
pub fn render_text(env: &Environment<'_>, text: &str, ctx: &Value) -> Result<Value, String> {
    if !is_template(text) {
        return Ok(Value::String(text.to_owned()));
    }
    let ctx = minijinja::Value::from_serialize(ctx);
    if let Some(expr) = sole_expression(text) {
        let compiled = env.compile_expression(expr).map_err(|e| explain(&e))?;
        let value = compiled.eval(ctx).map_err(|e| explain(&e))?;
        if value.is_undefined() {
            return Err(format!("`{expr}` is undefined"));
        }
        let json = serde_json::to_value(&value).map_err(|e| e.to_string())?;
        if json.to_string().len() > MAX_OUTPUT {
            return Err(format!("renders to more than {} KiB", MAX_OUTPUT / 1024));
        }
        return Ok(json);
    }
    let out = env.render_str(text, ctx).map_err(|e| explain(&e))?;
    if out.len() > MAX_OUTPUT {
        return Err(format!("renders to more than {} KiB", MAX_OUTPUT / 1024));
    }
    Ok(Value::String(out))
}

/// Renders every string inside `value`; an error names where it is
/// (`headers.x-key`, `items[2]`).
pub fn render(env: &Environment<'_>, value: &Value, ctx: &Value) -> Result<Value, (String, String)> {
    match value {
        Value::String(s) => render_text(env, s, ctx).map_err(|e| (String::new(), e)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| render(env, v, ctx).map_err(|(at, e)| (join(&format!("[{i}]"), &at), e)))
            .collect(),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| render(env, v, ctx).map(|v| (k.clone(), v)).map_err(|(at, e)| (join(k, &at), e)))
            .collect::<Result<serde_json::Map<_, _>, _>>()
            .map(Value::Object),
        other => Ok(other.clone()),
    }
}

fn join(head: &str, tail: &str) -> String {
    match tail {
        "" => head.to_owned(),
        t if t.starts_with('[') => format!("{head}{t}"),
        t => format!("{head}.{t}"),
    }
}

/// The value of the expression `expr` over `ctx`, as JSON.
pub fn eval(env: &Environment<'_>, expr: &str, ctx: &Value) -> Result<Value, String> {
    let compiled = env.compile_expression(expr).map_err(|e| explain(&e))?;
    let value = compiled.eval(minijinja::Value::from_serialize(ctx)).map_err(|e| explain(&e))?;
    if value.is_undefined() {
        return Err(format!("`{expr}` is undefined"));
    }
    serde_json::to_value(&value).map_err(|e| e.to_string())
}

/// Whether the condition `expr` holds over `ctx`.
pub fn holds(env: &Environment<'_>, expr: &str, ctx: &Value) -> Result<bool, String> {
    let compiled = env.compile_expression(expr).map_err(|e| explain(&e))?;
    let value = compiled.eval(minijinja::Value::from_serialize(ctx)).map_err(|e| explain(&e))?;
    if value.is_undefined() {
        return Err(format!("`{expr}` is undefined"));
    }
    Ok(value.is_true())
}

/// The names a template or an expression reads from its values, with the
/// attributes it reads of them (`steps.welcome.result`): what a step
/// depends on. Text that is no template reads nothing.
pub fn reads(env: &Environment<'_>, text: &str, expression: bool) -> std::collections::HashSet<String> {
    let read = |expr: &str| env.compile_expression(expr).map(|c| c.undeclared_variables(true)).unwrap_or_default();
    if expression {
        return read(text);
    }
    if !is_template(text) {
        return Default::default();
    }
    match sole_expression(text) {
        Some(expr) => read(expr),
        None => env.template_from_str(text).map(|t| t.undeclared_variables(true)).unwrap_or_default(),
    }
}

/// Every string inside `value`, for [`reads`].
pub fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().flat_map(strings).collect(),
        Value::Object(map) => map.values().flat_map(strings).collect(),
        _ => vec![],
    }
}

/// Checks the syntax of every template inside `value`, without values.
pub fn check_syntax(env: &Environment<'_>, value: &Value) -> Result<(), (String, String)> {
    match value {
        Value::String(s) if is_template(s) => {
            let checked = match sole_expression(s) {
                Some(expr) => env.compile_expression(expr).map(drop),
                None => env.template_from_str(s).map(drop),
            };
            checked.map_err(|e| (String::new(), explain(&e)))
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| check_syntax(env, v).map_err(|(at, e)| (join(&format!("[{i}]"), &at), e))),
        Value::Object(map) => {
            map.iter().try_for_each(|(k, v)| check_syntax(env, v).map_err(|(at, e)| (join(k, &at), e)))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn templates_keep_types_and_refuse_what_is_not_there() {
        let env = environment();
        let ctx = json!({"params": {"name": "Acme", "clients": ["a", "b"], "amount": 30}});
        let args = json!({"subject": "Welcome, {{ params.name }}!", "to": "{{ params.clients }}",
                          "n": "{{ params.amount * 2 }}", "fixed": true});
        let out = render(&env, &args, &ctx).unwrap();
        assert_eq!(out, json!({"subject": "Welcome, Acme!", "to": ["a", "b"], "n": 60, "fixed": true}));
        let (at, why) = render(&env, &json!({"h": {"x": "{{ params.nmae }}"}}), &ctx).unwrap_err();
        assert_eq!(at, "h.x");
        assert!(why.contains("undefined"), "{why}");
        assert!(holds(&env, "params.amount > 10", &ctx).unwrap());
        assert!(!holds(&env, "params.clients | length > 5", &ctx).unwrap());
        assert!(check_syntax(&env, &json!(["{{ params.name "])).is_err());
    }

    #[test]
    fn what_a_template_reads_is_known_before_it_runs() {
        let env = environment();
        let names = reads(&env, "Hi {{ params.name }}, {{ steps.welcome.result.id }}", false);
        assert!(names.iter().any(|n| n.starts_with("steps.welcome")), "{names:?}");
        assert!(names.iter().any(|n| n.starts_with("params")), "{names:?}");
        let names = reads(&env, "steps.ask.answer == 'yes'", true);
        assert!(names.iter().any(|n| n.starts_with("steps.ask")), "{names:?}");
        assert!(reads(&env, "plain text", false).is_empty());
        assert_eq!(strings(&json!({"a": ["x", {"b": "y"}], "n": 1})), vec!["x", "y"]);
    }

    #[test]
    fn a_hostile_template_runs_out_of_fuel() {
        let env = environment();
        let looping = "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}";
        let why = render_text(&env, looping, &json!({})).unwrap_err();
        assert!(why.contains("fuel") || why.contains("KiB") || why.contains("range"), "{why}");
    }
}
