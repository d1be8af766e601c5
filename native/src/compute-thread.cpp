#include "compute-thread.h"

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

namespace moed {

namespace {

class ComputeThread {
public:
    ComputeThread() : thread_([this] { loop(); }) {}

    void run(const std::function<void()> & fn) {
        std::packaged_task<void()> task(fn);
        std::future<void> done = task.get_future();
        {
            std::lock_guard<std::mutex> lock(mu_);
            queue_.push_back(std::move(task));
        }
        cv_.notify_one();
        done.get();
    }

private:
    void loop() {
        for (;;) {
            std::packaged_task<void()> task;
            {
                std::unique_lock<std::mutex> lock(mu_);
                cv_.wait(lock, [this] { return !queue_.empty(); });
                task = std::move(queue_.front());
                queue_.pop_front();
            }
            task();  // exceptions end up in the caller's future
        }
    }

    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::packaged_task<void()>> queue_;
    std::thread thread_;
};

}  // namespace

void runOnComputeThread(const std::function<void()> & fn) {
    // Never destroyed: the thread lives as long as the process, and no exit-time destructor has to
    // join it.
    static ComputeThread * thread = new ComputeThread();
    thread->run(fn);
}

}  // namespace moed
