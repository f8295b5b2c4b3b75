/* The <stdlib.h> functions fips202.c uses (its incremental SHAKE states), served by
 * libc.c from a fixed arena that the module wipes after every operation. */
#ifndef PQPSK_STDLIB_H
#define PQPSK_STDLIB_H
#include <stddef.h>
void *malloc(size_t size);
void free(void *ptr);
_Noreturn void exit(int status);
#endif
