/*
 * Multiplication in GF(2)[X]/(X^n - 1) for HQC-256, replacing PQClean's gf2x.c.
 *
 * Why a replacement: PQClean's 64x64-bit carry-less base multiply builds a 16-entry table
 * from one operand and, for every 4-bit chunk of the other, scans all 16 entries with masks
 * so that no memory index depends on that chunk. That is constant time for two secret
 * operands, and it is ~90 % of HQC's running time.
 *
 * What we rely on instead: in every HQC multiplication exactly one operand is secret and
 * the other public (see the call sites in hqc.c; the caller passes the secret one first):
 *   keygen   s  = y  * h    y secret key,            h expanded from the public seed
 *   encrypt  u  = r2 * h    r2 secret randomness,    h from the public key
 *            v' = r2 * s    r2 secret randomness,    s from the public key
 *   decrypt  t  = y  * u    y secret key,            u from the (public) ciphertext
 * (decapsulation also re-encrypts, with r2 derived from the decrypted message: secret.)
 * So the 16-entry table is built from the SECRET word and indexed by the 4-bit chunks of
 * the PUBLIC word: the table index (a memory address) then depends only on public data,
 * and no scan is needed. The secret word only ever goes through shifts, XORs and ANDs with
 * masks, which take the same instructions whatever its value. Karatsuba splits both
 * operands the same way and combines halves with XOR, so every sub-product keeps a secret
 * left operand (XORs of secret words) and a public right operand (XORs of public words).
 *
 * With SIMD128 the schoolbook base case takes two secret words at a time: their tables are
 * interleaved, so one 128-bit load at a public address fetches both entries.
 *
 * Branches and loop bounds depend only on the polynomial sizes, which are constants.
 *
 * This file is the project's own; the rest of the HQC-256 sources are PQClean's (the
 * README beside them lists the few local changes).
 */
#include "gf2x.h"
#include "parameters.h"
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Karatsuba stops splitting at this many words and multiplies schoolbook. Measured with
 * SIMD128: 4 to 6 words are equally fast; 2 is ~30 % and 8 ~7 % slower. */
#ifndef GF2X_LEAF_WORDS
#define GF2X_LEAF_WORDS 4
#endif

#define LOW60 (((uint64_t)1 << 60) - 1)

/*
 * The multiples of one secret word, ready to be indexed by public 4-bit chunks:
 * table[k] = k * (a mod X^60) as carry-less products (each fits in 63 bits), and the masks
 * for a's top four bits, which the table leaves out and which are applied with masks.
 */
typedef struct {
    uint64_t table[16];
    uint64_t top[4]; /* all ones where bit 60+t of a is set, else zero */
} secret_word;

static void secret_word_init(secret_word *w, uint64_t a /* secret */) {
    uint64_t *u = w->table;
    u[0] = 0;
    u[1] = a & LOW60;
    u[2] = u[1] << 1;
    u[3] = u[2] ^ u[1];
    u[4] = u[2] << 1;
    u[5] = u[4] ^ u[1];
    u[6] = u[3] << 1;
    u[7] = u[6] ^ u[1];
    u[8] = u[4] << 1;
    u[9] = u[8] ^ u[1];
    u[10] = u[5] << 1;
    u[11] = u[10] ^ u[1];
    u[12] = u[6] << 1;
    u[13] = u[12] ^ u[1];
    u[14] = u[7] << 1;
    u[15] = u[14] ^ u[1];
    for (int t = 0; t < 4; t++) {
        w->top[t] = (uint64_t)0 - ((a >> (60 + t)) & 1);
    }
}

/*
 * c[0..1] ^= a * b, where a is given by its table (secret) and b is PUBLIC: b's chunks
 * pick the table entries (public addresses); a's top bits act only through masks.
 */
