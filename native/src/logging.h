// libllama/ggml log lines to a JS function (setLogger), or to stderr when none is set.
#pragma once

#include <napi.h>

#include <string>

namespace moed {

void setLogger(const Napi::CallbackInfo & info);
// Drops the JS logger (environment teardown): later log lines go to stderr.
void resetLogger();
// Installs the log hook (stderr until setLogger is called). Called once at module load.
void initLogging();

// The ERROR-level lines libllama logged on the calling thread since clearLastError(): a load or quantize that
// fails returns only NULL or 1, and the reason is in the log.
void clearLastError();
std::string takeLastError();

}  // namespace moed
