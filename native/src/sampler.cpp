// Per-sequence sampler chains (llama-server's order) and the JS Sampler object.
#include "handles.h"
#include "logging.h"
#include "util.h"

#include <cmath>

namespace moed {

SamplerHandle::~SamplerHandle() {
    if (grammar) llama_sampler_free(grammar);
    if (chain) llama_sampler_free(chain);
}

namespace {

// Runs the chain over a fresh copy of the logits row; returns the picked token.
llama_token pick(SamplerHandle & s, const float * logits, int32_t nVocab, bool constrain) {
    s.cur.resize((size_t) nVocab);
    for (llama_token t = 0; t < nVocab; t++) s.cur[t] = llama_token_data{t, logits[t], 0.0f};
    llama_token_data_array arr = {s.cur.data(), s.cur.size(), -1, false};
    if (constrain) llama_sampler_apply(s.grammar, &arr);
    llama_sampler_apply(s.chain, &arr);
    if (arr.selected < 0 || (size_t) arr.selected >= arr.size) {
        throw NativeError("NATIVE_ERROR", "the sampler chain selected no token");
    }
    return arr.data[arr.selected].id;
}

}  // namespace

llama_token SamplerHandle::sample(llama_context * ctx, int32_t batchIndex) {
    std::lock_guard<std::mutex> lock(mutex);
    const float * logits = llama_get_logits_ith(ctx, batchIndex);
    if (!logits) throw invalidArg("no logits for batch index " + std::to_string(batchIndex));
    const int32_t nVocab = model->nVocab();

    llama_token tok = pick(*this, logits, nVocab, false);
    if (grammar) {
        // Does the unconstrained pick fit the grammar? If not, constrain everything and pick again.
        llama_token_data one = {tok, 1.0f, 0.0f};
        llama_token_data_array single = {&one, 1, -1, false};
        llama_sampler_apply(grammar, &single);
        if (std::isinf(one.logit) && one.logit < 0) tok = pick(*this, logits, nVocab, true);
        llama_sampler_accept(grammar, tok);
    }
    llama_sampler_accept(chain, tok);
    return tok;
}

SamplerPtr createSampler(ModelPtr model, const Napi::Object & p) {
    auto s = std::make_shared<SamplerHandle>();
    s->model = model;
    const llama_vocab * vocab = model->vocab;
    const int32_t nVocab = model->nVocab();

    const float temperature = (float) getNumber(p, "temperature");
    const uint32_t seed = (uint32_t) (int64_t) optNumber(p, "seed").value_or(LLAMA_DEFAULT_SEED);
    const int mirostat = (int) optNumber(p, "mirostat").value_or(0);
    if (mirostat < 0 || mirostat > 2) throw invalidArg("mirostat must be 0, 1 or 2");

    // Grammar first: an invalid one fails before anything is allocated for the chain.
    std::string grammar = optString(p, "grammar").value_or("");
    if (!grammar.empty()) {
        std::string root = optString(p, "grammarRoot").value_or("root");
        if (optBool(p, "grammarLazy").value_or(false)) {
            std::vector<std::string> patterns = optStringArray(p, "grammarTriggerPatterns");
            std::vector<const char *> patternsC;
            for (auto & pat : patterns) patternsC.push_back(pat.c_str());
            std::vector<llama_token> tokens;
            if (has(p, "grammarTriggerTokens")) {
                Napi::Value v = p.Get("grammarTriggerTokens");
                if (!v.IsArray()) throw invalidArg("grammarTriggerTokens must be an array of token ids");
                Napi::Array a = v.As<Napi::Array>();
                for (uint32_t i = 0; i < a.Length(); i++) {
                    int64_t t = a.Get(i).ToNumber().Int64Value();
                    if (t < 0 || t >= nVocab) throw invalidArg("grammarTriggerTokens holds an out-of-range token");
                    tokens.push_back((llama_token) t);
                }
            }
            clearLastError();
            s->grammar = llama_sampler_init_grammar_lazy_patterns(vocab, grammar.c_str(), root.c_str(), patternsC.data(),
                                                                  patternsC.size(), tokens.data(), tokens.size());
        } else {
            clearLastError();
            s->grammar = llama_sampler_init_grammar(vocab, grammar.c_str(), root.c_str());
        }
        if (!s->grammar) {
            std::string why = takeLastError();
            throw NativeError("GRAMMAR_INVALID", "failed to parse grammar" + (why.empty() ? "" : ": " + why));
        }
    }

    auto cp = llama_sampler_chain_default_params();
    cp.no_perf = true;
    s->chain = llama_sampler_chain_init(cp);
    auto add = [&](llama_sampler * smpl) {
        if (!smpl) throw NativeError("NATIVE_ERROR", "failed to create a sampler");
        llama_sampler_chain_add(s->chain, smpl);
    };

    if (has(p, "logitBias")) {
        Napi::Value v = p.Get("logitBias");
        if (!v.IsArray()) throw invalidArg("logitBias must be an array of {token, bias}");
        Napi::Array a = v.As<Napi::Array>();
        std::vector<llama_logit_bias> biases;
        for (uint32_t i = 0; i < a.Length(); i++) {
            if (!a.Get(i).IsObject()) throw invalidArg("logitBias entries must be {token, bias}");
            Napi::Object o = a.Get(i).As<Napi::Object>();
            double t = getNumber(o, "token");
            if (t < 0 || t >= nVocab) throw invalidArg("logitBias holds an out-of-range token");
            biases.push_back({(llama_token) t, (float) getNumber(o, "bias")});
        }
        if (!biases.empty()) add(llama_sampler_init_logit_bias(nVocab, (int32_t) biases.size(), biases.data()));
    }

    add(llama_sampler_init_penalties(nVocab,
                                     (int32_t) optNumber(p, "repeatLastN").value_or(64),
                                     (float) optNumber(p, "repeatPenalty").value_or(1.0),
                                     (float) optNumber(p, "frequencyPenalty").value_or(0.0),
                                     (float) optNumber(p, "presencePenalty").value_or(0.0)));

    if (temperature <= 0) {
        add(llama_sampler_init_greedy());
    } else if (mirostat == 1) {
        add(llama_sampler_init_temp(temperature));
        add(llama_sampler_init_mirostat(nVocab, seed, (float) optNumber(p, "mirostatTau").value_or(5.0),
                                        (float) optNumber(p, "mirostatEta").value_or(0.1), 100));
    } else if (mirostat == 2) {
        add(llama_sampler_init_temp(temperature));
        add(llama_sampler_init_mirostat_v2(seed, (float) optNumber(p, "mirostatTau").value_or(5.0),
                                           (float) optNumber(p, "mirostatEta").value_or(0.1)));
    } else {
        add(llama_sampler_init_top_k((int32_t) optNumber(p, "topK").value_or(40)));
        add(llama_sampler_init_typical((float) optNumber(p, "typicalP").value_or(1.0), 1));
        add(llama_sampler_init_top_p((float) optNumber(p, "topP").value_or(0.95), 1));
        add(llama_sampler_init_min_p((float) optNumber(p, "minP").value_or(0.05), 1));
        add(llama_sampler_init_temp(temperature));
        add(llama_sampler_init_dist(seed));
    }
    return s;
}

// --- JS Sampler --------------------------------------------------------------------------------

Napi::Function SamplerWrap::define(Napi::Env env) {
    return DefineClass(env, "Sampler", {
        InstanceMethod<&SamplerWrap::accept>("accept"),
        InstanceMethod<&SamplerWrap::reset>("reset"),
        InstanceMethod<&SamplerWrap::dispose>("dispose"),
    });
}

Napi::Object SamplerWrap::create(Napi::Env env, SamplerPtr sampler) {
    return addonData(env).sampler.New({Napi::External<SamplerPtr>::New(env, &sampler)});
}

SamplerWrap::SamplerWrap(const Napi::CallbackInfo & info) : Napi::ObjectWrap<SamplerWrap>(info) {
    if (info.Length() < 1 || !info[0].IsExternal()) {
        throw makeError(info.Env(), "INVALID_ARGUMENT", "Sampler objects come from model.createSampler()");
    }
    sampler_ = *info[0].As<Napi::External<SamplerPtr>>().Data();
}

SamplerPtr SamplerWrap::unwrap(Napi::Env env, const Napi::Value & value) {
    if (!value.IsObject()) return nullptr;
    Napi::Object o = value.As<Napi::Object>();
    if (!o.InstanceOf(addonData(env).sampler.Value())) return nullptr;
    return Unwrap(o)->sampler_;
}

Napi::Value SamplerWrap::accept(const Napi::CallbackInfo & info) {
    return guard(info.Env(), [&]() -> Napi::Value {
        if (!sampler_) throw NativeError("DISPOSED", "the sampler was disposed");
        int32_t tok = argInt(info, 0, "token");
        if (tok < 0 || tok >= sampler_->model->nVocab()) throw invalidArg("token is out of range");
        std::lock_guard<std::mutex> lock(sampler_->mutex);
        // Only the chain (penalties) sees outside tokens: the grammar constrains output alone.
        llama_sampler_accept(sampler_->chain, tok);
        return info.Env().Undefined();
    });
}

Napi::Value SamplerWrap::reset(const Napi::CallbackInfo & info) {
    return guard(info.Env(), [&]() -> Napi::Value {
        if (!sampler_) throw NativeError("DISPOSED", "the sampler was disposed");
        std::lock_guard<std::mutex> lock(sampler_->mutex);
        llama_sampler_reset(sampler_->chain);
        if (sampler_->grammar) llama_sampler_reset(sampler_->grammar);
        return info.Env().Undefined();
    });
}

Napi::Value SamplerWrap::dispose(const Napi::CallbackInfo & info) {
    sampler_.reset();  // a decode that is sampling with it holds its own reference
    return info.Env().Undefined();
}

}  // namespace moed
