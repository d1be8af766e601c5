// quantize(input, output, params): llama_model_quantize on a worker.
#include "binding.h"
#include "logging.h"
#include "util.h"

#include "llama.h"

namespace moed {

Napi::Value quantize(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    return promise(env, [&]() -> Napi::Value {
        std::string input = argString(info, 0, "input");
        std::string output = argString(info, 1, "output");
        Napi::Object p = argObject(info, 2, "params");
        llama_model_quantize_params qp = llama_model_quantize_default_params();
        qp.ftype = (llama_ftype) (int) getNumber(p, "ftype");
        if (auto n = optNumber(p, "nThreads")) qp.nthread = (int32_t) *n;
        if (auto b = optBool(p, "allowRequantize")) qp.allow_requantize = *b;
        return PromiseWorker::run(env, "moed.quantize", [input, output, qp]() {
            clearLastError();
            if (llama_model_quantize(input.c_str(), output.c_str(), &qp) != 0) {
                std::string why = takeLastError();
                throw NativeError("QUANTIZE_FAILED", "failed to quantize " + input + (why.empty() ? "" : ": " + why));
            }
        }, nullptr);
    });
}

}  // namespace moed
