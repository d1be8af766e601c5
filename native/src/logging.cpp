#include "logging.h"

#include "llama.h"
#include "util.h"

#include <memory>
#include <mutex>
#include <string>

namespace moed {
namespace {

// Log callbacks fire on loader, compute and pool threads, so lines travel to JS through a
// ThreadSafeFunction. The mutex keeps the TSFN alive while a callback uses it and setLogger
// swaps it.
std::mutex g_mutex;
std::unique_ptr<Napi::ThreadSafeFunction> g_tsfn;

struct LogLine {
    int level;
    std::string text;
};

void callJs(Napi::Env env, Napi::Function fn, LogLine * line) {
    std::unique_ptr<LogLine> owned(line);
    if (env == nullptr || fn.IsEmpty()) return;
    try {
        fn.Call({Napi::Number::New(env, owned->level), Napi::String::New(env, owned->text)});
    } catch (const Napi::Error &) {
        // A throwing logger must not take the process down; the line is lost.
    }
}

thread_local std::string t_lastError;
thread_local bool t_inError = false;  // the previous line was an ERROR continued by CONT lines

void onLog(enum ggml_log_level level, const char * text, void * /*user_data*/) {
    if (level == GGML_LOG_LEVEL_ERROR || (level == GGML_LOG_LEVEL_CONT && t_inError)) {
        // Keep every error line since clearLastError(): the first usually names the cause,
        // the last only says that loading failed.
        if (t_lastError.size() < 4096) t_lastError += text ? text : "";
        t_inError = true;
    } else {
        t_inError = false;
    }
    std::lock_guard<std::mutex> lock(g_mutex);
    if (!g_tsfn) {
        fputs(text, stderr);
        return;
    }
    auto * line = new LogLine{static_cast<int>(level), text ? text : ""};
    auto status = g_tsfn->NonBlockingCall(line, [](Napi::Env env, Napi::Function fn, LogLine * l) { callJs(env, fn, l); });
    if (status != napi_ok) delete line;
}

void releaseLocked() {
    if (g_tsfn) {
        g_tsfn->Release();
        g_tsfn.reset();
    }
}

}  // namespace

void setLogger(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || info[0].IsNull() || info[0].IsUndefined()) {
        resetLogger();
        return;
    }
    if (!info[0].IsFunction()) throw invalidArg("logger must be a function or null");
    auto tsfn = std::make_unique<Napi::ThreadSafeFunction>(
        Napi::ThreadSafeFunction::New(env, info[0].As<Napi::Function>(), "moed.log", 0, 1));
    tsfn->Unref(env);  // a logger alone must not keep the process alive
    {
        std::lock_guard<std::mutex> lock(g_mutex);
        releaseLocked();
        g_tsfn = std::move(tsfn);
    }
    llama_log_set(onLog, nullptr);
}

void initLogging() {
    llama_log_set(onLog, nullptr);
}

void clearLastError() {
    t_lastError.clear();
    t_inError = false;
}

std::string takeLastError() {
    std::string s = std::move(t_lastError);
    clearLastError();
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    for (char & c : s) {
        if (c == '\n') c = ';';
    }
    return s;
}

void resetLogger() {
    {
        std::lock_guard<std::mutex> lock(g_mutex);
        releaseLocked();
    }
    // onLog prints to stderr without a TSFN; keep it installed so there is no window where
    // llama.cpp holds a stale callback.
    llama_log_set(onLog, nullptr);
}

}  // namespace moed
