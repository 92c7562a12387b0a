// Kernels of the local sentence-embedding models (LocalModels) that Swift cannot express well:
// an 8-bit integer matrix product that uses AVX-512 VNNI when the CPU has it, a float32
// product for a few rows over weights packed at load, one attention head, softmax and GELU
// with AVX-512 (each chosen at run time, so one binary runs everywhere), portable C otherwise.
//
// The product is the quantized form of a linear layer, y = x·Wᵀ + b:
//   - W [n × k] is quantized per output row: W[c][j] ≈ weightScale[c] · q[c][j], q in -127...127,
//     and packed once (lmk_int8_pack) into the layout the kernel reads;
//   - x [m × k] is quantized per row, asymmetrically: x[r][j] ≈ scale[r] · a[r][j] + offset[r],
//     a in 0...255 (lmk_quantize_rows), because VNNI multiplies unsigned by signed bytes and
//     activations such as GELU's outputs are far from symmetric;
//   - y[r][c] = weightScale[c] · (scale[r] · Σ a·q + offset[r] · Σ_j q[c][j]) + b[c].
// Every size is checked by the Swift caller; the functions trust them.
#ifndef LOCAL_MODEL_KERNELS_H
#define LOCAL_MODEL_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// k rounded up to the kernel's depth step (4 bytes: one VNNI dot product).
int32_t lmk_int8_padded_depth(int32_t k);

/// Bytes of a packed [n × k] weight matrix (n rounded up to 32 columns, k to 4).
size_t lmk_int8_packed_size(int32_t n, int32_t k);

/// Packs row-major int8 weights [n × k] into `packed` (lmk_int8_packed_size bytes, zero-padded).
void lmk_int8_pack(const int8_t *weights, int32_t n, int32_t k, int8_t *packed);

/// Quantizes each row of x [m × k] to bytes (m × lmk_int8_padded_depth(k), the padding zero),
/// with its scale and offset. Non-finite inputs quantize to the row's ends, never to undefined values.
void lmk_quantize_rows(const float *x, int32_t m, int32_t k, uint8_t *out, float *scale, float *offset);

/// The same quantization by the portable loop, whatever the CPU: the tests compare the two.
void lmk_quantize_rows_portable(const float *x, int32_t m, int32_t k, uint8_t *out, float *scale, float *offset);

/// y[r · ldc + c] = (or += when accumulate ≠ 0) the dequantized product of quantized rows `a`
/// and packed weights, plus bias. weightSum[c] = Σ_j q[c][j].
void lmk_int8_gemm(const uint8_t *a, const float *scale, const float *offset, int32_t m, int32_t k,
                   const int8_t *packed, const float *weightScale, const int32_t *weightSum, const float *bias,
                   int32_t n, float *y, int32_t ldc, int32_t accumulate);

/// The same product by the portable loop, whatever the CPU: the tests compare the two.
void lmk_int8_gemm_portable(const uint8_t *a, const float *scale, const float *offset, int32_t m, int32_t k,
                            const int8_t *packed, const float *weightScale, const int32_t *weightSum, const float *bias,
                            int32_t n, float *y, int32_t ldc, int32_t accumulate);

/// 1 when lmk_int8_gemm runs the AVX-512 VNNI kernel on this CPU, 0 when the portable loop.
int32_t lmk_int8_uses_vnni(void);

// The float32 product of a linear layer, y = x·Wᵀ + b, made for a few rows (a query's tokens)
// and used for whole batches on AVX-512 CPUs: W [n × k] packed once (lmk_f32_pack) into panels
// of 16 columns that the kernel streams once per block of 64 rows, instead of sgemm packing all
// of W again on every call.

/// Floats of a packed [n × k] weight matrix (n rounded up to 32 columns).
size_t lmk_f32_panel_count(int32_t n, int32_t k);

/// Packs row-major float weights [n × k] into `packed` (lmk_f32_panel_count floats, zero-padded).
void lmk_f32_pack(const float *weights, int32_t n, int32_t k, float *packed);

/// y[r · ldc + c] = (or += when accumulate ≠ 0) Σ_j x[r · k + j] · W[c][j] + bias[c], for r < m, c < n
/// (AVX-512 when the CPU has it).
void lmk_f32_gemm(const float *x, int32_t m, int32_t k, const float *packed, const float *bias,
                  int32_t n, float *y, int32_t ldc, int32_t accumulate);

/// The same product by the portable loop, whatever the CPU: the tests compare the two.
void lmk_f32_gemm_portable(const float *x, int32_t m, int32_t k, const float *packed, const float *bias,
                           int32_t n, float *y, int32_t ldc, int32_t accumulate);

/// Softmax of each row of values [rows × width], in place (AVX-512 when the CPU has it).
void lmk_softmax_rows(float *values, int32_t rows, int32_t width);
void lmk_softmax_rows_portable(float *values, int32_t rows, int32_t width);

/// GELU in place: exact (x·Φ(x)) or, when tanhApproximation ≠ 0, the tanh approximation.
void lmk_gelu(float *values, size_t count, int32_t tanhApproximation);
void lmk_gelu_portable(float *values, size_t count, int32_t tanhApproximation);

// Attention of one head over one sequence of `length` tokens: for each query row i,
// out[i · outStride + c] = Σ_j softmax_j(scale · q_i · k_j) · v_j[c], c < headSize, where row j of
// the queries, keys and values starts at queries/keys/values + j · stride.

/// Floats of scratch space that lmk_attention needs for `length` tokens and `headSize`.
size_t lmk_attention_scratch_count(int32_t length, int32_t headSize);

/// Computes the head with AVX-512 and returns 1, or returns 0 without touching `out` when the
/// CPU lacks AVX-512 (the caller then uses BLAS).
int32_t lmk_attention(const float *queries, const float *keys, const float *values, int32_t stride, int32_t length,
                      int32_t headSize, float scale, float *scratch, float *out, int32_t outStride);

/// 1 when lmk_softmax_rows, lmk_gelu, lmk_quantize_rows and lmk_attention use AVX-512 on this CPU.
int32_t lmk_uses_avx512(void);

#endif
