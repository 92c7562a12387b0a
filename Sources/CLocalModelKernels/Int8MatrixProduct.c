// The 8-bit matrix product of LocalModels' quantized linear layers (see LocalModelKernels.h).
//
// Packed layout: columns in blocks of 16 (one AVX-512 register of int32 sums), the depth in
// steps of 4 bytes; block b, step g holds, for each of its 16 columns, the 4 weights of that
// step: packed[((b · steps) + g) · 64 + lane · 4 + t] = q[16b + lane][4g + t]. One VNNI
// instruction (vpdpbusd) then multiplies 4 activation bytes of a row, broadcast, with 16
// columns × 4 weights and adds the 16 sums into an accumulator. Blocks are padded to an even
// count so that the kernel always works on two blocks (32 columns) at a time.
#include "LocalModelKernels.h"
#include "KernelSupport.h"

#include <math.h>
#include <stdatomic.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

enum { COLUMN_BLOCK = 16, DEPTH_STEP = 4, ROW_TILE = 96 };


int32_t lmk_int8_padded_depth(int32_t k) { return round_up(k, DEPTH_STEP); }

size_t lmk_int8_packed_size(int32_t n, int32_t k) {
    return (size_t)round_up(n, 2 * COLUMN_BLOCK) * (size_t)round_up(k, DEPTH_STEP);
}

void lmk_int8_pack(const int8_t *weights, int32_t n, int32_t k, int8_t *packed) {
    const int32_t steps = round_up(k, DEPTH_STEP) / DEPTH_STEP;
    memset(packed, 0, lmk_int8_packed_size(n, k));
    for (int32_t column = 0; column < n; column++) {
        const int32_t block = column / COLUMN_BLOCK, lane = column % COLUMN_BLOCK;
        for (int32_t depth = 0; depth < k; depth++) {
            const size_t at = ((size_t)block * (size_t)steps + (size_t)(depth / DEPTH_STEP)) * 64 + (size_t)lane * 4 + (size_t)(depth % DEPTH_STEP);
            packed[at] = weights[(size_t)column * (size_t)k + (size_t)depth];
        }
    }
}

/// A row's range [low, high] (NaN skipped, infinities clamped) to its quantization step and its
/// inverse; a constant or all-NaN row gets step 0, so the scale is always finite.
static void row_range(float *low, float *high, float *step, float *inverse) {
    if (!(*low <= *high)) *low = *high = 0.0f;  // all NaN: the reductions saw no value
    // Within ±1e38 the span (high - low) cannot overflow to infinity.
    *low = fminf(fmaxf(*low, -1.0e38f), 1.0e38f);
    *high = fminf(fmaxf(*high, -1.0e38f), 1.0e38f);
    if (!(*high > *low)) *high = *low;  // a constant row
    *step = (*high - *low) / 255.0f;
    *inverse = *step > 0 ? 1.0f / *step : 0.0f;
}

void lmk_quantize_rows_portable(const float *x, int32_t m, int32_t k, uint8_t *out, float *scale, float *offset) {
    const int32_t padded = round_up(k, DEPTH_STEP);
    for (int32_t row = 0; row < m; row++) {
        const float *values = x + (size_t)row * (size_t)k;
        uint8_t *bytes = out + (size_t)row * (size_t)padded;
        float low = INFINITY, high = -INFINITY;
        for (int32_t j = 0; j < k; j++) {
            // fminf/fmaxf skip a NaN; infinities are clamped below so the scale stays finite.
            low = fminf(low, values[j]);
            high = fmaxf(high, values[j]);
        }
        float step, inverse;
        row_range(&low, &high, &step, &inverse);
        for (int32_t j = 0; j < k; j++) {
            // fmaxf(NaN, 0) is 0: the clamp keeps the conversion defined for any input.
            const float level = fminf(fmaxf((values[j] - low) * inverse, 0.0f), 255.0f);
            bytes[j] = (uint8_t)(level + 0.5f);
        }
        for (int32_t j = k; j < padded; j++) bytes[j] = 0;
        scale[row] = step;
        offset[row] = isfinite(low) ? low : 0.0f;
    }
}

