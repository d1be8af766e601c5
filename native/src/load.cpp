// loadModel(): parameters, the loader thread, progress and abort.
//
// The load runs on its own thread and reports progress through a ThreadSafeFunction. The
// promise settles in that TSFN's finalizer, which node runs after every queued progress call,
// so onProgress(1) is always seen before the promise resolves.
#include "load.h"

#include "devices.h"
#include "handles.h"
#include "logging.h"
#include "util.h"

#include <sys/stat.h>

#include <atomic>
#include <thread>

namespace moed {
namespace {

struct LoadState {
    std::string path;
    llama_model_params params = llama_model_default_params();
    std::vector<ggml_backend_dev_t> devices;     // NULL-terminated
    std::vector<std::string> patterns;           // must outlive the load
    std::vector<llama_model_tensor_buft_override> overrides;  // {NULL, NULL}-terminated

    std::shared_ptr<std::atomic<bool>> aborted = std::make_shared<std::atomic<bool>>(false);
    std::string progressError;  // onProgress threw (JS thread only)
    std::string loadError;      // last libllama error line on the loader thread
    llama_model * model = nullptr;

    std::thread thread;
    Napi::ThreadSafeFunction tsfn;
    Napi::Promise::Deferred deferred;
    Napi::ObjectReference signal;
    Napi::FunctionReference onAbort;

