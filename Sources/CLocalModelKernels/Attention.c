// Scaled dot-product attention of one head over one sequence, with AVX-512 when the CPU has it.
//
// For a batch of passages, these per-head products (a few hundred tokens × 32 dimensions)
// went through OpenBLAS's sgemm: a fifth of an int8 ingest in perf, most of it in
// Debian's OpenBLAS 0.3.21 choosing its AVX2 (Haswell) kernels on this AVX-512 CPU, and
// packing both operands on every call. Here the keys are transposed once per head so that 16
// keys' scores are one fused multiply-add per dimension, and the context is accumulated in
// registers row tile by row tile; the softmax between them is lmk_softmax_rows.
#include "LocalModelKernels.h"
#include "KernelSupport.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define ATTENTION_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))
#endif

enum { KEY_STEP = 32, ROW_TILE = 6 };


size_t lmk_attention_scratch_count(int32_t length, int32_t headSize) {
    const size_t padded = (size_t)round_up(length, KEY_STEP);
    return (size_t)headSize * padded + (size_t)length * (size_t)length;
}

#if defined(__x86_64__)
/// ROWS query rows' scores against 32 keys (columns `key ..< key + 32` of the transposed keys),
/// scaled, stored into rows of `scores` (width `length`). ROWS is a constant after inlining.
ATTENTION_TARGET static inline __attribute__((always_inline)) void score_tile(
    const int ROWS, const float *queries, int32_t stride, const float *transposed, int32_t padded, int32_t key,
    int32_t length, int32_t headSize, float scale, float *scores) {
    __m512 sums[ROW_TILE][2];
    for (int r = 0; r < ROWS; r++) { sums[r][0] = _mm512_setzero_ps(); sums[r][1] = _mm512_setzero_ps(); }
    for (int32_t d = 0; d < headSize; d++) {
        const float *column = transposed + (size_t)d * (size_t)padded + (size_t)key;
        const __m512 k0 = _mm512_loadu_ps(column), k1 = _mm512_loadu_ps(column + 16);
        for (int r = 0; r < ROWS; r++) {
            const __m512 q = _mm512_set1_ps(queries[(size_t)r * (size_t)stride + (size_t)d]);
            sums[r][0] = _mm512_fmadd_ps(q, k0, sums[r][0]);
            sums[r][1] = _mm512_fmadd_ps(q, k1, sums[r][1]);
        }
    }
    const __m512 factor = _mm512_set1_ps(scale);
    const __mmask16 first = tail_mask(length - key), second = tail_mask(length - key - 16);
    for (int r = 0; r < ROWS; r++) {
        float *row = scores + (size_t)r * (size_t)length + (size_t)key;
        _mm512_mask_storeu_ps(row, first, _mm512_mul_ps(sums[r][0], factor));
        _mm512_mask_storeu_ps(row + 16, second, _mm512_mul_ps(sums[r][1], factor));
    }
}

/// ROWS rows of the context, dimensions `column ..< column + 32` (masked to the head):
/// Σ over keys of the row's weight times the key's value row.
ATTENTION_TARGET static inline __attribute__((always_inline)) void context_tile(
    const int ROWS, const float *weights, int32_t length, const float *values, int32_t stride, int32_t column,
    int32_t headSize, float *out, int32_t outStride) {
    __m512 sums[ROW_TILE][2];
    for (int r = 0; r < ROWS; r++) { sums[r][0] = _mm512_setzero_ps(); sums[r][1] = _mm512_setzero_ps(); }
    const __mmask16 first = tail_mask(headSize - column), second = tail_mask(headSize - column - 16);
    for (int32_t j = 0; j < length; j++) {
        const float *value = values + (size_t)j * (size_t)stride + (size_t)column;
        const __m512 v0 = _mm512_maskz_loadu_ps(first, value), v1 = _mm512_maskz_loadu_ps(second, value + 16);
        for (int r = 0; r < ROWS; r++) {
            const __m512 p = _mm512_set1_ps(weights[(size_t)r * (size_t)length + (size_t)j]);
            sums[r][0] = _mm512_fmadd_ps(p, v0, sums[r][0]);
            sums[r][1] = _mm512_fmadd_ps(p, v1, sums[r][1]);
        }
    }
    for (int r = 0; r < ROWS; r++) {
        float *row = out + (size_t)r * (size_t)outStride + (size_t)column;
        _mm512_mask_storeu_ps(row, first, sums[r][0]);
        _mm512_mask_storeu_ps(row + 16, second, sums[r][1]);
    }
}

#define BY_ROWS(rows, call)                  \
    switch (rows) {                          \
    case 6: call(6); break;                  \
    case 5: call(5); break;                  \
    case 4: call(4); break;                  \
    case 3: call(3); break;                  \
    case 2: call(2); break;                  \
    default: call(1); break;                 \
    }

ATTENTION_TARGET static void attention_avx512(const float *queries, const float *keys, const float *values, int32_t stride,
                                              int32_t length, int32_t headSize, float scale, float *scratch,
                                              float *out, int32_t outStride) {
    const int32_t padded = round_up(length, KEY_STEP);
    float *transposed = scratch, *scores = scratch + (size_t)headSize * (size_t)padded;
    // Keys transposed to [headSize × padded], the padding zero (its scores are never stored).
    for (int32_t d = 0; d < headSize; d++) {
        float *column = transposed + (size_t)d * (size_t)padded;
        for (int32_t j = 0; j < length; j++) column[j] = keys[(size_t)j * (size_t)stride + (size_t)d];
        for (int32_t j = length; j < padded; j++) column[j] = 0;
    }
    for (int32_t row = 0; row < length; row += ROW_TILE) {
        const int32_t rows = length - row < ROW_TILE ? length - row : ROW_TILE;
        const float *rowQueries = queries + (size_t)row * (size_t)stride;
        float *rowScores = scores + (size_t)row * (size_t)length;
        for (int32_t key = 0; key < length; key += KEY_STEP) {
#define SCORE(n) score_tile(n, rowQueries, stride, transposed, padded, key, length, headSize, scale, rowScores)
            BY_ROWS(rows, SCORE)
#undef SCORE
        }
    }
    lmk_softmax_rows(scores, length, length);
    for (int32_t column = 0; column < headSize; column += KEY_STEP) {
        for (int32_t row = 0; row < length; row += ROW_TILE) {
            const int32_t rows = length - row < ROW_TILE ? length - row : ROW_TILE;
            const float *rowWeights = scores + (size_t)row * (size_t)length;
            float *rowOut = out + (size_t)row * (size_t)outStride;
#define CONTEXT(n) context_tile(n, rowWeights, length, values, stride, column, headSize, rowOut, outStride)
            BY_ROWS(rows, CONTEXT)
#undef CONTEXT
        }
    }
}
#endif

int32_t lmk_attention(const float *queries, const float *keys, const float *values, int32_t stride, int32_t length,
                      int32_t headSize, float scale, float *scratch, float *out, int32_t outStride) {
#if defined(__x86_64__)
    if (lmk_uses_avx512()) {
        if (length > 0 && headSize > 0) attention_avx512(queries, keys, values, stride, length, headSize, scale, scratch, out, outStride);
        return 1;
    }
#endif
    return 0;
}
