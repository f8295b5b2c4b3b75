/*
 * Only in hqc-256-trace.wasm, the test build: the callbacks of clang's SanitizerCoverage
 * (trace-pc-guard, trace-loads, trace-stores). Every basic block entered and every load
 * and store address is folded, in order, into one 64-bit FNV-1a hash, and counted. Two
 * calls that enter the same basic blocks and touch the same addresses in the same order
 * give the same hash and counts. This file itself is compiled without the instrumentation.
 */
#include <stdint.h>

static uint64_t trace_hash;
static uint64_t trace_blocks;
static uint64_t trace_accesses;

static void mix(uint64_t value) {
    for (int i = 0; i < 8; i++) {
        trace_hash = (trace_hash ^ ((value >> (8 * i)) & 0xff)) * 0x100000001b3u;
    }
}

void pqpsk_trace_reset(void) {
    trace_hash = 0xcbf29ce484222325u;
    trace_blocks = 0;
    trace_accesses = 0;
}

uint64_t pqpsk_trace_hash(void) {
    return trace_hash;
}

uint64_t pqpsk_trace_blocks(void) {
    return trace_blocks;
}

uint64_t pqpsk_trace_accesses(void) {
    return trace_accesses;
}

/* The guard's address identifies the basic block (edge) entered. */
void __sanitizer_cov_trace_pc_guard(uint32_t *guard) {
    mix((uint64_t)(uintptr_t)guard);
    trace_blocks++;
}

void __sanitizer_cov_trace_pc_guard_init(uint32_t *start, uint32_t *stop) {
    (void)start;
    (void)stop;
}

#define ACCESS(name, kind, size)                                      \
    void name(void *addr) {                                           \
        mix(((uint64_t)(kind) << 40) | ((uint64_t)(size) << 32) | (uint64_t)(uintptr_t)addr); \
        trace_accesses++;                                             \
    }
ACCESS(__sanitizer_cov_load1, 1, 1)
ACCESS(__sanitizer_cov_load2, 1, 2)
ACCESS(__sanitizer_cov_load4, 1, 4)
ACCESS(__sanitizer_cov_load8, 1, 8)
ACCESS(__sanitizer_cov_load16, 1, 16)
ACCESS(__sanitizer_cov_store1, 2, 1)
ACCESS(__sanitizer_cov_store2, 2, 2)
ACCESS(__sanitizer_cov_store4, 2, 4)
ACCESS(__sanitizer_cov_store8, 2, 8)
ACCESS(__sanitizer_cov_store16, 2, 16)
