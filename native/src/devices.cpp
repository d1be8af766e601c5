#include "devices.h"

#include "util.h"

#include <map>

namespace moed {
namespace {

const char * typeName(enum ggml_backend_dev_type t) {
    switch (t) {
        case GGML_BACKEND_DEVICE_TYPE_CPU: return "cpu";
        case GGML_BACKEND_DEVICE_TYPE_GPU: return "gpu";
        case GGML_BACKEND_DEVICE_TYPE_IGPU: return "igpu";
        default: return "accel";
    }
}

std::map<std::string, ggml_backend_buffer_type_t> bufferTypes() {
    std::map<std::string, ggml_backend_buffer_type_t> out;
    auto add = [&](const std::string & name, ggml_backend_buffer_type_t buft) {
        if (buft && !out.count(name)) out[name] = buft;
    };
    add("CPU", ggml_backend_cpu_buffer_type());
    for (size_t i = 0; i < ggml_backend_dev_count(); i++) {
        ggml_backend_dev_t dev = ggml_backend_dev_get(i);
        ggml_backend_buffer_type_t buft = ggml_backend_dev_buffer_type(dev);
        if (buft) {
            add(ggml_backend_buft_name(buft), buft);
            add(ggml_backend_dev_name(dev), buft);
        }
        if (ggml_backend_buffer_type_t host = ggml_backend_dev_host_buffer_type(dev)) {
            add(ggml_backend_buft_name(host), host);
        }
        if (ggml_backend_dev_type(dev) == GGML_BACKEND_DEVICE_TYPE_CPU) {
            ggml_backend_reg_t reg = ggml_backend_dev_backend_reg(dev);
            auto get_extra = (ggml_backend_dev_get_extra_bufts_t)
                ggml_backend_reg_get_proc_address(reg, "ggml_backend_dev_get_extra_bufts");
            if (get_extra) {
                for (ggml_backend_buffer_type_t * p = get_extra(dev); p && *p; ++p) {
                    add(ggml_backend_buft_name(*p), *p);
                }
            }
        }
    }
    return out;
}

}  // namespace

Napi::Value devices(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    Napi::Array out = Napi::Array::New(env);
    for (size_t i = 0; i < ggml_backend_dev_count(); i++) {
        ggml_backend_dev_t dev = ggml_backend_dev_get(i);
        size_t free = 0, total = 0;
        ggml_backend_dev_memory(dev, &free, &total);
        Napi::Object d = Napi::Object::New(env);
        d.Set("name", ggml_backend_dev_name(dev));
        d.Set("description", ggml_backend_dev_description(dev));
        d.Set("type", typeName(ggml_backend_dev_type(dev)));
        d.Set("memoryFree", Napi::Number::New(env, (double) free));
        d.Set("memoryTotal", Napi::Number::New(env, (double) total));
        out.Set(out.Length(), d);
    }
    return out;
}

ggml_backend_dev_t deviceByName(const std::string & name) {
    ggml_backend_dev_t dev = ggml_backend_dev_by_name(name.c_str());
    if (!dev) {
        std::string known;
        for (size_t i = 0; i < ggml_backend_dev_count(); i++) {
            known += (known.empty() ? "" : ", ") + std::string(ggml_backend_dev_name(ggml_backend_dev_get(i)));
        }
        throw invalidArg("unknown device \"" + name + "\" (known: " + known + ")");
    }
    return dev;
}

ggml_backend_buffer_type_t bufferTypeByName(const std::string & name) {
    auto all = bufferTypes();
    auto it = all.find(name);
    if (it == all.end()) {
        std::string known;
        for (auto & kv : all) known += (known.empty() ? "" : ", ") + kv.first;
        throw invalidArg("unknown buffer type \"" + name + "\" (known: " + known + ")");
    }
    return it->second;
}

}  // namespace moed
