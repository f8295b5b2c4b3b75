/* The few <string.h> functions the HQC sources use, for a wasm32 build without a libc. */
#ifndef PQPSK_STRING_H
#define PQPSK_STRING_H
#include <stddef.h>
void *memcpy(void *dest, const void *src, size_t n);
void *memmove(void *dest, const void *src, size_t n);
void *memset(void *dest, int c, size_t n);
#endif
