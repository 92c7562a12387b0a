// The float32 product of LocalModels' linear layers for a few rows (see LocalModelKernels.h).
//
// Why not OpenBLAS here: for one short text (a query of 10-30 tokens) every product streams the
// whole weight matrix once and does little arithmetic with it, and sgemm first packs the
// weights into its own panels on every call — reading all 42 MB of MiniLM's float weights
// twice and writing them once per query. Packed once at load into the panels this kernel
// reads, each weight is read once per product, straight into registers. On AVX-512 CPUs it
// takes whole batches too (rows in blocks of 64, see panel_gemm): Debian's OpenBLAS 0.3.21 runs
// its AVX2 kernels on this AVX-512 CPU, and this kernel embeds passages 1.6× faster.
//
// Panel layout: columns in blocks of 16 (one AVX-512 register of floats), every depth in
// order: packed[(block · k + depth) · 16 + lane] = W[16·block + lane][depth]. Blocks are padded
// (with zero weights) to an even count, so the kernel always works on 32 columns at a time.
#include "LocalModelKernels.h"
#include "KernelSupport.h"

#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

enum { PANEL_WIDTH = 16, TILE_ROWS = 8, ROW_BLOCK = 64 };


size_t lmk_f32_panel_count(int32_t n, int32_t k) {
    return (size_t)round_up(n, 2 * PANEL_WIDTH) * (size_t)k;
}

void lmk_f32_pack(const float *weights, int32_t n, int32_t k, float *packed) {
    memset(packed, 0, lmk_f32_panel_count(n, k) * sizeof(float));
    for (int32_t column = 0; column < n; column++) {
        const int32_t block = column / PANEL_WIDTH, lane = column % PANEL_WIDTH;
        for (int32_t depth = 0; depth < k; depth++) {
            packed[((size_t)block * (size_t)k + (size_t)depth) * PANEL_WIDTH + (size_t)lane] = weights[(size_t)column * (size_t)k + (size_t)depth];
        }
    }
}

void lmk_f32_gemm_portable(const float *x, int32_t m, int32_t k, const float *packed, const float *bias,
                           int32_t n, float *y, int32_t ldc, int32_t accumulate) {
    for (int32_t row = 0; row < m; row++) {
        const float *values = x + (size_t)row * (size_t)k;
        for (int32_t block = 0; block * PANEL_WIDTH < n; block++) {
            float sums[PANEL_WIDTH] = {0};
            const float *panel = packed + (size_t)block * (size_t)k * PANEL_WIDTH;
            for (int32_t depth = 0; depth < k; depth++) {
                const float value = values[depth];
                const float *weights = panel + (size_t)depth * PANEL_WIDTH;
                for (int lane = 0; lane < PANEL_WIDTH; lane++) sums[lane] += value * weights[lane];
            }
            for (int lane = 0; lane < PANEL_WIDTH; lane++) {
                const int32_t column = block * PANEL_WIDTH + lane;
                if (column >= n) break;
                float *target = y + (size_t)row * (size_t)ldc + (size_t)column;
                const float result = sums[lane] + bias[column];
                *target = accumulate ? *target + result : result;
            }
        }
    }
}

#if defined(__x86_64__)
#define AVX512_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))

