// Small helpers the kernels of CLocalModelKernels share (not part of the module's interface:
// this header is outside include/).
#ifndef LOCAL_MODEL_KERNEL_SUPPORT_H
#define LOCAL_MODEL_KERNEL_SUPPORT_H

#include <stdint.h>

/// value rounded up to a multiple of step (both positive, as the checked model sizes are).
static inline int32_t round_up(int32_t value, int32_t step) { return (value + step - 1) / step * step; }

#if defined(__x86_64__)
#include <immintrin.h>

/// The lanes of a 16-float vector that hold data when `remaining` values are left: all 16, the
/// first `remaining`, or none.
static inline __mmask16 tail_mask(int64_t remaining) {
    return remaining >= 16 ? (__mmask16)0xFFFF : remaining <= 0 ? (__mmask16)0 : (__mmask16)((1u << remaining) - 1u);
}
#endif

#endif
