// CPU read bandwidth: the ceiling for generating with experts in RAM (every token reads the
// routed experts it uses). Sums a large buffer with all cores, several times, and reports the best.
// Build: gcc -O3 -march=native -fopenmp bench/membw.c -o membw ; run: ./membw [GiB]
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  size_t gib = argc > 1 ? (size_t)atol(argv[1]) : 8;
  size_t n = gib * (1ull << 30) / sizeof(uint64_t);
  uint64_t *buf = aligned_alloc(4096, n * sizeof(uint64_t));
  if (!buf) return 1;
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; i++) buf[i] = i;  // first touch by the reading threads (NUMA)
  double best = 0;
  uint64_t sink = 0;
  for (int rep = 0; rep < 5; rep++) {
    double t0 = now();
    uint64_t sum = 0;
#pragma omp parallel for reduction(+ : sum) schedule(static)
    for (size_t i = 0; i < n; i++) sum += buf[i];
    double gbs = n * sizeof(uint64_t) / (now() - t0) / 1e9;
    if (gbs > best) best = gbs;
    sink += sum;
  }
  printf("{\"read_gb_per_s\": %.1f, \"threads\": %d, \"buffer_gib\": %zu, \"check\": %llu}\n", best,
         omp_get_max_threads(), gib, (unsigned long long)(sink & 1));
  return 0;
}