#if defined(__x86_64__)
// The same quantization with AVX-512 intrinsics, byte for byte: the compiler left the portable
// loop's fminf/fmaxf reductions scalar (a chain of dependent instructions per element, a fifth
// of an int8 ingest's time in perf). vminps/vmaxps return their second operand when the first
// is a NaN, which is fminf/fmaxf's "skip the NaN" with the running value second; min and max
// are exact, and the per-element steps are the portable loop's operations in the same order.
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))
static void quantize_rows_avx512(const float *x, int32_t m, int32_t k, uint8_t *out, float *scale, float *offset) {
    const int32_t padded = round_up(k, DEPTH_STEP);
    for (int32_t row = 0; row < m; row++) {
        const float *values = x + (size_t)row * (size_t)k;
        uint8_t *bytes = out + (size_t)row * (size_t)padded;
        __m512 lows = _mm512_set1_ps(INFINITY), highs = _mm512_set1_ps(-INFINITY);
        for (int32_t j = 0; j < k; j += 16) {
            const __mmask16 mask = tail_mask(k - j);
            const __m512 v = _mm512_maskz_loadu_ps(mask, values + j);
            lows = _mm512_mask_min_ps(lows, mask, v, lows);
            highs = _mm512_mask_max_ps(highs, mask, v, highs);
        }
        float low = _mm512_reduce_min_ps(lows), high = _mm512_reduce_max_ps(highs);
        float step, inverse;
        row_range(&low, &high, &step, &inverse);
        const __m512 base = _mm512_set1_ps(low), factor = _mm512_set1_ps(inverse);
        const __m512 zero = _mm512_setzero_ps(), top = _mm512_set1_ps(255.0f), half = _mm512_set1_ps(0.5f);
        for (int32_t j = 0; j < k; j += 16) {
            const __mmask16 mask = tail_mask(k - j);
            const __m512 v = _mm512_maskz_loadu_ps(mask, values + j);
            const __m512 level = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(_mm512_sub_ps(v, base), factor), zero), top);
            _mm512_mask_cvtepi32_storeu_epi8(bytes + j, mask, _mm512_cvttps_epi32(_mm512_add_ps(level, half)));
        }
        for (int32_t j = k; j < padded; j++) bytes[j] = 0;
        scale[row] = step;
        offset[row] = isfinite(low) ? low : 0.0f;
    }
}
#endif

void lmk_quantize_rows(const float *x, int32_t m, int32_t k, uint8_t *out, float *scale, float *offset) {
#if defined(__x86_64__)
    if (lmk_uses_avx512()) {
        quantize_rows_avx512(x, m, k, out, scale, offset);
        return;
    }
#endif
    lmk_quantize_rows_portable(x, m, k, out, scale, offset);
}

void lmk_int8_gemm_portable(const uint8_t *a, const float *scale, const float *offset, int32_t m, int32_t k,
                            const int8_t *packed, const float *weightScale, const int32_t *weightSum, const float *bias,
                            int32_t n, float *y, int32_t ldc, int32_t accumulate) {
    const int32_t padded = round_up(k, DEPTH_STEP), steps = padded / DEPTH_STEP;
    for (int32_t column = 0; column < n; column++) {
        const int8_t *block = packed + (size_t)(column / COLUMN_BLOCK) * (size_t)steps * 64 + (size_t)(column % COLUMN_BLOCK) * 4;
        for (int32_t row = 0; row < m; row++) {
            const uint8_t *bytes = a + (size_t)row * (size_t)padded;
            int32_t sum = 0;
            for (int32_t step = 0; step < steps; step++) {
                const int8_t *weights = block + (size_t)step * 64;
                const uint8_t *values = bytes + (size_t)step * DEPTH_STEP;
                sum += (int32_t)values[0] * weights[0] + (int32_t)values[1] * weights[1]
                     + (int32_t)values[2] * weights[2] + (int32_t)values[3] * weights[3];
            }
            const float result = weightScale[column] * (scale[row] * (float)sum + offset[row] * (float)weightSum[column]) + bias[column];
            float *target = y + (size_t)row * (size_t)ldc + (size_t)column;
            *target = accumulate ? *target + result : result;
        }
    }
}

#if defined(__x86_64__)
#define VNNI_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

/// ROWS rows × 32 columns: 2·ROWS accumulators stay in registers (ROWS is a constant after
/// inlining, so the loops unroll).
VNNI_TARGET static inline __attribute__((always_inline)) void vnni_tile(
    const int ROWS, const uint8_t *a, int32_t padded, const float *scale, const float *offset,
    const int8_t *block, int32_t steps, int32_t column, const float *weightScale, const int32_t *weightSum,
    const float *bias, int32_t n, float *y, int32_t ldc, int32_t accumulate) {
    __m512i sums[6][2];
    for (int i = 0; i < ROWS; i++) { sums[i][0] = _mm512_setzero_si512(); sums[i][1] = _mm512_setzero_si512(); }
    const int8_t *second = block + (size_t)steps * 64;
    for (int32_t step = 0; step < steps; step++) {
        const __m512i w0 = _mm512_loadu_si512((const void *)(block + (size_t)step * 64));
        const __m512i w1 = _mm512_loadu_si512((const void *)(second + (size_t)step * 64));
        for (int i = 0; i < ROWS; i++) {
            int32_t four;
            memcpy(&four, a + (size_t)i * (size_t)padded + (size_t)step * DEPTH_STEP, sizeof four);
            const __m512i values = _mm512_set1_epi32(four);
            sums[i][0] = _mm512_dpbusd_epi32(sums[i][0], values, w0);
            sums[i][1] = _mm512_dpbusd_epi32(sums[i][1], values, w1);
        }
    }
    for (int half = 0; half < 2; half++) {
        const int32_t first = column + half * COLUMN_BLOCK;
        if (first >= n) break;
        const int32_t valid = n - first;
        const __mmask16 mask = valid >= COLUMN_BLOCK ? (__mmask16)0xFFFF : (__mmask16)((1u << valid) - 1u);
        const __m512 columnScale = _mm512_maskz_loadu_ps(mask, weightScale + first);
        const __m512 columnSum = _mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(mask, weightSum + first));
        const __m512 columnBias = _mm512_maskz_loadu_ps(mask, bias + first);
        for (int i = 0; i < ROWS; i++) {
            const __m512 product = _mm512_cvtepi32_ps(sums[i][half]);
            const __m512 inner = _mm512_add_ps(_mm512_mul_ps(_mm512_set1_ps(scale[i]), product),
                                               _mm512_mul_ps(_mm512_set1_ps(offset[i]), columnSum));
            __m512 result = _mm512_add_ps(_mm512_mul_ps(columnScale, inner), columnBias);
            float *target = y + (size_t)i * (size_t)ldc + (size_t)first;
            if (accumulate) result = _mm512_add_ps(result, _mm512_maskz_loadu_ps(mask, target));
            _mm512_mask_storeu_ps(target, mask, result);
        }
    }
}

