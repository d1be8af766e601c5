// Native handles and their JS wrappers.
//
// Ownership: handles are shared_ptrs. A JS wrapper holds one reference; a running worker holds
// another, so dispose() (or GC) during a decode never frees memory the worker is using: the
// last holder frees it. A context and a sampler also hold their model, because libllama
// contexts and grammar samplers point into the model and its vocabulary.
#pragma once

#include <napi.h>

#include "chat.h"  // llama-common
#include "llama.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace moed {

struct ModelHandle {
    llama_model * model = nullptr;
    const llama_vocab * vocab = nullptr;

    // Parsed chat templates: the model's own (built once) and the last override used.
    std::mutex chatMutex;
    common_chat_templates_ptr defaultTemplates;
    std::string overrideSource;
    common_chat_templates_ptr overrideTemplates;

    explicit ModelHandle(llama_model * m);
    ~ModelHandle();
    int32_t nVocab() const { return llama_vocab_n_tokens(vocab); }
};
using ModelPtr = std::shared_ptr<ModelHandle>;

struct SamplerHandle {
    ModelPtr model;
    // Logit bias, penalties, the truncation samplers and the final pick. The grammar stays out
    // of the chain and is applied by rejection, the way llama-server does it: check the sampled
    // token first and constrain the whole vocabulary only when it does not fit.
    llama_sampler * chain = nullptr;
    llama_sampler * grammar = nullptr;
    std::mutex mutex;  // JS-thread accept/reset against worker-thread sample
    std::vector<llama_token_data> cur;

    SamplerHandle() = default;
    SamplerHandle(const SamplerHandle &) = delete;
    ~SamplerHandle();
    llama_token sample(llama_context * ctx, int32_t batchIndex);  // samples and accepts
};
using SamplerPtr = std::shared_ptr<SamplerHandle>;

struct ContextHandle {
    ModelPtr model;
    llama_context * ctx = nullptr;
    bool kvUnified = false;
    std::atomic<bool> abortFlag{false};  // read by ggml between graph nodes
    std::atomic<bool> busy{false};       // a decode or state call is running on a worker

    ContextHandle() = default;
    ContextHandle(const ContextHandle &) = delete;
    ~ContextHandle();
};
using ContextPtr = std::shared_ptr<ContextHandle>;

// --- JS wrappers -----------------------------------------------------------------------------

class ModelWrap : public Napi::ObjectWrap<ModelWrap> {
public:
    static Napi::Function define(Napi::Env env);
    static Napi::Object create(Napi::Env env, ModelPtr model);
    explicit ModelWrap(const Napi::CallbackInfo & info);

private:
    ModelPtr get();  // throws DISPOSED
    Napi::Value metadata(const Napi::CallbackInfo & info);
    Napi::Value chatTemplate(const Napi::CallbackInfo & info);
    Napi::Value tokenize(const Napi::CallbackInfo & info);
    Napi::Value tokenPiece(const Napi::CallbackInfo & info);
    Napi::Value detokenize(const Napi::CallbackInfo & info);
    Napi::Value isEog(const Napi::CallbackInfo & info);
    Napi::Value isControl(const Napi::CallbackInfo & info);
    Napi::Value bos(const Napi::CallbackInfo & info);
    Napi::Value eos(const Napi::CallbackInfo & info);
    Napi::Value addBos(const Napi::CallbackInfo & info);
    Napi::Value createContext(const Napi::CallbackInfo & info);
    Napi::Value createSampler(const Napi::CallbackInfo & info);
    Napi::Value chatApply(const Napi::CallbackInfo & info);
    Napi::Value createChatParser(const Napi::CallbackInfo & info);
    Napi::Value dispose(const Napi::CallbackInfo & info);

    ModelPtr model_;
};

class ContextWrap : public Napi::ObjectWrap<ContextWrap> {
public:
    static Napi::Function define(Napi::Env env);
    static Napi::Object create(Napi::Env env, ContextPtr ctx);
    explicit ContextWrap(const Napi::CallbackInfo & info);

private:
    ContextPtr get();      // throws DISPOSED
    ContextPtr getIdle();  // also throws INVALID_ARGUMENT while a worker uses the context
    Napi::Value decode(const Napi::CallbackInfo & info);
    Napi::Value getLogits(const Napi::CallbackInfo & info);
    Napi::Value getEmbeddings(const Napi::CallbackInfo & info);
    Napi::Value getEmbeddingsIth(const Napi::CallbackInfo & info);
    Napi::Value abort(const Napi::CallbackInfo & info);
    Napi::Value seqRm(const Napi::CallbackInfo & info);
    Napi::Value seqCp(const Napi::CallbackInfo & info);
    Napi::Value seqKeep(const Napi::CallbackInfo & info);
    Napi::Value seqAdd(const Napi::CallbackInfo & info);
    Napi::Value seqPosMin(const Napi::CallbackInfo & info);
    Napi::Value seqPosMax(const Napi::CallbackInfo & info);
    Napi::Value memoryClear(const Napi::CallbackInfo & info);
    Napi::Value stateSeqGet(const Napi::CallbackInfo & info);
    Napi::Value stateSeqSet(const Napi::CallbackInfo & info);
    Napi::Value perf(const Napi::CallbackInfo & info);
    Napi::Value memoryBreakdown(const Napi::CallbackInfo & info);
    Napi::Value dispose(const Napi::CallbackInfo & info);

    ContextPtr ctx_;
};

class SamplerWrap : public Napi::ObjectWrap<SamplerWrap> {
public:
    static Napi::Function define(Napi::Env env);
    static Napi::Object create(Napi::Env env, SamplerPtr sampler);
    explicit SamplerWrap(const Napi::CallbackInfo & info);
    // The handle behind a JS value, or nullptr when it is not a live Sampler.
    static SamplerPtr unwrap(Napi::Env env, const Napi::Value & value);

private:
    Napi::Value accept(const Napi::CallbackInfo & info);
    Napi::Value reset(const Napi::CallbackInfo & info);
    Napi::Value dispose(const Napi::CallbackInfo & info);

    SamplerPtr sampler_;
};

class ChatParserWrap : public Napi::ObjectWrap<ChatParserWrap> {
public:
    static Napi::Function define(Napi::Env env);
    static Napi::Object create(Napi::Env env, std::unique_ptr<common_chat_parser_params> params);
    explicit ChatParserWrap(const Napi::CallbackInfo & info);

private:
    Napi::Value parse(const Napi::CallbackInfo & info);

    std::unique_ptr<common_chat_parser_params> params_;
};

// Per-environment constructors of the wrapper classes (env.SetInstanceData).
struct AddonData {
    Napi::FunctionReference model;
    Napi::FunctionReference context;
    Napi::FunctionReference sampler;
    Napi::FunctionReference chatParser;
};
AddonData & addonData(Napi::Env env);

// Builders used by ModelWrap (defined next to their wrapper).
Napi::Value createContext(Napi::Env env, ModelPtr model, const Napi::Object & params);
SamplerPtr createSampler(ModelPtr model, const Napi::Object & params);
Napi::Value chatApply(Napi::Env env, ModelHandle & model, const Napi::Object & input);
std::unique_ptr<common_chat_parser_params> chatParserParams(const Napi::Object & params);

}  // namespace moed
