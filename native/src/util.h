// Errors, argument reading and the Promise worker shared by every part of the addon.
//
// Rule: no C++ exception may escape into N-API. Every JS-facing function body runs inside
// guard() (synchronous calls) or a PromiseWorker (slow calls), which turn NativeError and any
// std::exception into a JS Error carrying a `code` from NativeErrorCode (src/binding/types.ts).
#pragma once

#include <napi.h>

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace moed {

// A failure with a NativeErrorCode ("LOAD_FAILED", "INVALID_ARGUMENT", ...).
struct NativeError : std::runtime_error {
    std::string code;
    NativeError(std::string code, const std::string & message)
        : std::runtime_error(message), code(std::move(code)) {}
};

inline NativeError invalidArg(const std::string & message) {
    return NativeError("INVALID_ARGUMENT", message);
}

Napi::Error makeError(Napi::Env env, const std::string & code, const std::string & message);

// Runs fn and converts whatever it throws into a JS exception with a code.
template <typename F>
auto guard(Napi::Env env, F && fn) -> decltype(fn()) {
    try {
        return fn();
    } catch (const Napi::Error &) {
        throw;  // already a JS error (node-addon-api rethrows it into JS)
    } catch (const NativeError & e) {
        throw makeError(env, e.code, e.what());
    } catch (const std::exception & e) {
        throw makeError(env, "NATIVE_ERROR", e.what());
    } catch (...) {
        throw makeError(env, "NATIVE_ERROR", "unknown native exception");
    }
}

// For Promise-returning calls: whatever fn throws becomes a rejected promise (with its code),
// so callers see one failure path.
template <typename F>
Napi::Value promise(Napi::Env env, F && fn) {
    auto reject = [&](const Napi::Value & err) {
        auto d = Napi::Promise::Deferred::New(env);
        d.Reject(err);
        return d.Promise();
    };
    try {
        return fn();
    } catch (const Napi::Error & e) {
        return reject(e.Value());
    } catch (const NativeError & e) {
        return reject(makeError(env, e.code, e.what()).Value());
    } catch (const std::exception & e) {
        return reject(makeError(env, "NATIVE_ERROR", e.what()).Value());
    } catch (...) {
        return reject(makeError(env, "NATIVE_ERROR", "unknown native exception").Value());
    }
}

// --- argument reading (throw INVALID_ARGUMENT with the parameter's name) ---------------------
Napi::Object argObject(const Napi::CallbackInfo & info, size_t i, const char * name);
std::string argString(const Napi::CallbackInfo & info, size_t i, const char * name);
int32_t argInt(const Napi::CallbackInfo & info, size_t i, const char * name);

bool has(const Napi::Object & o, const char * key);  // present and not undefined/null
std::string getString(const Napi::Object & o, const char * key);  // required
std::optional<std::string> optString(const Napi::Object & o, const char * key);
std::optional<double> optNumber(const Napi::Object & o, const char * key);
std::optional<bool> optBool(const Napi::Object & o, const char * key);
double getNumber(const Napi::Object & o, const char * key);  // required
std::vector<std::string> optStringArray(const Napi::Object & o, const char * key);

// JSON.stringify(value), for handing JS objects to llama-common's JSON parser.
std::string jsonStringify(Napi::Env env, const Napi::Value & value);

// --- slow calls ------------------------------------------------------------------------------
// Runs `work` on the libuv thread pool, then `done` on the JS thread to build the resolved value.
// `finally` (optional) runs on the JS thread before the promise settles, whatever happened.
class PromiseWorker : public Napi::AsyncWorker {
public:
    using Work = std::function<void()>;
    using Done = std::function<Napi::Value(Napi::Env)>;
    using Finally = std::function<void()>;

    static Napi::Promise run(Napi::Env env, const char * name, Work work, Done done, Finally fin = nullptr);

protected:
    void Execute() override;
    void OnOK() override;
    void OnError(const Napi::Error & e) override;

private:
    PromiseWorker(Napi::Env env, const char * name, Work work, Done done, Finally fin);
    Napi::Promise::Deferred deferred_;
    Work work_;
    Done done_;
    Finally finally_;
    std::string code_ = "NATIVE_ERROR";
};

}  // namespace moed
