#pragma once

#include <napi.h>

namespace moed {

// loadModel(params): Promise<Model>. See load.cpp.
Napi::Value loadModel(const Napi::CallbackInfo & info);

}  // namespace moed
