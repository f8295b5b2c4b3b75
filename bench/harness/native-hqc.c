/*
 * The native reference of the HQC-256 benchmark: PQClean's HQC-256 "clean" code, exactly
 * as the pqclean package ships it, compiled by the machine's C compiler at -O3 and timed
 * like the WebAssembly engines (keygen, encapsulation, decapsulation per round, after two
 * untimed rounds). Prints one line per operation: name, median ms, 90th percentile ms.
 */
#define _POSIX_C_SOURCE 199309L /* clock_gettime under -std=c99 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "api.h"

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(const char *name, double *samples, int n) {
    qsort(samples, (size_t)n, sizeof *samples, compare);
    printf("%s %.4f %.4f\n", name, samples[n / 2], samples[(int)(0.9 * (n - 1))]);
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 0;
    if (n < 1) return 2;
    static uint8_t pk[PQCLEAN_HQC256_CLEAN_CRYPTO_PUBLICKEYBYTES], sk[PQCLEAN_HQC256_CLEAN_CRYPTO_SECRETKEYBYTES];
    static uint8_t ct[PQCLEAN_HQC256_CLEAN_CRYPTO_CIPHERTEXTBYTES];
    uint8_t ss[PQCLEAN_HQC256_CLEAN_CRYPTO_BYTES], ss2[PQCLEAN_HQC256_CLEAN_CRYPTO_BYTES];
    double *t[3];
    for (int i = 0; i < 3; i++) t[i] = malloc(sizeof(double) * (size_t)n);
    for (int round = -2; round < n; round++) {
        double t0 = now_ms();
        PQCLEAN_HQC256_CLEAN_crypto_kem_keypair(pk, sk);
        double t1 = now_ms();
        PQCLEAN_HQC256_CLEAN_crypto_kem_enc(ct, ss, pk);
        double t2 = now_ms();
        int rc = PQCLEAN_HQC256_CLEAN_crypto_kem_dec(ss2, ct, sk);
        double t3 = now_ms();
        if (rc != 0 || memcmp(ss, ss2, sizeof ss) != 0) return 1;
        if (round < 0) continue;
        t[0][round] = t1 - t0;
        t[1][round] = t2 - t1;
        t[2][round] = t3 - t2;
    }
    report("keygen", t[0], n);
    report("encapsulate", t[1], n);
    report("decapsulate", t[2], n);
    return 0;
}
