// Contexts: creation, decode + sampling on a worker, logits, KV memory and sequence state.
#include "compute-thread.h"
#include "handles.h"
#include "logging.h"
#include "util.h"

#include "llama-ext.h"  // llama_get_memory_breakdown (staging C++ API, links in the static build)

#include <algorithm>
#include <cstring>
#include <memory>

namespace moed {

ContextHandle::~ContextHandle() {
    if (ctx) llama_free(ctx);
}

namespace {

bool abortCallback(void * data) {
    return static_cast<std::atomic<bool> *>(data)->load(std::memory_order_relaxed);
}

ggml_type typeByName(const std::string & name) {
    for (int t = 0; t < GGML_TYPE_COUNT; t++) {
        const char * n = ggml_type_name((ggml_type) t);
        if (n && strcasecmp(n, name.c_str()) == 0) return (ggml_type) t;
    }
    throw invalidArg("unknown ggml type \"" + name + "\"");
}

llama_context_params readParams(const Napi::Object & p) {
    llama_context_params cp = llama_context_default_params();
    double nCtx = getNumber(p, "nCtx");
    if (nCtx < 0) throw invalidArg("nCtx must be >= 0");
    cp.n_ctx = (uint32_t) nCtx;
    if (auto n = optNumber(p, "nBatch")) cp.n_batch = (uint32_t) *n;
    if (auto n = optNumber(p, "nUbatch")) cp.n_ubatch = (uint32_t) *n;
    if (auto n = optNumber(p, "nSeqMax")) {
        if (*n < 1 || *n > llama_max_parallel_sequences()) {
            throw invalidArg("nSeqMax must be in [1, " + std::to_string(llama_max_parallel_sequences()) + "]");
        }
        cp.n_seq_max = (uint32_t) *n;
    }
    if (auto n = optNumber(p, "nThreads")) cp.n_threads = cp.n_threads_batch = (int32_t) *n;
    if (auto n = optNumber(p, "nThreadsBatch")) cp.n_threads_batch = (int32_t) *n;
    if (auto s = optString(p, "flashAttention")) {
        if (*s == "auto") cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_AUTO;
        else if (*s == "on") cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_ENABLED;
        else if (*s == "off") cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
        else throw invalidArg("flashAttention must be auto, on or off");
    }
    if (auto b = optBool(p, "kvUnified")) cp.kv_unified = *b;
    if (auto s = optString(p, "typeK")) cp.type_k = typeByName(*s);
    if (auto s = optString(p, "typeV")) cp.type_v = typeByName(*s);
    if (auto b = optBool(p, "offloadKqv")) cp.offload_kqv = *b;
    if (auto b = optBool(p, "opOffload")) cp.op_offload = *b;
    if (auto b = optBool(p, "embeddings")) cp.embeddings = *b;
    if (auto s = optString(p, "pooling")) {
        if (*s == "unspecified") cp.pooling_type = LLAMA_POOLING_TYPE_UNSPECIFIED;
        else if (*s == "none") cp.pooling_type = LLAMA_POOLING_TYPE_NONE;
        else if (*s == "mean") cp.pooling_type = LLAMA_POOLING_TYPE_MEAN;
        else if (*s == "cls") cp.pooling_type = LLAMA_POOLING_TYPE_CLS;
        else if (*s == "last") cp.pooling_type = LLAMA_POOLING_TYPE_LAST;
        else if (*s == "rank") cp.pooling_type = LLAMA_POOLING_TYPE_RANK;
        else throw invalidArg("pooling must be unspecified, none, mean, cls, last or rank");
    }
    cp.no_perf = !optBool(p, "perf").value_or(false);
    return cp;
}

template <typename T>
const T * typedArray(const Napi::Object & batch, const char * key, napi_typedarray_type type, const char * typeName,
                     size_t & length) {
    Napi::Value v = batch.Get(key);
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type) {
        throw invalidArg(std::string("batch.") + key + " must be a " + typeName);
    }
    auto arr = v.As<Napi::TypedArrayOf<T>>();
    length = arr.ElementLength();
    return arr.Data();
}

// A batch copied out of the JS typed arrays: they may change or be collected while we decode.
struct BatchData {
    std::vector<llama_token> tokens;
    std::vector<llama_pos> pos;
    std::vector<int32_t> nSeqId;
    std::vector<llama_seq_id> seqIds;
    std::vector<llama_seq_id *> seqIdPtrs;
    std::vector<int8_t> logits;