static inline void mul_word_acc(uint64_t *c, const secret_word *w, uint64_t b /* public */) {
    const uint64_t *u = w->table;
    uint64_t g = u[b & 15];
    uint64_t l = g;
    uint64_t h = 0;
#define CHUNK(k)                                  \
    g = u[(b >> (4 * (k))) & 15];                 \
    l ^= g << (4 * (k));                          \
    h ^= g >> (64 - 4 * (k));
    CHUNK(1) CHUNK(2) CHUNK(3) CHUNK(4) CHUNK(5) CHUNK(6) CHUNK(7) CHUNK(8)
    CHUNK(9) CHUNK(10) CHUNK(11) CHUNK(12) CHUNK(13) CHUNK(14) CHUNK(15)
#undef CHUNK
    l ^= ((b << 60) & w->top[0]) ^ ((b << 61) & w->top[1]) ^ ((b << 62) & w->top[2]) ^ ((b << 63) & w->top[3]);
    h ^= ((b >> 4) & w->top[0]) ^ ((b >> 3) & w->top[1]) ^ ((b >> 2) & w->top[2]) ^ ((b >> 1) & w->top[3]);
    c[0] ^= l;
    c[1] ^= h;
}

#ifdef __wasm_simd128__
#include <wasm_simd128.h>

/*
 * Two secret words' tables side by side, one 128-bit entry per 4-bit value: lane 0 holds
 * k * (a0 mod X^60), lane 1 holds k * (a1 mod X^60). One load, addressed by a PUBLIC
 * chunk, fetches the entries of both secret words; the shifts and XORs then do two
 * word products at once.
 */
typedef struct {
    v128_t table[16];
    v128_t top[4]; /* per lane: all ones where bit 60+t of that lane's word is set */
} secret_pair;

static void secret_pair_init(secret_pair *w, uint64_t a0 /* secret */, uint64_t a1 /* secret */) {
    v128_t *u = w->table;
    u[0] = wasm_i64x2_splat(0);
    u[1] = wasm_v128_and(wasm_i64x2_make((int64_t)a0, (int64_t)a1), wasm_i64x2_splat((int64_t)LOW60));
    for (int k = 2; k < 16; k += 2) {
        u[k] = wasm_i64x2_shl(u[k / 2], 1);
        u[k + 1] = wasm_v128_xor(u[k], u[1]);
    }
    for (int t = 0; t < 4; t++) {
        w->top[t] = wasm_i64x2_make((int64_t)((uint64_t)0 - ((a0 >> (60 + t)) & 1)),
                                    (int64_t)((uint64_t)0 - ((a1 >> (60 + t)) & 1)));
    }
}

/*
 * c[0..2] ^= a0 * b + X^64 * a1 * b, for the secret pair's words a0, a1 and a PUBLIC word b:
 * b's chunks, times 16, are the byte offsets of the loaded entries.
 */
static inline void mul_pair_acc(uint64_t *c, const secret_pair *w, uint64_t b /* public */) {
    const uint8_t *base = (const uint8_t *)w->table;
    v128_t g = wasm_v128_load(base + ((b << 4) & 0xf0));
    v128_t l = g;
    v128_t h = wasm_i64x2_splat(0);
#define CHUNK(k)                                                   \
    g = wasm_v128_load(base + ((b >> (4 * (k) - 4)) & 0xf0));      \
    l = wasm_v128_xor(l, wasm_i64x2_shl(g, 4 * (k)));              \
    h = wasm_v128_xor(h, wasm_u64x2_shr(g, 64 - 4 * (k)));
    CHUNK(1) CHUNK(2) CHUNK(3) CHUNK(4) CHUNK(5) CHUNK(6) CHUNK(7) CHUNK(8)
    CHUNK(9) CHUNK(10) CHUNK(11) CHUNK(12) CHUNK(13) CHUNK(14) CHUNK(15)
#undef CHUNK
    v128_t bv = wasm_i64x2_splat((int64_t)b);
    for (int t = 0; t < 4; t++) {
        l = wasm_v128_xor(l, wasm_v128_and(wasm_i64x2_shl(bv, 60 + t), w->top[t]));
        h = wasm_v128_xor(h, wasm_v128_and(wasm_u64x2_shr(bv, 4 - t), w->top[t]));
    }
    c[0] ^= (uint64_t)wasm_i64x2_extract_lane(l, 0);
    c[1] ^= (uint64_t)wasm_i64x2_extract_lane(h, 0) ^ (uint64_t)wasm_i64x2_extract_lane(l, 1);
    c[2] ^= (uint64_t)wasm_i64x2_extract_lane(h, 1);
}
#endif

