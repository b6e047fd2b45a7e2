/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared by the fuzz targets: the libFuzzer entry point's prototype and a
 * reader that takes typed values from the front of the input (the input is
 * a script: what runs next, and what the hostile peer writes, comes from
 * it). A reader that has run out returns zeros, so every input is valid.
 *
 * A target calls FUZZ_CHECK() for a property that must hold whatever the
 * input: a failure aborts, which libFuzzer (and the replay driver, through
 * the abort signal) reports as a crash with the input that caused it.
 */
#ifndef VMSG_FUZZ_H
#define VMSG_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                              \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__,  \
				__LINE__, #cond);                                     \
			abort();                                                      \
		}                                                                     \
	} while (0)

struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
	uint8_t v = 0;

	if (in->n) {
		v = in->p[0];
		in->p++;
		in->n--;
	}
	return v;
}

static inline uint16_t fuzz_u16(struct fuzz_in *in)
{
	uint16_t lo = fuzz_u8(in);

	return (uint16_t)(lo | (uint16_t)(fuzz_u8(in) << 8));
}

static inline uint32_t fuzz_u32(struct fuzz_in *in)
{
	uint32_t lo = fuzz_u16(in);

	return lo | (uint32_t)fuzz_u16(in) << 16;
}

static inline uint64_t fuzz_u64(struct fuzz_in *in)
{
	uint64_t lo = fuzz_u32(in);

	return lo | (uint64_t)fuzz_u32(in) << 32;
}

/* Up to @want bytes of the input (fewer at its end); *got says how many. */
static inline const uint8_t *fuzz_bytes(struct fuzz_in *in, size_t want, size_t *got)
{
	const uint8_t *p = in->p;

	if (want > in->n)
		want = in->n;
	in->p += want;
	in->n -= want;
	*got = want;
	return p;
}

#endif /* VMSG_FUZZ_H */