    llama_batch view() {
        seqIdPtrs.resize(seqIds.size());
        for (size_t i = 0; i < seqIds.size(); i++) seqIdPtrs[i] = &seqIds[i];
        return llama_batch{(int32_t) tokens.size(), tokens.data(), nullptr, pos.data(), nSeqId.data(),
                           seqIdPtrs.data(), logits.data()};
    }
};

void checkSeq(const ContextHandle & c, int32_t seq, bool allowAll = false) {
    int32_t max = (int32_t) llama_n_seq_max(c.ctx);
    if ((allowAll && seq == -1) || (seq >= 0 && seq < max)) return;
    throw invalidArg("sequence id " + std::to_string(seq) + " is out of range [0, " + std::to_string(max) + ")");
}

}  // namespace

Napi::Value createContext(Napi::Env env, ModelPtr model, const Napi::Object & params) {
    llama_context_params cp = readParams(params);
    bool kvUnified = cp.kv_unified;
    auto out = std::make_shared<ContextPtr>();
    return PromiseWorker::run(
        env, "moed.createContext",
        [model, cp, kvUnified, out]() {
            clearLastError();
            llama_context * ctx = llama_init_from_model(model->model, cp);
            if (!ctx) {
                std::string why = takeLastError();
                throw NativeError("CONTEXT_FAILED", "failed to create the context" + (why.empty() ? "" : ": " + why));
            }
            auto h = std::make_shared<ContextHandle>();
            h->model = model;
            h->ctx = ctx;
            h->kvUnified = kvUnified;
            llama_set_abort_callback(ctx, abortCallback, &h->abortFlag);
            *out = h;
        },
        [out](Napi::Env env) -> Napi::Value { return ContextWrap::create(env, *out); });
}

// --- JS Context ------------------------------------------------------------------------------

Napi::Function ContextWrap::define(Napi::Env env) {
    return DefineClass(env, "Context", {
        InstanceMethod<&ContextWrap::decode>("decode"),
        InstanceMethod<&ContextWrap::getLogits>("getLogits"),
        InstanceMethod<&ContextWrap::getEmbeddings>("getEmbeddings"),
        InstanceMethod<&ContextWrap::getEmbeddingsIth>("getEmbeddingsIth"),
        InstanceMethod<&ContextWrap::abort>("abort"),
        InstanceMethod<&ContextWrap::seqRm>("seqRm"),
        InstanceMethod<&ContextWrap::seqCp>("seqCp"),
        InstanceMethod<&ContextWrap::seqKeep>("seqKeep"),
        InstanceMethod<&ContextWrap::seqAdd>("seqAdd"),
        InstanceMethod<&ContextWrap::seqPosMin>("seqPosMin"),
        InstanceMethod<&ContextWrap::seqPosMax>("seqPosMax"),
        InstanceMethod<&ContextWrap::memoryClear>("memoryClear"),
        InstanceMethod<&ContextWrap::stateSeqGet>("stateSeqGet"),
        InstanceMethod<&ContextWrap::stateSeqSet>("stateSeqSet"),
        InstanceMethod<&ContextWrap::perf>("perf"),
        InstanceMethod<&ContextWrap::memoryBreakdown>("memoryBreakdown"),
        InstanceMethod<&ContextWrap::dispose>("dispose"),
    });
}

