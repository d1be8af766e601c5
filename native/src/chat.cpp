// Chat templates (Jinja, through llama-common) and chat output parsing.
//
// JS objects reach llama-common as JSON text (JSON.stringify, then common_json::parse), so the
// OpenAI-shaped messages and tools are read by llama-common's own oaicompat parsers.
#include "handles.h"
#include "json-schema-to-grammar.h"
#include "util.h"

namespace moed {
namespace {

common_json parseJson(Napi::Env env, const Napi::Value & v) {
    return common_json::parse(jsonStringify(env, v));
}

Napi::Array stringArray(Napi::Env env, const std::vector<std::string> & v) {
    Napi::Array a = Napi::Array::New(env, v.size());
    for (size_t i = 0; i < v.size(); i++) a.Set((uint32_t) i, v[i]);
    return a;
}

// The model's own templates are parsed once; an override is re-parsed only when it changes.
const common_chat_templates * templatesFor(ModelHandle & m, const std::string & override) {
    if (override.empty()) {
        if (!m.defaultTemplates) m.defaultTemplates = common_chat_templates_init(m.model, "");
        return m.defaultTemplates.get();
    }
    if (!m.overrideTemplates || m.overrideSource != override) {
        // common_chat_templates_init logs the Jinja error and throws a bare std::exception;
        // parsing once here first gives the message to the caller.
        common_chat_template probe(override, "", "");
        m.overrideTemplates = common_chat_templates_init(m.model, override);
        m.overrideSource = override;
    }
    return m.overrideTemplates.get();
}

}  // namespace

Napi::Value chatApply(Napi::Env env, ModelHandle & m, const Napi::Object & in) {
    // Everything read from JS first (INVALID_ARGUMENT); template work after (TEMPLATE_FAILED).
    if (!in.Get("messages").IsArray()) throw invalidArg("messages must be an array");
    std::string messagesJson = jsonStringify(env, in.Get("messages"));
    std::string toolsJson = has(in, "tools") ? jsonStringify(env, in.Get("tools")) : "";
    std::string schemaJson = has(in, "jsonSchema") ? jsonStringify(env, in.Get("jsonSchema")) : "";
    std::string toolChoice = optString(in, "toolChoice").value_or("auto");
    std::string grammar = optString(in, "grammar").value_or("");
    std::string override = optString(in, "templateOverride").value_or("");
    bool addGenerationPrompt = optBool(in, "addGenerationPrompt").value_or(true);
    bool enableThinking = optBool(in, "enableThinking").value_or(true);
    bool parseReasoning = optBool(in, "parseReasoning").value_or(true);
    std::optional<bool> parallelToolCalls = optBool(in, "parallelToolCalls");
    std::map<std::string, std::string> kwargs;
    if (has(in, "kwargs")) {
        if (!in.Get("kwargs").IsObject()) throw invalidArg("kwargs must be an object of JSON-encoded strings");
        Napi::Object k = in.Get("kwargs").As<Napi::Object>();
        Napi::Array keys = k.GetPropertyNames();
        for (uint32_t i = 0; i < keys.Length(); i++) {
            std::string key = keys.Get(i).ToString().Utf8Value();
            if (!k.Get(key).IsString()) throw invalidArg("kwargs." + key + " must be a JSON-encoded string");
            kwargs[key] = k.Get(key).As<Napi::String>().Utf8Value();
        }
    }

    common_chat_params out;
    try {
        std::lock_guard<std::mutex> lock(m.chatMutex);
        const common_chat_templates * tmpls = templatesFor(m, override);

        common_chat_templates_inputs inputs;
        inputs.messages = common_chat_msgs_parse_oaicompat(common_json::parse(messagesJson));
        if (!toolsJson.empty()) inputs.tools = common_chat_tools_parse_oaicompat(common_json::parse(toolsJson));
        inputs.tool_choice = common_chat_tool_choice_parse_oaicompat(toolChoice);
        inputs.json_schema = schemaJson;
        inputs.grammar = grammar;
        inputs.use_jinja = true;
        inputs.add_generation_prompt = addGenerationPrompt;
        inputs.enable_thinking = enableThinking;
        inputs.parallel_tool_calls =
            parallelToolCalls.value_or(common_chat_templates_get_caps(tmpls)["supports_parallel_tool_calls"]);
        // The returned parser splits reasoning out of the content only when built for it.
        inputs.reasoning_format = parseReasoning ? COMMON_REASONING_FORMAT_DEEPSEEK : COMMON_REASONING_FORMAT_NONE;
        inputs.chat_template_kwargs = kwargs;
        out = common_chat_templates_apply(tmpls, inputs);
    } catch (const std::exception & e) {
        throw NativeError("TEMPLATE_FAILED", e.what());
    }

    Napi::Object r = Napi::Object::New(env);
    r.Set("prompt", out.prompt);
    r.Set("format", (int) out.format);
    r.Set("grammar", out.grammar);
    r.Set("grammarLazy", out.grammar_lazy);
    Napi::Array triggers = Napi::Array::New(env);
    for (const auto & t : out.grammar_triggers) {
        Napi::Object o = Napi::Object::New(env);
        o.Set("type", (int) t.type);
        o.Set("value", t.value);
        if (t.type == COMMON_GRAMMAR_TRIGGER_TYPE_TOKEN) o.Set("token", t.token);
        triggers.Set(triggers.Length(), o);
    }
    r.Set("grammarTriggers", triggers);
    r.Set("preservedTokens", stringArray(env, out.preserved_tokens));
    r.Set("additionalStops", stringArray(env, out.additional_stops));
    r.Set("generationPrompt", out.generation_prompt);
    r.Set("supportsThinking", out.supports_thinking);
    r.Set("thinkingStartTag", out.thinking_start_tag);
    r.Set("thinkingEndTags", stringArray(env, out.thinking_end_tags));
    r.Set("parser", out.parser);
    return r;
}

std::unique_ptr<common_chat_parser_params> chatParserParams(const Napi::Object & p) {
    auto params = std::make_unique<common_chat_parser_params>();
    double format = getNumber(p, "format");
    if (format < 0 || format >= COMMON_CHAT_FORMAT_COUNT || format != (int) format) {
        throw invalidArg("unknown chat format " + std::to_string((int64_t) format));
    }
    params->format = (common_chat_format) (int) format;
    params->generation_prompt = optString(p, "generationPrompt").value_or("");
    params->reasoning_format =
        optBool(p, "parseReasoning").value_or(true) ? COMMON_REASONING_FORMAT_DEEPSEEK : COMMON_REASONING_FORMAT_NONE;
    params->parse_tool_calls = optBool(p, "parseToolCalls").value_or(true);
    std::string parser = optString(p, "parser").value_or("");
    if (!parser.empty()) {
        try {
            params->parser.load(parser);
        } catch (const std::exception & e) {
            throw NativeError("PARSE_FAILED", std::string("invalid parser: ") + e.what());
        }
    }
    return params;
}

// --- JS ChatParser ---------------------------------------------------------------------------

Napi::Function ChatParserWrap::define(Napi::Env env) {
    return DefineClass(env, "ChatParser", {InstanceMethod<&ChatParserWrap::parse>("parse")});
}

Napi::Object ChatParserWrap::create(Napi::Env env, std::unique_ptr<common_chat_parser_params> params) {
    Napi::Object o = addonData(env).chatParser.New({Napi::External<void>::New(env, nullptr)});
    Unwrap(o)->params_ = std::move(params);
    return o;
}

ChatParserWrap::ChatParserWrap(const Napi::CallbackInfo & info) : Napi::ObjectWrap<ChatParserWrap>(info) {
    if (info.Length() < 1 || !info[0].IsExternal()) {
        throw makeError(info.Env(), "INVALID_ARGUMENT", "ChatParser objects come from model.createChatParser()");
    }
}

Napi::Value ChatParserWrap::parse(const Napi::CallbackInfo & info) {
    return guard(info.Env(), [&]() -> Napi::Value {
        Napi::Env env = info.Env();
        std::string text = argString(info, 0, "text");
        if (info.Length() < 2 || !info[1].IsBoolean()) throw invalidArg("isPartial must be a boolean");
        bool partial = info[1].As<Napi::Boolean>().Value();
        common_chat_msg msg;
        try {
            msg = common_chat_parse(text, partial, *params_);
        } catch (const std::exception & e) {
            throw NativeError("PARSE_FAILED", e.what());
        }
        Napi::Object r = Napi::Object::New(env);
        r.Set("content", msg.content);
        r.Set("reasoning", msg.reasoning_content);
        Napi::Array calls = Napi::Array::New(env, msg.tool_calls.size());
        for (size_t i = 0; i < msg.tool_calls.size(); i++) {
            Napi::Object c = Napi::Object::New(env);
            c.Set("name", msg.tool_calls[i].name);
            c.Set("arguments", msg.tool_calls[i].arguments);
            c.Set("id", msg.tool_calls[i].id);
            calls.Set((uint32_t) i, c);
        }
        r.Set("toolCalls", calls);
        return r;
    });
}

// --- JSON schema -> GBNF ---------------------------------------------------------------------

Napi::Value jsonSchemaToGrammar(const Napi::CallbackInfo & info) {
    if (info.Length() < 1) throw invalidArg("schema is required");
    std::string schema = jsonStringify(info.Env(), info[0]);
    try {
        return Napi::String::New(info.Env(), json_schema_to_grammar(common_json::parse(schema)));
    } catch (const std::exception & e) {
        throw invalidArg(std::string("cannot convert the JSON schema: ") + e.what());
    }
}

}  // namespace moed