    explicit LoadState(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}
};

void readParams(LoadState & st, const Napi::Object & p) {
    st.path = getString(p, "path");
    auto & mp = st.params;

    if (has(p, "devices")) {
        Napi::Value v = p.Get("devices");
        if (!v.IsArray()) throw invalidArg("devices must be an array of device names");
        Napi::Array a = v.As<Napi::Array>();
        for (uint32_t i = 0; i < a.Length(); i++) {
            if (!a.Get(i).IsString()) throw invalidArg("devices must be an array of device names");
            ggml_backend_dev_t dev = deviceByName(a.Get(i).As<Napi::String>().Utf8Value());
            // The CPU is always used for what is not offloaded; it is not an offload target.
            if (ggml_backend_dev_type(dev) != GGML_BACKEND_DEVICE_TYPE_CPU) st.devices.push_back(dev);
        }
        if (st.devices.empty()) mp.n_gpu_layers = 0;  // CPU only
        st.devices.push_back(nullptr);
        mp.devices = st.devices.data();
    }
    if (auto n = optNumber(p, "gpuLayers")) mp.n_gpu_layers = (int32_t) *n;
    if (auto n = optNumber(p, "mainGpu")) mp.main_gpu = (int32_t) *n;
    if (auto s = optString(p, "splitMode")) {
        if (*s == "none") mp.split_mode = LLAMA_SPLIT_MODE_NONE;
        else if (*s == "layer") mp.split_mode = LLAMA_SPLIT_MODE_LAYER;
        else if (*s == "row") mp.split_mode = LLAMA_SPLIT_MODE_ROW;
        else throw invalidArg("splitMode must be none, layer or row");
    }
    if (has(p, "tensorOverrides")) {
        Napi::Value v = p.Get("tensorOverrides");
        if (!v.IsArray()) throw invalidArg("tensorOverrides must be an array");
        Napi::Array a = v.As<Napi::Array>();
        std::vector<ggml_backend_buffer_type_t> bufts;
        for (uint32_t i = 0; i < a.Length(); i++) {
            if (!a.Get(i).IsObject()) throw invalidArg("tensorOverrides entries must be {pattern, bufferType}");
            Napi::Object o = a.Get(i).As<Napi::Object>();
            st.patterns.push_back(getString(o, "pattern"));
            bufts.push_back(bufferTypeByName(getString(o, "bufferType")));
        }
        if (st.patterns.size() >= llama_max_tensor_buft_overrides()) throw invalidArg("too many tensorOverrides");
        for (size_t i = 0; i < st.patterns.size(); i++) st.overrides.push_back({st.patterns[i].c_str(), bufts[i]});
        st.overrides.push_back({nullptr, nullptr});
        mp.tensor_buft_overrides = st.overrides.data();
    }
    if (auto s = optString(p, "loadMode")) {
        // llama_load_mode_from_str maps unknown strings to AUTO; reject them instead.
        static const char * known[] = {"auto", "none", "mmap", "mlock", "mmap+mlock", "dio"};
        if (std::find(std::begin(known), std::end(known), *s) == std::end(known)) {
            throw invalidArg("loadMode must be one of auto, none, mmap, mlock, mmap+mlock, dio");
        }
        mp.load_mode = llama_load_mode_from_str(s->c_str());
    }
    if (auto b = optBool(p, "noHost")) mp.no_host = *b;
    if (auto b = optBool(p, "useExtraBufts")) mp.use_extra_bufts = *b;
    if (auto b = optBool(p, "vocabOnly")) mp.vocab_only = *b;
    if (auto b = optBool(p, "checkTensors")) mp.check_tensors = *b;
}

bool onLoadProgress(float progress, void * ud) {
    auto * st = static_cast<LoadState *>(ud);
    if (st->aborted->load()) return false;
    st->tsfn.NonBlockingCall([progress, st](Napi::Env env, Napi::Function fn) {
        if (env == nullptr || fn.IsEmpty() || !st->progressError.empty()) return;
        try {
            fn.Call({Napi::Number::New(env, progress)});
        } catch (const Napi::Error & e) {
            st->progressError = e.Message();
            st->aborted->store(true);  // stop loading at the next progress step
        }
    });
    return true;
}

void runLoad(LoadState * st) {
    try {
        struct stat sb;
        if (stat(st->path.c_str(), &sb) != 0) {
            st->loadError = "no such file";
        } else {
            clearLastError();
            st->params.progress_callback = onLoadProgress;
            st->params.progress_callback_user_data = st;
            st->model = llama_model_load_from_file(st->path.c_str(), st->params);
            if (!st->model) st->loadError = takeLastError();
        }
    } catch (const std::exception & e) {
        st->loadError = e.what();
    } catch (...) {
        st->loadError = "unknown native exception";
    }
    st->tsfn.Release();  // the finalizer below runs after the queued progress calls
}

void settle(Napi::Env env, void * /*finalizeData*/, LoadState * st) {
    std::unique_ptr<LoadState> owned(st);
    st->thread.join();
    Napi::HandleScope scope(env);
    if (!st->signal.IsEmpty() && !st->onAbort.IsEmpty()) {
        Napi::Object signal = st->signal.Value();
        Napi::Value remove = signal.Get("removeEventListener");
        if (remove.IsFunction()) {
            remove.As<Napi::Function>().Call(signal, {Napi::String::New(env, "abort"), st->onAbort.Value()});
        }
    }
    if (st->model) {
        if (st->aborted->load()) {  // aborted after the last progress step: do not hand it out
            llama_model_free(st->model);
        } else {
            try {
                st->deferred.Resolve(ModelWrap::create(env, std::make_shared<ModelHandle>(st->model)));
            } catch (const Napi::Error & e) {
                st->deferred.Reject(e.Value());
            }
            return;
        }
    }
    if (st->aborted->load()) {
        std::string msg = st->progressError.empty() ? "model load aborted"
                                                    : "model load aborted: onProgress threw: " + st->progressError;
        st->deferred.Reject(makeError(env, "LOAD_ABORTED", msg).Value());
        return;
    }
    std::string msg = "failed to load model from " + st->path;
    if (!st->loadError.empty()) msg += ": " + st->loadError;
    st->deferred.Reject(makeError(env, "LOAD_FAILED", msg).Value());
}

}  // namespace

Napi::Value loadModel(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    Napi::Object p = argObject(info, 0, "params");
    auto st = std::make_unique<LoadState>(env);
    readParams(*st, p);

    Napi::Function onProgress;
    if (has(p, "onProgress")) {
        if (!p.Get("onProgress").IsFunction()) throw invalidArg("onProgress must be a function");
        onProgress = p.Get("onProgress").As<Napi::Function>();
    } else {
        onProgress = Napi::Function::New(env, [](const Napi::CallbackInfo &) {});
    }

    if (has(p, "signal")) {
        if (!p.Get("signal").IsObject()) throw invalidArg("signal must be an AbortSignal");
        Napi::Object signal = p.Get("signal").As<Napi::Object>();
        if (signal.Get("aborted").ToBoolean().Value()) throw NativeError("LOAD_ABORTED", "model load aborted");
        auto flag = st->aborted;
        Napi::Function listener = Napi::Function::New(env, [flag](const Napi::CallbackInfo &) { flag->store(true); });
        signal.Get("addEventListener").As<Napi::Function>().Call(signal, {Napi::String::New(env, "abort"), listener});
        st->signal = Napi::Persistent(signal);
        st->onAbort = Napi::Persistent(listener);
    }

    LoadState * raw = st.release();
    Napi::Promise promise = raw->deferred.Promise();
    raw->tsfn = Napi::ThreadSafeFunction::New(env, onProgress, "moed.loadModel", 0, 1, raw, settle, raw);
    raw->thread = std::thread(runLoad, raw);
    return promise;
}

}  // namespace moed