Napi::Object ContextWrap::create(Napi::Env env, ContextPtr ctx) {
    return addonData(env).context.New({Napi::External<ContextPtr>::New(env, &ctx)});
}

ContextWrap::ContextWrap(const Napi::CallbackInfo & info) : Napi::ObjectWrap<ContextWrap>(info) {
    if (info.Length() < 1 || !info[0].IsExternal()) {
        throw makeError(info.Env(), "INVALID_ARGUMENT", "Context objects come from model.createContext()");
    }
    ctx_ = *info[0].As<Napi::External<ContextPtr>>().Data();
    Napi::Env env = info.Env();
    llama_context * c = ctx_->ctx;
    auto prop = [&](const char * name, uint32_t v) {
        Value().DefineProperty(Napi::PropertyDescriptor::Value(name, Napi::Number::New(env, v), napi_enumerable));
    };
    prop("nCtx", llama_n_ctx(c));
    prop("nCtxSeq", llama_n_ctx_seq(c));
    prop("nBatch", llama_n_batch(c));
    prop("nUbatch", llama_n_ubatch(c));
    prop("nSeqMax", llama_n_seq_max(c));
}

ContextPtr ContextWrap::get() {
    if (!ctx_) throw NativeError("DISPOSED", "the context was disposed");
    return ctx_;
}

ContextPtr ContextWrap::getIdle() {
    ContextPtr c = get();
    if (c->busy.load()) throw invalidArg("the context is busy with a decode or state call");
    return c;
}

Napi::Value ContextWrap::decode(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    return promise(env, [&]() -> Napi::Value {
        ContextPtr c = get();
        Napi::Object b = argObject(info, 0, "batch");
        auto data = std::make_shared<BatchData>();
        size_t n = 0, nPos = 0, nSeq = 0, nLogits = 0;
        const int32_t * tokens = typedArray<int32_t>(b, "tokens", napi_int32_array, "Int32Array", n);
        const int32_t * pos = typedArray<int32_t>(b, "positions", napi_int32_array, "Int32Array", nPos);
        const int32_t * seq = typedArray<int32_t>(b, "seqIds", napi_int32_array, "Int32Array", nSeq);
        const uint8_t * logits = typedArray<uint8_t>(b, "logits", napi_uint8_array, "Uint8Array", nLogits);
        if (n == 0) throw invalidArg("the batch is empty");
        if (nPos != n || nSeq != n || nLogits != n) throw invalidArg("batch arrays must have the same length");
        if (n > llama_n_batch(c->ctx)) {
            throw invalidArg("batch of " + std::to_string(n) + " tokens exceeds nBatch " +
                             std::to_string(llama_n_batch(c->ctx)));
        }
        const int32_t nVocab = c->model->nVocab();
        for (size_t i = 0; i < n; i++) {
            if (tokens[i] < 0 || tokens[i] >= nVocab) throw invalidArg("batch.tokens holds an out-of-range token");
            checkSeq(*c, seq[i]);
        }
        data->tokens.assign(tokens, tokens + n);
        data->pos.assign(pos, pos + n);
        data->seqIds.assign(seq, seq + n);
        data->nSeqId.assign(n, 1);
        data->logits.resize(n);
        for (size_t i = 0; i < n; i++) data->logits[i] = logits[i] ? 1 : 0;

        std::vector<std::pair<SamplerPtr, int32_t>> requests;
        if (info.Length() > 1 && !info[1].IsUndefined() && !info[1].IsNull()) {
            if (!info[1].IsArray()) throw invalidArg("sample must be an array of {sampler, batchIndex}");
            Napi::Array a = info[1].As<Napi::Array>();
            for (uint32_t i = 0; i < a.Length(); i++) {
                if (!a.Get(i).IsObject()) throw invalidArg("sample entries must be {sampler, batchIndex}");
                Napi::Object r = a.Get(i).As<Napi::Object>();
                SamplerPtr s = SamplerWrap::unwrap(env, r.Get("sampler"));
                if (!s) throw invalidArg("sample[" + std::to_string(i) + "].sampler is not a live Sampler");
                if (s->model != c->model) throw invalidArg("sample[" + std::to_string(i) + "].sampler belongs to another model");
                double idx = getNumber(r, "batchIndex");
                if (idx < 0 || idx >= (double) n || !data->logits[(size_t) idx]) {
                    throw invalidArg("sample[" + std::to_string(i) + "].batchIndex must point at a token with logits set");
                }
                requests.emplace_back(s, (int32_t) idx);
            }
        }

        bool expected = false;
        if (!c->busy.compare_exchange_strong(expected, true)) {
            throw invalidArg("a decode or state call is already running on this context");
        }
        // Cleared here, not on the worker: an abort() right after decode() must still count.
        c->abortFlag.store(false);
        auto out = std::make_shared<std::vector<llama_token>>();
        return PromiseWorker::run(
            env, "moed.decode",
            [c, data, requests, out]() {
                int32_t rc = 0;
                runOnComputeThread([&] { rc = llama_decode(c->ctx, data->view()); });
                if (rc == 1) throw NativeError("NO_KV_SPACE", "no KV cache slot for the batch");
                if (rc == 2) throw NativeError("ABORTED", "decode aborted");
                if (rc != 0) throw NativeError("DECODE_FAILED", "llama_decode failed with " + std::to_string(rc));
                out->reserve(requests.size());
                for (auto & [sampler, idx] : requests) out->push_back(sampler->sample(c->ctx, idx));
            },
            [out](Napi::Env env) -> Napi::Value {
                auto arr = Napi::Int32Array::New(env, out->size());
                std::copy(out->begin(), out->end(), arr.Data());
                return arr;
            },
            [c]() { c->busy.store(false); });
    });
}

