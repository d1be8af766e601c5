// Module-level functions of the Binding interface (src/binding/types.ts).
#pragma once

#include <napi.h>

namespace moed {

Napi::Value quantize(const Napi::CallbackInfo & info);
Napi::Value jsonSchemaToGrammar(const Napi::CallbackInfo & info);

}  // namespace moed
