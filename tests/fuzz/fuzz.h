/* Shared by the fuzz targets: the libFuzzer entry point each one defines. Built either with
 * clang's libFuzzer (TN_FUZZ=ON) or, in every normal build, with driver.c, which replays the
 * seed corpus and the saved crash inputs as a regression test. */
#ifndef TN_FUZZ_H
#define TN_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
