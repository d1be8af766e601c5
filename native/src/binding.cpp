// Module entry: the Binding object (src/binding/types.ts).
#include "binding.h"

#include "build-info.h"  // llama-common: llama_commit()
#include "devices.h"
#include "handles.h"
#include "load.h"
#include "logging.h"
#include "util.h"

#include "llama.h"

#include <mutex>

namespace moed {

AddonData & addonData(Napi::Env env) {
    return *env.GetInstanceData<AddonData>();
}

namespace {

// Wraps a JS-facing function so that no C++ exception reaches N-API.
template <Napi::Value (*F)(const Napi::CallbackInfo &)>
Napi::Value guarded(const Napi::CallbackInfo & info) {
    return guard(info.Env(), [&]() { return F(info); });
}

Napi::Value systemInfo(const Napi::CallbackInfo & info) {
    return Napi::String::New(info.Env(), llama_print_system_info());
}

Napi::Value version(const Napi::CallbackInfo & info) {
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("llama", llama_version());
    o.Set("commit", llama_commit());
#ifdef MOED_CUDA
    o.Set("cuda", true);
#else
    o.Set("cuda", false);
#endif
    return o;
}

Napi::Value setLoggerFn(const Napi::CallbackInfo & info) {
    setLogger(info);
    return info.Env().Undefined();
}

Napi::Value loadModelFn(const Napi::CallbackInfo & info) {
    return promise(info.Env(), [&]() { return loadModel(info); });
}

}  // namespace

Napi::Object init(Napi::Env env, Napi::Object exports) {
    static std::once_flag once;  // one libllama per process, shared by worker_threads
    std::call_once(once, []() {
        initLogging();
        llama_backend_init();
    });

    auto * data = new AddonData();
    data->model = Napi::Persistent(ModelWrap::define(env));
    data->context = Napi::Persistent(ContextWrap::define(env));
    data->sampler = Napi::Persistent(SamplerWrap::define(env));
    data->chatParser = Napi::Persistent(ChatParserWrap::define(env));
    env.SetInstanceData(data);
    env.AddCleanupHook([]() { resetLogger(); });

    exports.Set("systemInfo", Napi::Function::New<guarded<systemInfo>>(env, "systemInfo"));
    exports.Set("version", Napi::Function::New<guarded<version>>(env, "version"));
    exports.Set("devices", Napi::Function::New<guarded<devices>>(env, "devices"));
    exports.Set("setLogger", Napi::Function::New<guarded<setLoggerFn>>(env, "setLogger"));
    exports.Set("loadModel", Napi::Function::New<loadModelFn>(env, "loadModel"));
    exports.Set("quantize", Napi::Function::New<quantize>(env, "quantize"));
    exports.Set("jsonSchemaToGrammar", Napi::Function::New<guarded<jsonSchemaToGrammar>>(env, "jsonSchemaToGrammar"));
    return exports;
}

}  // namespace moed

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
    return moed::init(env, exports);
}

NODE_API_MODULE(moed, Init)
