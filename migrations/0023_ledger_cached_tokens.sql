-- Prompt caching: of a call's prompt tokens, how many the provider served
-- from its prompt cache (OpenAI's usage.prompt_tokens_details.cached_tokens;
-- llama.cpp, vLLM and others report the same field). They are part of
-- tokens_in, priced at the model's cached-input price when one is set.
ALTER TABLE model_calls ADD COLUMN tokens_cached INTEGER NOT NULL DEFAULT 0;
