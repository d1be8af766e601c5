#include "util.h"

namespace moed {

Napi::Error makeError(Napi::Env env, const std::string & code, const std::string & message) {
    Napi::Error err = Napi::Error::New(env, message);
    err.Set("code", Napi::String::New(env, code));
    return err;
}

Napi::Object argObject(const Napi::CallbackInfo & info, size_t i, const char * name) {
    if (info.Length() <= i || !info[i].IsObject()) throw invalidArg(std::string(name) + " must be an object");
    return info[i].As<Napi::Object>();
}

std::string argString(const Napi::CallbackInfo & info, size_t i, const char * name) {
    if (info.Length() <= i || !info[i].IsString()) throw invalidArg(std::string(name) + " must be a string");
    return info[i].As<Napi::String>().Utf8Value();
}

int32_t argInt(const Napi::CallbackInfo & info, size_t i, const char * name) {
    if (info.Length() <= i || !info[i].IsNumber()) throw invalidArg(std::string(name) + " must be a number");
    return info[i].As<Napi::Number>().Int32Value();
}

bool has(const Napi::Object & o, const char * key) {
    Napi::Value v = o.Get(key);
    return !v.IsUndefined() && !v.IsNull();
}

std::optional<std::string> optString(const Napi::Object & o, const char * key) {
    if (!has(o, key)) return std::nullopt;
    Napi::Value v = o.Get(key);
    if (!v.IsString()) throw invalidArg(std::string(key) + " must be a string");
    return v.As<Napi::String>().Utf8Value();
}

std::string getString(const Napi::Object & o, const char * key) {
    auto v = optString(o, key);
    if (!v) throw invalidArg(std::string(key) + " is required");
    return *v;
}

std::optional<double> optNumber(const Napi::Object & o, const char * key) {
    if (!has(o, key)) return std::nullopt;
    Napi::Value v = o.Get(key);
    if (!v.IsNumber()) throw invalidArg(std::string(key) + " must be a number");
    return v.As<Napi::Number>().DoubleValue();
}

double getNumber(const Napi::Object & o, const char * key) {
    auto v = optNumber(o, key);
    if (!v) throw invalidArg(std::string(key) + " is required");
    return *v;
}

std::optional<bool> optBool(const Napi::Object & o, const char * key) {
    if (!has(o, key)) return std::nullopt;
    Napi::Value v = o.Get(key);
    if (!v.IsBoolean()) throw invalidArg(std::string(key) + " must be a boolean");
    return v.As<Napi::Boolean>().Value();
}

std::vector<std::string> optStringArray(const Napi::Object & o, const char * key) {
    std::vector<std::string> out;
    if (!has(o, key)) return out;
    Napi::Value v = o.Get(key);
    if (!v.IsArray()) throw invalidArg(std::string(key) + " must be an array of strings");
    Napi::Array a = v.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) {
        Napi::Value e = a.Get(i);
        if (!e.IsString()) throw invalidArg(std::string(key) + " must be an array of strings");
        out.push_back(e.As<Napi::String>().Utf8Value());
    }
    return out;
}

std::string jsonStringify(Napi::Env env, const Napi::Value & value) {
    Napi::Object json = env.Global().Get("JSON").As<Napi::Object>();
    Napi::Value s = json.Get("stringify").As<Napi::Function>().Call(json, {value});
    if (!s.IsString()) throw invalidArg("value is not JSON-serializable");
    return s.As<Napi::String>().Utf8Value();
}

// --- PromiseWorker ---------------------------------------------------------------------------

PromiseWorker::PromiseWorker(Napi::Env env, const char * name, Work work, Done done, Finally fin)
    : Napi::AsyncWorker(env, name),
      deferred_(Napi::Promise::Deferred::New(env)),
      work_(std::move(work)),
      done_(std::move(done)),
      finally_(std::move(fin)) {}

Napi::Promise PromiseWorker::run(Napi::Env env, const char * name, Work work, Done done, Finally fin) {
    auto * w = new PromiseWorker(env, name, std::move(work), std::move(done), std::move(fin));
    Napi::Promise promise = w->deferred_.Promise();
    w->Queue();  // the worker deletes itself after OnOK/OnError
    return promise;
}

void PromiseWorker::Execute() {
    // Runs on a pool thread: only C++ here, no N-API.
    try {
        work_();
    } catch (const NativeError & e) {
        code_ = e.code;
        SetError(e.what());
    } catch (const std::exception & e) {
        SetError(e.what());
    } catch (...) {
        SetError("unknown native exception");
    }
}

void PromiseWorker::OnOK() {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (finally_) finally_();
    try {
        deferred_.Resolve(done_ ? done_(env) : env.Undefined());
    } catch (const Napi::Error & e) {
        deferred_.Reject(e.Value());
    } catch (const NativeError & e) {
        deferred_.Reject(makeError(env, e.code, e.what()).Value());
    } catch (const std::exception & e) {
        deferred_.Reject(makeError(env, "NATIVE_ERROR", e.what()).Value());
    }
}

void PromiseWorker::OnError(const Napi::Error & e) {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (finally_) finally_();
    deferred_.Reject(makeError(env, code_, e.Message()).Value());
}

}  // namespace moed