Napi::Value ContextWrap::getLogits(const Napi::CallbackInfo & info) {
    return guard(info.Env(), [&]() -> Napi::Value {
        ContextPtr c = getIdle();
        int32_t i = argInt(info, 0, "batchIndex");
        const float * row = llama_get_logits_ith(c->ctx, i);
        if (!row) throw invalidArg("no logits for batch index " + std::to_string(i));
        const int32_t nVocab = c->model->nVocab();
        auto out = Napi::Float32Array::New(info.Env(), (size_t) nVocab);
        std::memcpy(out.Data(), row, sizeof(float) * (size_t) nVocab);
        return out;
    });
}

Napi::Value ContextWrap::getEmbeddings(const Napi::CallbackInfo & info) {
    return guard(info.Env(), [&]() -> Napi::Value {
        ContextPtr c = getIdle();
        int32_t seq = argInt(info, 0, "seqId");
        checkSeq(*c, seq);
        const float * e = llama_get_embeddings_seq(c->ctx, seq);
        if (!e) throw invalidArg("no pooled embedding for sequence " + std::to_string(seq) +
                                 " (needs embeddings:true and a pooling type)");
        const int32_t n = llama_model_n_embd_out(c->model->model);
        auto out = Napi::Float32Array::New(info.Env(), (size_t) n);
        std::memcpy(out.Data(), e, sizeof(float) * (size_t) n);
        return out;
    });
}

Napi::Value ContextWrap::getEmbeddingsIth(const Napi::CallbackInfo & info) {
    return guard(info.Env(), [&]() -> Napi::Value {
        ContextPtr c = getIdle();
        int32_t i = argInt(info, 0, "batchIndex");
        const float * e = llama_get_embeddings_ith(c->ctx, i);
        if (!e) throw invalidArg("no embedding for batch index " + std::to_string(i) + " (needs embeddings:true)");
        const int32_t n = llama_model_n_embd_out(c->model->model);
        auto out = Napi::Float32Array::New(info.Env(), (size_t) n);
        std::memcpy(out.Data(), e, sizeof(float) * (size_t) n);
        return out;
    });
}

