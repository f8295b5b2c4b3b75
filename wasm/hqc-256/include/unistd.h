/* randombytes.h includes <unistd.h> for size_t only. */
#ifndef PQPSK_UNISTD_H
#define PQPSK_UNISTD_H
#include <stddef.h>
#endif
