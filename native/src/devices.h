// ggml devices and buffer types, by name.
#pragma once

#include <napi.h>

#include "ggml-backend.h"

#include <string>

namespace moed {

Napi::Value devices(const Napi::CallbackInfo & info);

// A device by its ggml name ("CPU", "CUDA0"); throws INVALID_ARGUMENT for an unknown name.
ggml_backend_dev_t deviceByName(const std::string & name);

// A buffer type by name, for tensor_buft_overrides: every device's buffer type (by buffer-type
// and device name), each device's pinned host type ("CUDA_Host") and the CPU's extra types
// ("CPU_REPACK", ...). "CPU" is exactly ggml_backend_cpu_buffer_type(), the pointer the loader
// compares against. Throws INVALID_ARGUMENT listing the known names.
ggml_backend_buffer_type_t bufferTypeByName(const std::string & name);

}  // namespace moed