Napi::Value ContextWrap::abort(const Napi::CallbackInfo & info) {
    if (ctx_) ctx_->abortFlag.store(true);
    return info.Env().Undefined();
}

Napi::Value ContextWrap::seqRm(const Napi::CallbackInfo & info) {
    return guard(info.Env(), [&]() -> Napi::Value {
        ContextPtr c = getIdle();
        int32_t seq = argInt(info, 0, "seqId");
        checkSeq(*c, seq, true);
        bool ok = llama_memory_seq_rm(llama_get_memory(c->ctx), seq, argInt(info, 1, "p0"), argInt(info, 2, "p1"));
        return Napi::Boolean::New(info.Env(), ok);
    });
}

Napi::Value ContextWrap::seqCp(const Napi::CallbackInfo & info) {
    return guard(info.Env(), [&]() -> Napi::Value {
        ContextPtr c = getIdle();
        int32_t src = argInt(info, 0, "src"), dst = argInt(info, 1, "dst");
        int32_t p0 = argInt(info, 2, "p0"), p1 = argInt(info, 3, "p1");
        checkSeq(*c, src);
        checkSeq(*c, dst);
        // Without a unified KV buffer each sequence has its own stream, and libllama can only
        // copy a whole one (it GGML_ASSERTs, killing the process, on a partial range).
        if (!c->kvUnified && src != dst && (p0 > 0 || p1 >= 0)) {
            throw invalidArg("a partial seqCp needs a context created with kvUnified: true");
        }
        llama_memory_seq_cp(llama_get_memory(c->ctx), src, dst, p0, p1);
        return info.Env().Undefined();
    });
}

Napi::Value ContextWrap::seqKeep(const Napi::CallbackInfo & info) {
    return guard(info.Env(), [&]() -> Napi::Value {
        ContextPtr c = getIdle();
        int32_t seq = argInt(info, 0, "seqId");
        checkSeq(*c, seq);
        llama_memory_seq_keep(llama_get_memory(c->ctx), seq);
        return info.Env().Undefined();
    });
}

Napi::Value ContextWrap::seqAdd(const Napi::CallbackInfo & info) {
    return guard(info.Env(), [&]() -> Napi::Value {
        ContextPtr c = getIdle();
        int32_t seq = argInt(info, 0, "seqId");
        checkSeq(*c, seq);
        llama_memory_t mem = llama_get_memory(c->ctx);
        if (!llama_memory_can_shift(mem)) throw invalidArg("this model's memory cannot shift positions");
        llama_memory_seq_add(mem, seq, argInt(info, 1, "p0"), argInt(info, 2, "p1"), argInt(info, 3, "delta"));
        return info.Env().Undefined();
    });
}

Napi::Value ContextWrap::seqPosMin(const Napi::CallbackInfo & info) {
    return guard(info.Env(), [&]() -> Napi::Value {
        ContextPtr c = getIdle();
        int32_t seq = argInt(info, 0, "seqId");
        checkSeq(*c, seq);
        return Napi::Number::New(info.Env(), llama_memory_seq_pos_min(llama_get_memory(c->ctx), seq));
    });
}

Napi::Value ContextWrap::seqPosMax(const Napi::CallbackInfo & info) {
    return guard(info.Env(), [&]() -> Napi::Value {
        ContextPtr c = getIdle();
        int32_t seq = argInt(info, 0, "seqId");
        checkSeq(*c, seq);
        return Napi::Number::New(info.Env(), llama_memory_seq_pos_max(llama_get_memory(c->ctx), seq));
    });
}

Napi::Value ContextWrap::memoryClear(const Napi::CallbackInfo & info) {
    return guard(info.Env(), [&]() -> Napi::Value {
        llama_memory_clear(llama_get_memory(getIdle()->ctx), true);
        return info.Env().Undefined();
    });
}

