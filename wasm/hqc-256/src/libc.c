/*
 * The little of a C library that the HQC sources need in a wasm32 module without one:
 * memory copies (bulk-memory instructions), and malloc/free for fips202.c's incremental
 * SHAKE states, served from a fixed arena. No operation has more than three such states
 * alive; the arena holds eight, and running out traps (it cannot happen with these
 * sources, and a trap is safer than a fallback). pqpsk_wipe() zeroes the arena and the
 * I/O buffer; the host calls it after every operation, whether it succeeded or trapped.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void *memcpy(void *dest, const void *src, size_t n) {
    __builtin_memcpy(dest, src, n);
    return dest;
}

void *memmove(void *dest, const void *src, size_t n) {
    __builtin_memmove(dest, src, n);
    return dest;
}

void *memset(void *dest, int c, size_t n) {
    __builtin_memset(dest, c, n);
    return dest;
}

#define ARENA_SLOT_WORDS 26 /* PQC_SHAKEINCCTX_BYTES / 8, the largest request */
#define ARENA_SLOTS 8

static uint64_t arena[ARENA_SLOTS][ARENA_SLOT_WORDS];
static size_t arena_used;

void *malloc(size_t size) {
    if (size > sizeof arena[0] || arena_used >= ARENA_SLOTS) {
        __builtin_trap();
    }
    return arena[arena_used++];
}

/* Slots are reclaimed all at once by pqpsk_wipe(), between operations. */
void free(void *ptr) {
    (void)ptr;
}

_Noreturn void exit(int status) {
    (void)status;
    __builtin_trap();
}

/* Inputs and outputs of one operation: the host copies them in and out here. */
#define IO_BYTES 32768
static uint8_t io[IO_BYTES] __attribute__((aligned(16)));

uint8_t *pqpsk_io(void) {
    return io;
}

size_t pqpsk_io_size(void) {
    return IO_BYTES;
}

void pqpsk_wipe(void) {
    __builtin_memset(arena, 0, sizeof arena);
    arena_used = 0;
    __builtin_memset(io, 0, sizeof io);
}