VNNI_TARGET static void vnni_gemm(const uint8_t *a, const float *scale, const float *offset, int32_t m, int32_t k,
                                  const int8_t *packed, const float *weightScale, const int32_t *weightSum, const float *bias,
                                  int32_t n, float *y, int32_t ldc, int32_t accumulate) {
    const int32_t padded = round_up(k, DEPTH_STEP), steps = padded / DEPTH_STEP;
    const int32_t blocks = round_up(n, 2 * COLUMN_BLOCK) / COLUMN_BLOCK;
    // Rows in tiles that stay in the core's cache while every column block passes over them;
    // a pair of column blocks (32 columns × k bytes) stays in L1/L2 while the tile's rows pass.
    for (int32_t tile = 0; tile < m; tile += ROW_TILE) {
        const int32_t tileEnd = m - tile < ROW_TILE ? m : tile + ROW_TILE;
        for (int32_t blockIndex = 0; blockIndex < blocks; blockIndex += 2) {
            const int8_t *block = packed + (size_t)blockIndex * (size_t)steps * 64;
            const int32_t column = blockIndex * COLUMN_BLOCK;
            for (int32_t row = tile; row < tileEnd; row += 6) {
                const int32_t rows = tileEnd - row < 6 ? tileEnd - row : 6;
                const uint8_t *rowBytes = a + (size_t)row * (size_t)padded;
                float *rowOut = y + (size_t)row * (size_t)ldc;
                switch (rows) {
                case 6: vnni_tile(6, rowBytes, padded, scale + row, offset + row, block, steps, column, weightScale, weightSum, bias, n, rowOut, ldc, accumulate); break;
                case 5: vnni_tile(5, rowBytes, padded, scale + row, offset + row, block, steps, column, weightScale, weightSum, bias, n, rowOut, ldc, accumulate); break;
                case 4: vnni_tile(4, rowBytes, padded, scale + row, offset + row, block, steps, column, weightScale, weightSum, bias, n, rowOut, ldc, accumulate); break;
                case 3: vnni_tile(3, rowBytes, padded, scale + row, offset + row, block, steps, column, weightScale, weightSum, bias, n, rowOut, ldc, accumulate); break;
                case 2: vnni_tile(2, rowBytes, padded, scale + row, offset + row, block, steps, column, weightScale, weightSum, bias, n, rowOut, ldc, accumulate); break;
                default: vnni_tile(1, rowBytes, padded, scale + row, offset + row, block, steps, column, weightScale, weightSum, bias, n, rowOut, ldc, accumulate); break;
                }
            }
        }
    }
}

static int32_t detect_vnni(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")
        && __builtin_cpu_supports("avx512vnni");
}
#endif

int32_t lmk_int8_uses_vnni(void) {
#if defined(__x86_64__)
    // Racing first calls compute and store the same answer.
    static _Atomic int32_t cached = -1;
    int32_t known = atomic_load_explicit(&cached, memory_order_relaxed);
    if (known < 0) {
        known = detect_vnni();
        atomic_store_explicit(&cached, known, memory_order_relaxed);
    }
    return known;
#else
    return 0;
#endif
}

void lmk_int8_gemm(const uint8_t *a, const float *scale, const float *offset, int32_t m, int32_t k,
                   const int8_t *packed, const float *weightScale, const int32_t *weightSum, const float *bias,
                   int32_t n, float *y, int32_t ldc, int32_t accumulate) {
#if defined(__x86_64__)
    if (lmk_int8_uses_vnni()) {
        vnni_gemm(a, scale, offset, m, k, packed, weightScale, weightSum, bias, n, y, ldc, accumulate);
        return;
    }
#endif
    lmk_int8_gemm_portable(a, scale, offset, m, k, packed, weightScale, weightSum, bias, n, y, ldc, accumulate);
}