Napi::Value ContextWrap::stateSeqGet(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    return promise(env, [&]() -> Napi::Value {
        ContextPtr c = getIdle();
        int32_t seq = argInt(info, 0, "seqId");
        checkSeq(*c, seq);
        c->busy.store(true);
        // The state of a long conversation is large (R1 at 8K tokens: 575 MB), and it is saved
        // whenever a slot passes to another conversation: written once into memory that is not
        // zeroed first, then handed to JS as it is rather than copied into a new Buffer.
        struct State {
            std::unique_ptr<uint8_t[]> data;
            size_t size = 0;
        };
        auto state = std::make_shared<State>();
        return PromiseWorker::run(
            env, "moed.stateSeqGet",
            [c, seq, state]() {
                state->size = llama_state_seq_get_size(c->ctx, seq);
                state->data.reset(new uint8_t[std::max<size_t>(state->size, 1)]);
                size_t n = state->size ? llama_state_seq_get_data(c->ctx, state->data.get(), state->size, seq) : 0;
                if (n != state->size) throw NativeError("STATE_FAILED", "could not read the state of sequence " + std::to_string(seq));
            },
            [state](Napi::Env env) -> Napi::Value {
                return Napi::Buffer<uint8_t>::New(env, state->data.release(), state->size, [](Napi::Env, uint8_t * p) { delete[] p; });
            },
            [c]() { c->busy.store(false); });
    });
}

Napi::Value ContextWrap::stateSeqSet(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    return promise(env, [&]() -> Napi::Value {
        ContextPtr c = getIdle();
        int32_t seq = argInt(info, 0, "seqId");
        checkSeq(*c, seq);
        if (info.Length() < 2 || !info[1].IsBuffer()) throw invalidArg("state must be a Buffer");
        // Copied: the worker must not read JS memory that may change meanwhile.
        auto jsBuf = info[1].As<Napi::Buffer<uint8_t>>();
        auto state = std::make_shared<std::vector<uint8_t>>(jsBuf.Data(), jsBuf.Data() + jsBuf.Length());
        c->busy.store(true);
        auto read = std::make_shared<size_t>(0);
        return PromiseWorker::run(
            env, "moed.stateSeqSet",
            [c, seq, state, read]() { *read = llama_state_seq_set_data(c->ctx, state->data(), state->size(), seq); },
            [read](Napi::Env env) -> Napi::Value { return Napi::Number::New(env, (double) *read); },
            [c]() { c->busy.store(false); });
    });
}

Napi::Value ContextWrap::perf(const Napi::CallbackInfo & info) {
    return guard(info.Env(), [&]() -> Napi::Value {
        llama_perf_context_data d = llama_perf_context(get()->ctx);
        Napi::Object o = Napi::Object::New(info.Env());
        o.Set("promptEvalMs", d.t_p_eval_ms);
        o.Set("evalMs", d.t_eval_ms);
        o.Set("promptTokens", d.n_p_eval);
        o.Set("evalTokens", d.n_eval);
        return o;
    });
}

Napi::Value ContextWrap::memoryBreakdown(const Napi::CallbackInfo & info) {
    return guard(info.Env(), [&]() -> Napi::Value {
        Napi::Env env = info.Env();
        Napi::Object out = Napi::Object::New(env);
        for (const auto & [buft, mb] : llama_get_memory_breakdown(getIdle()->ctx)) {
            Napi::Object o = Napi::Object::New(env);
            o.Set("model", (double) mb.model);
            o.Set("context", (double) mb.context);
            o.Set("compute", (double) mb.compute);
            out.Set(ggml_backend_buft_name(buft), o);
        }
        return out;
    });
}

Napi::Value ContextWrap::dispose(const Napi::CallbackInfo & info) {
    if (ctx_) {
        ctx_->abortFlag.store(true);  // a running decode stops early and frees the context when done
        ctx_.reset();
    }
    return info.Env().Undefined();
}

}  // namespace moed
