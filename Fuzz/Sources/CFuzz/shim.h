// libFuzzer's driver, for a `main` of our own (SwiftPM renames executables' entry points).
#ifndef ERIZO_CFUZZ_SHIM_H
#define ERIZO_CFUZZ_SHIM_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
