// Softmax and GELU of the BERT encoder, 16 floats at a time with AVX-512 when the CPU has it
// (chosen at run time), libm's expf/erff/tanhf otherwise. Swift compiles for baseline x86-64
// (SSE2: 4 floats), where these two took a quarter of a forward pass once the products were
// in 8 bits. exp is a range reduction to [-ln2/2, ln2/2] and a degree-7 Taylor polynomial
// (relative error about 1e-7); erf is Abramowitz and Stegun 7.1.26 (absolute error 1.5e-7).
#include "LocalModelKernels.h"
#include "KernelSupport.h"

#include <math.h>
#include <stdatomic.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define AVX512_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))

AVX512_TARGET static inline __m512 exp16(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.3f)), _mm512_set1_ps(88.3f));
    // n = round(x / ln2), read from the low mantissa bits of x/ln2 + 1.5·2^23.
    const __m512 shifted = _mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504f), _mm512_set1_ps(12582912.0f));
    const __m512 n = _mm512_sub_ps(shifted, _mm512_set1_ps(12582912.0f));
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.69314575f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.4286068e-6f), r);
    __m512 p = _mm512_set1_ps(1.0f / 5040);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    const __m512i biased = _mm512_add_epi32(_mm512_sub_epi32(_mm512_castps_si512(shifted), _mm512_set1_epi32(0x4B400000)),
                                            _mm512_set1_epi32(127));
    return _mm512_mul_ps(p, _mm512_castsi512_ps(_mm512_slli_epi32(biased, 23)));
}


AVX512_TARGET static void softmax_avx512(float *values, int32_t rows, int32_t width) {
    for (int32_t row = 0; row < rows; row++) {
        float *base = values + (size_t)row * (size_t)width;
        __m512 largest = _mm512_set1_ps(-INFINITY);
        for (int32_t column = 0; column < width; column += 16) {
            const __mmask16 mask = tail_mask((int64_t)(width - column));
            largest = _mm512_max_ps(largest, _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), mask, base + column));
        }
        const __m512 shift = _mm512_set1_ps(_mm512_reduce_max_ps(largest));
        __m512 sum = _mm512_setzero_ps();
        for (int32_t column = 0; column < width; column += 16) {
            const __mmask16 mask = tail_mask((int64_t)(width - column));
            const __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(mask, base + column), shift));
            sum = _mm512_add_ps(sum, _mm512_maskz_mov_ps(mask, e));
            _mm512_mask_storeu_ps(base + column, mask, e);
        }
        const __m512 scale = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
        for (int32_t column = 0; column < width; column += 16) {
            const __mmask16 mask = tail_mask((int64_t)(width - column));
            _mm512_mask_storeu_ps(base + column, mask, _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, base + column), scale));
        }
    }
}

AVX512_TARGET static void gelu_avx512(float *values, size_t count) {
    for (size_t index = 0; index < count; index += 16) {
        const __mmask16 mask = tail_mask((int64_t)(count - index));
        const __m512 x = _mm512_maskz_loadu_ps(mask, values + index);
        // x·Φ(x) = x/2 · (1 + erf(x/√2))
        const __m512 z = _mm512_mul_ps(x, _mm512_set1_ps(0.70710677f));
        const __m512 a = _mm512_abs_ps(z);
        const __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_fmadd_ps(a, _mm512_set1_ps(0.3275911f), _mm512_set1_ps(1.0f)));
        __m512 p = _mm512_set1_ps(1.061405429f);
        p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.453152027f));
        p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.421413741f));
        p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.284496736f));
        p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.254829592f));
        const __m512 e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(a, a)));
        const __m512 magnitude = _mm512_fnmadd_ps(_mm512_mul_ps(p, t), e, _mm512_set1_ps(1.0f));
        // erf is odd: take the sign of z.
        const __m512 erf = _mm512_or_ps(magnitude, _mm512_and_ps(z, _mm512_set1_ps(-0.0f)));
        const __m512 result = _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), x), _mm512_add_ps(_mm512_set1_ps(1.0f), erf));
        _mm512_mask_storeu_ps(values + index, mask, result);
    }
}

AVX512_TARGET static void gelu_tanh_avx512(float *values, size_t count) {
    for (size_t index = 0; index < count; index += 16) {
        const __mmask16 mask = tail_mask((int64_t)(count - index));
        const __m512 x = _mm512_maskz_loadu_ps(mask, values + index);
        const __m512 cube = _mm512_mul_ps(_mm512_mul_ps(x, x), x);
        const __m512 u = _mm512_mul_ps(_mm512_set1_ps(0.79788456f), _mm512_fmadd_ps(cube, _mm512_set1_ps(0.044715f), x));
        // tanh(u) = 1 - 2/(e^{2u} + 1)
        const __m512 e = exp16(_mm512_add_ps(u, u));
        const __m512 tanh = _mm512_sub_ps(_mm512_set1_ps(1.0f), _mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(e, _mm512_set1_ps(1.0f))));
        _mm512_mask_storeu_ps(values + index, mask, _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), x), _mm512_add_ps(_mm512_set1_ps(1.0f), tanh)));
    }
}
#endif

int32_t lmk_uses_avx512(void) {
#if defined(__x86_64__)
    // Racing first calls compute and store the same answer.
    static _Atomic int32_t cached = -1;
    int32_t known = atomic_load_explicit(&cached, memory_order_relaxed);
    if (known < 0) {
        __builtin_cpu_init();
        known = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")
             && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("fma");
        atomic_store_explicit(&cached, known, memory_order_relaxed);
    }
    return known;
#else
    return 0;
#endif
}

void lmk_softmax_rows_portable(float *values, int32_t rows, int32_t width) {
    for (int32_t row = 0; row < rows; row++) {
        float *base = values + (size_t)row * (size_t)width;
        float largest = -INFINITY;
        for (int32_t column = 0; column < width; column++) largest = fmaxf(largest, base[column]);
        float sum = 0;
        for (int32_t column = 0; column < width; column++) {
            base[column] = expf(base[column] - largest);
            sum += base[column];
        }
        const float scale = 1.0f / sum;
        for (int32_t column = 0; column < width; column++) base[column] *= scale;
    }
}

void lmk_gelu_portable(float *values, size_t count, int32_t tanhApproximation) {
    for (size_t index = 0; index < count; index++) {
        const float x = values[index];
        values[index] = tanhApproximation ? 0.5f * x * (1.0f + tanhf(0.79788456f * (x + 0.044715f * x * x * x)))
                                          : 0.5f * x * (1.0f + erff(x * 0.70710677f));
    }
}

void lmk_softmax_rows(float *values, int32_t rows, int32_t width) {
#if defined(__x86_64__)
    if (lmk_uses_avx512()) {
        softmax_avx512(values, rows, width);
        return;
    }
#endif
    lmk_softmax_rows_portable(values, rows, width);
}

void lmk_gelu(float *values, size_t count, int32_t tanhApproximation) {
#if defined(__x86_64__)
    if (lmk_uses_avx512()) {
        if (tanhApproximation) gelu_tanh_avx512(values, count); else gelu_avx512(values, count);
        return;
    }
#endif
    lmk_gelu_portable(values, count, tanhApproximation);
}
