// Model handle and the JS Model object: metadata, tokenizer, and factories for the rest.
#include "handles.h"
#include "util.h"

namespace moed {

ModelHandle::ModelHandle(llama_model * m) : model(m), vocab(llama_model_get_vocab(m)) {}

ModelHandle::~ModelHandle() {
    defaultTemplates.reset();
    overrideTemplates.reset();
    if (model) llama_model_free(model);
}

namespace {

llama_token checkToken(const ModelHandle & m, int64_t token) {
    if (token < 0 || token >= m.nVocab()) {
        throw invalidArg("token " + std::to_string(token) + " is out of range [0, " + std::to_string(m.nVocab()) + ")");
    }
    return static_cast<llama_token>(token);
}

bool argBool(const Napi::CallbackInfo & info, size_t i, const char * name) {
    if (info.Length() <= i || !info[i].IsBoolean()) throw invalidArg(std::string(name) + " must be a boolean");
    return info[i].As<Napi::Boolean>().Value();
}

// llama_model_meta_* return the full length snprintf-style; grow and call again when cut.
template <typename F>
std::string metaString(F && call) {
    std::vector<char> buf(256);
    int32_t n = call(buf.data(), buf.size());
    if (n < 0) return "";
    if ((size_t) n >= buf.size()) {
        buf.resize((size_t) n + 1);
        n = call(buf.data(), buf.size());
    }
    return std::string(buf.data(), (size_t) std::max(n, 0));
}

}  // namespace

Napi::Function ModelWrap::define(Napi::Env env) {
    return DefineClass(env, "Model", {
        InstanceMethod<&ModelWrap::metadata>("metadata"),
        InstanceMethod<&ModelWrap::chatTemplate>("chatTemplate"),
        InstanceMethod<&ModelWrap::tokenize>("tokenize"),
        InstanceMethod<&ModelWrap::tokenPiece>("tokenPiece"),
        InstanceMethod<&ModelWrap::detokenize>("detokenize"),
        InstanceMethod<&ModelWrap::isEog>("isEog"),
        InstanceMethod<&ModelWrap::isControl>("isControl"),
        InstanceMethod<&ModelWrap::bos>("bos"),
        InstanceMethod<&ModelWrap::eos>("eos"),
        InstanceMethod<&ModelWrap::addBos>("addBos"),
        InstanceMethod<&ModelWrap::createContext>("createContext"),
        InstanceMethod<&ModelWrap::createSampler>("createSampler"),
        InstanceMethod<&ModelWrap::chatApply>("chatApply"),
        InstanceMethod<&ModelWrap::createChatParser>("createChatParser"),
        InstanceMethod<&ModelWrap::dispose>("dispose"),
    });
}

Napi::Object ModelWrap::create(Napi::Env env, ModelPtr model) {
    return addonData(env).model.New({Napi::External<ModelPtr>::New(env, &model)});
}

ModelWrap::ModelWrap(const Napi::CallbackInfo & info) : Napi::ObjectWrap<ModelWrap>(info) {
    if (info.Length() < 1 || !info[0].IsExternal()) {
        throw makeError(info.Env(), "INVALID_ARGUMENT", "Model objects come from loadModel()");
    }
    model_ = *info[0].As<Napi::External<ModelPtr>>().Data();
    // Plain read-only values: they stay readable after dispose().
    Napi::Env env = info.Env();
    llama_model * m = model_->model;
    char desc[256] = {0};
    llama_model_desc(m, desc, sizeof(desc));
    auto prop = [&](const char * name, Napi::Value v) {
        Value().DefineProperty(Napi::PropertyDescriptor::Value(name, v, napi_enumerable));
    };
    prop("nCtxTrain", Napi::Number::New(env, llama_model_n_ctx_train(m)));
    prop("nEmbd", Napi::Number::New(env, llama_model_n_embd(m)));
    prop("nLayer", Napi::Number::New(env, llama_model_n_layer(m)));
    prop("nVocab", Napi::Number::New(env, model_->nVocab()));
    prop("nParams", Napi::Number::New(env, (double) llama_model_n_params(m)));
    prop("size", Napi::Number::New(env, (double) llama_model_size(m)));
    prop("description", Napi::String::New(env, desc));
}

ModelPtr ModelWrap::get() {
    if (!model_) throw NativeError("DISPOSED", "the model was disposed");
    return model_;
}

Napi::Value ModelWrap::metadata(const Napi::CallbackInfo & info) {
    return guard(info.Env(), [&]() -> Napi::Value {
        llama_model * m = get()->model;
        Napi::Object out = Napi::Object::New(info.Env());
        int32_t n = llama_model_meta_count(m);
        for (int32_t i = 0; i < n; i++) {
            std::string key = metaString([&](char * b, size_t s) { return llama_model_meta_key_by_index(m, i, b, s); });
            std::string val = metaString([&](char * b, size_t s) { return llama_model_meta_val_str_by_index(m, i, b, s); });
            out.Set(key, val);
        }
        return out;
    });
}

Napi::Value ModelWrap::chatTemplate(const Napi::CallbackInfo & info) {
    return guard(info.Env(), [&]() -> Napi::Value {
        const char * tmpl = llama_model_chat_template(get()->model, nullptr);
        return tmpl ? Napi::String::New(info.Env(), tmpl) : info.Env().Null();
    });
}

Napi::Value ModelWrap::tokenize(const Napi::CallbackInfo & info) {
    return guard(info.Env(), [&]() -> Napi::Value {
        ModelPtr m = get();
        std::string text = argString(info, 0, "text");
        bool addSpecial = argBool(info, 1, "addSpecial");
        bool parseSpecial = argBool(info, 2, "parseSpecial");
        std::vector<llama_token> toks(text.size() + 2);
        int32_t n = llama_tokenize(m->vocab, text.data(), (int32_t) text.size(), toks.data(), (int32_t) toks.size(),
                                   addSpecial, parseSpecial);
        if (n < 0) {  // buffer too small: -n is the count needed
            toks.resize((size_t) -n);
            n = llama_tokenize(m->vocab, text.data(), (int32_t) text.size(), toks.data(), (int32_t) toks.size(),
                               addSpecial, parseSpecial);
        }
        if (n < 0) throw NativeError("NATIVE_ERROR", "tokenization failed");
        auto out = Napi::Int32Array::New(info.Env(), (size_t) n);
        std::copy(toks.begin(), toks.begin() + n, out.Data());
        return out;
    });
}

Napi::Value ModelWrap::tokenPiece(const Napi::CallbackInfo & info) {
    return guard(info.Env(), [&]() -> Napi::Value {
        ModelPtr m = get();
        llama_token tok = checkToken(*m, argInt(info, 0, "token"));
        bool special = argBool(info, 1, "special");
        std::vector<char> buf(64);
        int32_t n = llama_token_to_piece(m->vocab, tok, buf.data(), (int32_t) buf.size(), 0, special);
        if (n < 0) {
            buf.resize((size_t) -n);
            n = llama_token_to_piece(m->vocab, tok, buf.data(), (int32_t) buf.size(), 0, special);
        }
        if (n < 0) throw NativeError("NATIVE_ERROR", "token_to_piece failed");
        return Napi::Buffer<char>::Copy(info.Env(), buf.data(), (size_t) n);
    });
}

Napi::Value ModelWrap::detokenize(const Napi::CallbackInfo & info) {
    return guard(info.Env(), [&]() -> Napi::Value {
        ModelPtr m = get();
        if (info.Length() < 1 || !info[0].IsTypedArray() ||
            info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
            throw invalidArg("tokens must be an Int32Array");
        }
        auto arr = info[0].As<Napi::Int32Array>();
        std::vector<llama_token> toks(arr.Data(), arr.Data() + arr.ElementLength());
        for (llama_token t : toks) checkToken(*m, t);
        bool removeSpecial = argBool(info, 1, "removeSpecial");
        bool unparseSpecial = argBool(info, 2, "unparseSpecial");
        std::vector<char> buf(toks.size() * 8 + 16);
        int32_t n = llama_detokenize(m->vocab, toks.data(), (int32_t) toks.size(), buf.data(), (int32_t) buf.size(),
                                     removeSpecial, unparseSpecial);
        if (n < 0) {
            buf.resize((size_t) -n);
            n = llama_detokenize(m->vocab, toks.data(), (int32_t) toks.size(), buf.data(), (int32_t) buf.size(),
                                 removeSpecial, unparseSpecial);
        }
        if (n < 0) throw NativeError("NATIVE_ERROR", "detokenization failed");
        return Napi::String::New(info.Env(), buf.data(), (size_t) n);
    });
}

Napi::Value ModelWrap::isEog(const Napi::CallbackInfo & info) {
    return guard(info.Env(), [&]() -> Napi::Value {
        ModelPtr m = get();
        return Napi::Boolean::New(info.Env(), llama_vocab_is_eog(m->vocab, checkToken(*m, argInt(info, 0, "token"))));
    });
}

Napi::Value ModelWrap::isControl(const Napi::CallbackInfo & info) {
    return guard(info.Env(), [&]() -> Napi::Value {
        ModelPtr m = get();
        return Napi::Boolean::New(info.Env(), llama_vocab_is_control(m->vocab, checkToken(*m, argInt(info, 0, "token"))));
    });
}

Napi::Value ModelWrap::bos(const Napi::CallbackInfo & info) {
    return guard(info.Env(), [&]() -> Napi::Value { return Napi::Number::New(info.Env(), llama_vocab_bos(get()->vocab)); });
}

Napi::Value ModelWrap::eos(const Napi::CallbackInfo & info) {
    return guard(info.Env(), [&]() -> Napi::Value { return Napi::Number::New(info.Env(), llama_vocab_eos(get()->vocab)); });
}

Napi::Value ModelWrap::addBos(const Napi::CallbackInfo & info) {
    return guard(info.Env(), [&]() -> Napi::Value {
        return Napi::Boolean::New(info.Env(), llama_vocab_get_add_bos(get()->vocab));
    });
}

Napi::Value ModelWrap::createContext(const Napi::CallbackInfo & info) {
    return promise(info.Env(), [&]() -> Napi::Value {
        return moed::createContext(info.Env(), get(), argObject(info, 0, "params"));
    });
}

Napi::Value ModelWrap::createSampler(const Napi::CallbackInfo & info) {
    return guard(info.Env(), [&]() -> Napi::Value {
        return SamplerWrap::create(info.Env(), moed::createSampler(get(), argObject(info, 0, "params")));
    });
}

Napi::Value ModelWrap::chatApply(const Napi::CallbackInfo & info) {
    return guard(info.Env(), [&]() -> Napi::Value {
        ModelPtr m = get();
        return moed::chatApply(info.Env(), *m, argObject(info, 0, "input"));
    });
}

Napi::Value ModelWrap::createChatParser(const Napi::CallbackInfo & info) {
    return guard(info.Env(), [&]() -> Napi::Value {
        get();
        return ChatParserWrap::create(info.Env(), chatParserParams(argObject(info, 0, "params")));
    });
}

Napi::Value ModelWrap::dispose(const Napi::CallbackInfo & info) {
    // Contexts and samplers keep their own reference; the weights go when the last one does.
    model_.reset();
    return info.Env().Undefined();
}

}  // namespace moed
