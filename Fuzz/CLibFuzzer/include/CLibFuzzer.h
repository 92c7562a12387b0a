#ifndef ARES_CLIBFUZZER_H
#define ARES_CLIBFUZZER_H

#include <stddef.h>
#include <stdint.h>

/// The callback libFuzzer calls with each input (set by FuzzDriver before the driver starts).
typedef int (*ares_fuzz_callback)(const uint8_t *data, size_t size);

void ares_fuzz_set_callback(ares_fuzz_callback callback);

/// libFuzzer's entry point for a program with its own `main` (compiler-rt, FuzzerDriver.cpp).
/// Only linked when the program is built with `-sanitize=fuzzer`.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

/// The input callback libFuzzer's own `main` would call; it forwards to the registered callback.
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
