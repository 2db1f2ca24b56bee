//! The shape of each built-in role's answer as a JSON Schema, sent as
//! `response_format: json_schema` when a tier asks for it
//! (`llm.*.response_format`). A server with structured outputs or grammars
//! then cannot generate anything else, which is what lets a small model
//! answer in the form the pipeline parses. The schemas describe what the
//! prompts ask for (`prompts/*.md`); the answer is parsed strictly either
//! way, so a server that ignores the schema changes nothing.

use serde_json::{Value, json};

/// One plan step, as the planner and the executor write it.
fn step() -> Value {
    json!({
        "type": "object",
        "properties": {
            "adapter": {"type": "string"},
            "action": {"type": "string"},
            "args": {"type": "object"},
            "within_secs": {"type": ["integer", "null"], "minimum": 1}
        },
        "required": ["adapter", "action", "args"]
    })
}

fn object(properties: Value, required: &[&str]) -> Value {
    json!({"type": "object", "properties": properties, "required": required})
}

/// The schema of `role`'s answer, for the roles whose answers the pipeline
/// reads; `None` for any other.
pub fn of(role: &str) -> Option<Value> {
    let confidence = json!({"type": "number", "minimum": 0, "maximum": 1});
    Some(match role {
        "executor" => object(
            json!({
                "kind": {"type": "string", "enum": ["action", "goal", "answer", "unclear"]},
                "confidence": confidence,
                "summary": {"type": "string"},
                "step": {"anyOf": [step(), {"type": "null"}]}
            }),
            &["kind", "confidence", "summary", "step"],
        ),
        "planner" => object(
            json!({
                "summary": {"type": "string"},
                "steps": {"type": "array", "items": step(), "minItems": 1}
            }),
            &["summary", "steps"],
        ),
        "researcher" => object(
            json!({
                "answer": {"type": ["string", "null"]},
                "confidence": confidence,
                "citations": {"type": "array", "items": {"type": "string"}}
            }),
            &["answer", "confidence", "citations"],
        ),
        "qa" => object(
            json!({
                "approve": {"type": "boolean"},
                "problems": {"type": "array", "items": {"type": "string"}}
            }),
            &["approve", "problems"],
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reasoning::roles::{REQUIRED, Roles};

    /// The example answer a shipped prompt shows (its one line that opens
    /// with `{`), with its placeholders as values of their kind.
    fn example(prompt: &str) -> Value {
        let line = prompt.lines().find(|l| l.trim_start().starts_with('{')).expect("an example answer");
        let line = line.replace("\"action|goal|answer|unclear\"", "\"action\"").replace("\"...\" or null", "null");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    /// Just enough of JSON Schema to check the examples: types, required
    /// keys, enums, nested objects and arrays, anyOf.
    fn fits(v: &Value, schema: &Value) -> bool {
        if let Some(any) = schema["anyOf"].as_array() {
            return any.iter().any(|s| fits(v, s));
        }
        if let Some(options) = schema["enum"].as_array() {
            return options.contains(v);
        }
        let kind = |t: &str| match t {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "number" => v.is_number(),
            "integer" => v.is_i64() || v.is_u64(),
            "boolean" => v.is_boolean(),
            "null" => v.is_null(),
            _ => false,
        };
        let typed = match &schema["type"] {
            Value::String(t) => kind(t),
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).any(kind),
            _ => true,
        };
        let required = schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str);
        let properties = schema["properties"].as_object().into_iter().flatten();
        typed
            && required.clone().all(|k| v.get(k).is_some())
            && properties.filter(|(k, _)| v.get(k).is_some()).all(|(k, s)| fits(&v[k.as_str()], s))
            && v.as_array().is_none_or(|items| items.iter().all(|i| fits(i, &schema["items"])))
    }

    #[test]
    fn every_shipped_prompts_example_answer_has_its_schemas_shape() {
        let roles = Roles::builtin();
        for name in REQUIRED {
            let schema = of(name).unwrap_or_else(|| panic!("{name} has a schema"));
            let example = example(&roles.get(name).prompt);
            assert!(fits(&example, &schema), "{name}: {example} against {schema}");
            // And the checker is not blind: a required key missing fails.
            let mut missing = example.clone();
            let first = schema["required"][0].as_str().unwrap();
            missing.as_object_mut().unwrap().remove(first);
            assert!(!fits(&missing, &schema), "{name} without {first}");
        }
        assert!(of("custom-role").is_none());
    }
}
