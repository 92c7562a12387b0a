#include "CLibFuzzer.h"

static ares_fuzz_callback registered = 0;

void ares_fuzz_set_callback(ares_fuzz_callback callback) { registered = callback; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return registered ? registered(data, size) : 0;
}