/// ROWS rows × 32 columns: 2·ROWS accumulators (at most 16 of the 32 registers) stay in
/// registers while the two panels stream past once (ROWS is a constant after inlining).
AVX512_TARGET static inline __attribute__((always_inline)) void panel_tile(
    const int ROWS, const float *x, int32_t k, const float *panels, int32_t column,
    const float *bias, int32_t n, float *y, int32_t ldc, int32_t accumulate) {
    __m512 sums[TILE_ROWS][2];
    for (int i = 0; i < ROWS; i++) { sums[i][0] = _mm512_setzero_ps(); sums[i][1] = _mm512_setzero_ps(); }
    const float *first = panels, *second = panels + (size_t)k * PANEL_WIDTH;
    for (int32_t depth = 0; depth < k; depth++) {
        const __m512 w0 = _mm512_loadu_ps(first + (size_t)depth * PANEL_WIDTH);
        const __m512 w1 = _mm512_loadu_ps(second + (size_t)depth * PANEL_WIDTH);
        for (int i = 0; i < ROWS; i++) {
            const __m512 value = _mm512_set1_ps(x[(size_t)i * (size_t)k + (size_t)depth]);
            sums[i][0] = _mm512_fmadd_ps(value, w0, sums[i][0]);
            sums[i][1] = _mm512_fmadd_ps(value, w1, sums[i][1]);
        }
    }
    for (int half = 0; half < 2; half++) {
        const int32_t start = column + half * PANEL_WIDTH;
        if (start >= n) break;
        const int32_t valid = n - start;
        const __mmask16 mask = valid >= PANEL_WIDTH ? (__mmask16)0xFFFF : (__mmask16)((1u << valid) - 1u);
        const __m512 columnBias = _mm512_maskz_loadu_ps(mask, bias + start);
        for (int i = 0; i < ROWS; i++) {
            float *target = y + (size_t)i * (size_t)ldc + (size_t)start;
            __m512 result = _mm512_add_ps(sums[i][half], columnBias);
            if (accumulate) result = _mm512_add_ps(result, _mm512_maskz_loadu_ps(mask, target));
            _mm512_mask_storeu_ps(target, mask, result);
        }
    }
}

AVX512_TARGET static void panel_gemm(const float *x, int32_t m, int32_t k, const float *packed, const float *bias,
                                     int32_t n, float *y, int32_t ldc, int32_t accumulate) {
    const int32_t blocks = round_up(n, 2 * PANEL_WIDTH) / PANEL_WIDTH;
    // Rows in blocks that stay in L2 (64 rows × k floats, 96-384 kB for MiniLM); within a
    // block, column pairs outside, rows inside: a pair of panels (32 columns × k floats,
    // 48-192 kB) stays in L2 while the block's rows pass over it. A query (≤ 64 rows) is one
    // block, so its weights come from memory once per product.
    for (int32_t rowBlock = 0; rowBlock < m; rowBlock += ROW_BLOCK) {
    const int32_t rowEnd = m - rowBlock < ROW_BLOCK ? m : rowBlock + ROW_BLOCK;
    for (int32_t block = 0; block < blocks; block += 2) {
        const float *panels = packed + (size_t)block * (size_t)k * PANEL_WIDTH;
        const int32_t column = block * PANEL_WIDTH;
        for (int32_t row = rowBlock; row < rowEnd; row += TILE_ROWS) {
            const int32_t rows = rowEnd - row < TILE_ROWS ? rowEnd - row : TILE_ROWS;
            const float *rowValues = x + (size_t)row * (size_t)k;
            float *rowOut = y + (size_t)row * (size_t)ldc;
            switch (rows) {
            case 8: panel_tile(8, rowValues, k, panels, column, bias, n, rowOut, ldc, accumulate); break;
            case 7: panel_tile(7, rowValues, k, panels, column, bias, n, rowOut, ldc, accumulate); break;
            case 6: panel_tile(6, rowValues, k, panels, column, bias, n, rowOut, ldc, accumulate); break;
            case 5: panel_tile(5, rowValues, k, panels, column, bias, n, rowOut, ldc, accumulate); break;
            case 4: panel_tile(4, rowValues, k, panels, column, bias, n, rowOut, ldc, accumulate); break;
            case 3: panel_tile(3, rowValues, k, panels, column, bias, n, rowOut, ldc, accumulate); break;
            case 2: panel_tile(2, rowValues, k, panels, column, bias, n, rowOut, ldc, accumulate); break;
            default: panel_tile(1, rowValues, k, panels, column, bias, n, rowOut, ldc, accumulate); break;
            }
        }
    }
    }
}
#endif

void lmk_f32_gemm(const float *x, int32_t m, int32_t k, const float *packed, const float *bias,
                  int32_t n, float *y, int32_t ldc, int32_t accumulate) {
#if defined(__x86_64__)
    if (lmk_uses_avx512()) {
        panel_gemm(x, m, k, packed, bias, n, y, ldc, accumulate);
        return;
    }
#endif
    lmk_f32_gemm_portable(x, m, k, packed, bias, n, y, ldc, accumulate);
}