/*
 * o[0..2n) = a * b, schoolbook over words; a secret, b public. One table per word of a
 * (with SIMD128, one per pair of words of a), each used for every word of b.
 */
static void mul_schoolbook(uint64_t *o, const uint64_t *a /* secret */, const uint64_t *b /* public */, size_t n) {
    size_t i = 0;
    memset(o, 0, 2 * n * sizeof(uint64_t));
#ifdef __wasm_simd128__
    secret_pair p;
    for (; i + 1 < n; i += 2) {
        secret_pair_init(&p, a[i], a[i + 1]);
        for (size_t j = 0; j < n; j++) {
            mul_pair_acc(o + i + j, &p, b[j]);
        }
    }
#endif
    secret_word w;
    for (; i < n; i++) {
        secret_word_init(&w, a[i]);
        for (size_t j = 0; j < n; j++) {
            mul_word_acc(o + i + j, &w, b[j]);
        }
    }
}

/*
 * o[0..2n) = a * b by Karatsuba; a secret, b public (and so are their half sums, below).
 * `stack` has room for the temporaries of every level: 4 * ceil(n/2) words here, and the
 * same again for the levels below (the caller gives 8n words, which suffices).
 */
static void karatsuba(uint64_t *o, const uint64_t *a /* secret */, const uint64_t *b /* public */, size_t n, uint64_t *stack) {
    if (n <= GF2X_LEAF_WORDS) {
        mul_schoolbook(o, a, b, n);
        return;
    }
    size_t nl = (n + 1) / 2; /* low half, the longer one */
    size_t nh = n / 2;
    uint64_t *asum = stack;        /* a_low + a_high: secret */
    uint64_t *bsum = asum + nl;    /* b_low + b_high: public */
    uint64_t *mid = bsum + nl;     /* 2 * nl words */
    uint64_t *high = o + 2 * nl;   /* a_high * b_high lands in place */
    uint64_t *below = stack + 4 * nl;

    karatsuba(o, a, b, nl, below);
    karatsuba(high, a + nl, b + nl, nh, below);
    for (size_t i = 0; i < nh; i++) {
        asum[i] = a[i] ^ a[i + nl];
        bsum[i] = b[i] ^ b[i + nl];
    }
    if (nh < nl) {
        asum[nh] = a[nh];
        bsum[nh] = b[nh];
    }
    karatsuba(mid, asum, bsum, nl, below);

    /* mid = (a_l + a_h)(b_l + b_h) - a_l b_l - a_h b_h, then added at word nl. */
    for (size_t i = 0; i < 2 * nl; i++) {
        mid[i] ^= o[i];
    }
    for (size_t i = 0; i < 2 * nh; i++) {
        mid[i] ^= high[i];
    }
    for (size_t i = 0; i < 2 * nl; i++) {
        o[i + nl] ^= mid[i];
    }
}

/* o = a mod (X^n - 1), for a of 2 * VEC_N_SIZE_64 words (public sizes, data-independent). */
static void reduce(uint64_t *o, const uint64_t *a) {
    for (size_t i = 0; i < VEC_N_SIZE_64; ++i) {
        uint64_t r = a[i + VEC_N_SIZE_64 - 1] >> (PARAM_N & 0x3F);
        uint64_t carry = a[i + VEC_N_SIZE_64] << (64 - (PARAM_N & 0x3F));
        o[i] = a[i] ^ r ^ carry;
    }
    o[VEC_N_SIZE_64 - 1] &= RED_MASK;
}

/*
 * o = v1 * v2 mod (X^n - 1). v1 must be the SECRET operand and v2 the PUBLIC one (every
 * caller in hqc.c passes them in that order): only v2's bits are used as table indices.
 */
void PQCLEAN_HQC256_CLEAN_vect_mul(uint64_t *o, const uint64_t *v1, const uint64_t *v2) {
    uint64_t stack[VEC_N_SIZE_64 << 3];
    uint64_t product[VEC_N_SIZE_64 << 1];

    karatsuba(product, v1, v2, VEC_N_SIZE_64, stack);
    reduce(o, product);
}
