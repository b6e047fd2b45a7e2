/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared-memory layouts: the vmamp v1 writer and validator, and the SPSC-v0
 * profile. Expected bytes are written by hand from
 * shared/spec/shm-and-ports.md (§1.2 SPSC-v0, §4.3 vmamp v1) and
 * docs/ring-protocol.md ("Layouts"), never taken from the library.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "virtio_msg/config.h"
#include "virtio_msg/shm.h"

/*
 * The memory modes the tests pass (MEM_C coherent, MEM_D device): both in a
 * full build. A build with one mode (config.h) runs every test in that
 * mode, which does not change a layout's bytes or a validator's verdict;
 * test_shm_layout_compiled_out_refused checks that the other mode, and
 * whatever else the build left out, is refused with VMSG_ENOTSUP.
 */
#define MEM_C (VMSG_CONFIG_HAS_MEM_COHERENT ? VMSG_SPSC_MEM_COHERENT : VMSG_SPSC_MEM_DEVICE)
#define MEM_D (VMSG_CONFIG_HAS_MEM_DEVICE ? VMSG_SPSC_MEM_DEVICE : VMSG_SPSC_MEM_COHERENT)

/* ---------------------------------------------------------------------- */
/* Helpers                                                                */
/* ---------------------------------------------------------------------- */

static void *live[4];

static void *alloc_tracked(size_t size)
{
	void *p = NULL;

	/* 64-byte aligned, exactly @size bytes: ASan sees any overrun. */
	assert_int_equal(posix_memalign(&p, 64, size ? size : 1), 0);
	for (size_t i = 0; i < 4; i++) {
		if (!live[i]) {
			live[i] = p;
			return p;
		}
	}
	fail_msg("too many buffers");
	return p; /* not reached (fail_msg jumps out); no NULL path for -O3 to see */
}

static void free_tracked(void *p)
{
	for (size_t i = 0; i < 4; i++)
		if (live[i] == p)
			live[i] = NULL;
	free(p);
}

static int teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < 4; i++) {
		free(live[i]);
		live[i] = NULL;
	}
	return 0;
}

static void le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void le32(uint8_t *p, uint32_t v)
{
	le16(p, (uint16_t)v);
	le16(p + 2, (uint16_t)(v >> 16));
}

static void le64(uint8_t *p, uint64_t v)
{
	le32(p, (uint32_t)v);
	le32(p + 4, (uint32_t)(v >> 32));
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t round_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) / a * a;
}

/* Print the first differing byte, then fail: images are large. */
static void image_equal(const uint8_t *got, const uint8_t *exp, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (got[i] != exp[i]) {
			print_error("image differs at +0x%zx: got 0x%02x, expected 0x%02x\n", i,
				    got[i], exp[i]);
			fail();
		}
	}
}

/* ---------------------------------------------------------------------- */
/* vmamp v1: our writer                                                   */
/* ---------------------------------------------------------------------- */

/* The 64-byte header as spec §4.3 lays it out. */
struct v1h {
	uint16_t magic, length, version, features;
	uint8_t num_notif, num_vq;
	uint16_t num_elems, elem_size, reserved;
	uint64_t dev_notif, dev_qh, dev_elems, drv_notif, drv_qh, drv_elems;
};

static void put_v1h(uint8_t *b, const struct v1h *h)
{
	le16(b + 0x00, h->magic);
	le16(b + 0x02, h->length);
	le16(b + 0x04, h->version);
	le16(b + 0x06, h->features);
	b[0x08] = h->num_notif;
	b[0x09] = h->num_vq;
	le16(b + 0x0A, h->num_elems);
	le16(b + 0x0C, h->elem_size);
	le16(b + 0x0E, h->reserved);
	le64(b + 0x10, h->dev_notif);
	le64(b + 0x18, h->dev_qh);
	le64(b + 0x20, h->dev_elems);
	le64(b + 0x28, h->drv_notif);
	le64(b + 0x30, h->drv_qh);
	le64(b + 0x38, h->drv_elems);
}

/* Extended layout, from docs/ring-protocol.md: header @0, extension line
 * @0x40, device QH @0x80, driver QH @0xC0, then the 64-byte aligned element
 * arrays (device first, as for the queue heads and in QEMU's layout). */
static void test_shm_layout_v1_extended_bytes(void **state)
{
	static const struct {
		uint16_t n, es;
	} cases[] = { { 8, 64 }, { 2, 4 }, { 63, 64 }, { 5, 20 }, { 1000, 128 } };

	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct vmsg_shm_v1_params prm = { cases[k].n, cases[k].es, true, 0 };
		uint64_t arr = round_up((uint64_t)cases[k].n * cases[k].es, 64);
		uint64_t size = 0, want_size = 0x100 + 2 * arr;
		uint8_t exp_hdr[64] = { 0 }, exp_ext[24] = { 0 };
		struct v1h h = { 0x4C4F, 64, 1,	   0,	  0, 0,	   cases[k].n, cases[k].es,
				 0,	 0,  0x80, 0x100, 0, 0xC0, 0x100 + arr };
		uint8_t *b;

		assert_int_equal(vmsg_shm_v1_size(&prm, &size), 0);
		assert_int_equal(size, want_size);
		b = alloc_tracked((size_t)size);
		memset(b, 0xEE, (size_t)size);
		assert_int_equal(vmsg_shm_v1_write(b, (size_t)size, &prm, MEM_C),
				 0);
		put_v1h(exp_hdr, &h);
		image_equal(b, exp_hdr, 64);
		/* The magic reads as bytes 4f 4c. */
		assert_int_equal(b[0], 0x4f);
		assert_int_equal(b[1], 0x4c);
		/* Extension line: "VMX1", version 1, no window. */
		memcpy(exp_ext, "VMX1", 4);
		le32(exp_ext + 4, 1);
		image_equal(b + 0x40, exp_ext, sizeof(exp_ext));
		free_tracked(b);
	}
}

/* Plain v1 (not extended): no extension magic at +0x40; every queue head
 * alone on its own 64-byte line; arrays 64-byte aligned; nothing declared
 * overlaps; the size is tight. */
static void test_shm_layout_v1_plain_bytes(void **state)
{
	struct vmsg_shm_v1_params prm = { 8, 64, false, 0 };
	uint64_t size = 0, arr = 8 * 64;
	uint64_t dqh, rqh, de, re;
	uint8_t *b;

	(void)state;
	assert_int_equal(vmsg_shm_v1_size(&prm, &size), 0);
	b = alloc_tracked((size_t)size);
	memset(b, 0xEE, (size_t)size);
	assert_int_equal(vmsg_shm_v1_write(b, (size_t)size, &prm, MEM_D), 0);
	assert_int_equal(b[0], 0x4f);
	assert_int_equal(b[1], 0x4c);
	assert_int_equal(b[2], 64);
	assert_int_equal(b[3], 0);
	assert_int_equal(b[4], 1);
	assert_int_equal(b[5], 0);
	for (int i = 6; i < 0x0A; i++)
		assert_int_equal(b[i], 0); /* features, num_notif, num_vq */
	assert_int_equal(b[0x0A], 8);
	assert_int_equal(b[0x0B], 0);
	assert_int_equal(b[0x0C], 64);
	assert_int_equal(b[0x0D], 0);
	assert_int_equal(b[0x0E], 0);
	assert_int_equal(b[0x0F], 0);
	assert_int_equal(get_le64(b + 0x10), 0); /* no notification areas */
	assert_int_equal(get_le64(b + 0x28), 0);
	dqh = get_le64(b + 0x18);
	de = get_le64(b + 0x20);
	rqh = get_le64(b + 0x30);
	re = get_le64(b + 0x38);
	assert_memory_not_equal(b + 0x40, "VMX1", 4);
	/* each queue head on its own line, not the header's */
	assert_int_equal(dqh % 64, 0);
	assert_int_equal(rqh % 64, 0);
	assert_true(dqh >= 64 && rqh >= 64 && dqh != rqh);
	/* arrays 64-byte aligned and clear of the queue-head lines */
	assert_int_equal(de % 64, 0);
	assert_int_equal(re % 64, 0);
	assert_true(de >= dqh + 64 || de + arr <= dqh);
	assert_true(de >= rqh + 64 || de + arr <= rqh);
	assert_true(re >= dqh + 64 || re + arr <= dqh);
	assert_true(re >= rqh + 64 || re + arr <= rqh);
	assert_true(de + arr <= re || re + arr <= de);
	/* tight: header + 2 lines + 2 arrays */
	assert_int_equal(size, 64 + 2 * 64 + 2 * arr);
	assert_true(de + arr <= size && re + arr <= size);
	free_tracked(b);
}

/* The buffer window: after the arrays, page-aligned, in the extension line. */
static void test_shm_layout_v1_window(void **state)
{
	struct vmsg_shm_v1_params prm = { 8, 64, true, 10000 };
	struct vmsg_shm_v1_info info;
	uint64_t size = 0, arrays_end = 0x100 + 2 * 8 * 64, woff;
	uint8_t *b;

	(void)state;
	assert_int_equal(vmsg_shm_v1_size(&prm, &size), 0);
	b = alloc_tracked((size_t)size);
	memset(b, 0, (size_t)size);
	assert_int_equal(vmsg_shm_v1_write(b, (size_t)size, &prm, MEM_C), 0);
	assert_memory_equal(b + 0x40, "VMX1", 4);
	woff = get_le64(b + 0x48);
	assert_int_equal(get_le64(b + 0x50), 10000);
	assert_int_equal(woff % 4096, 0);
	assert_true(woff >= arrays_end && woff < arrays_end + 4096);
	assert_int_equal(size, woff + 10000);
	assert_int_equal(vmsg_shm_v1_validate(b, (size_t)size, MEM_C, &info), 0);
	assert_true(info.extended);
	assert_int_equal(info.window_off, woff);
	assert_int_equal(info.window_size, 10000);
	free_tracked(b);
	/* Only our extension can describe a window. */
	prm.extended = false;
	assert_int_equal(vmsg_shm_v1_size(&prm, &size), VMSG_EINVAL);
}

static void test_shm_layout_v1_size_params(void **state)
{
	struct vmsg_shm_v1_params prm = { 2, 4, true, 0 };
	uint64_t size = 0;

	(void)state;
	assert_int_equal(vmsg_shm_v1_size(&prm, &size), 0);
	assert_int_equal(size, 0x100 + 2 * 64); /* 8-byte arrays take a line each */
	prm.extended = false;
	assert_int_equal(vmsg_shm_v1_size(&prm, &size), 0);
	assert_int_equal(size, 0xC0 + 2 * 64);
	prm = (struct vmsg_shm_v1_params){ 1, 64, true, 0 };
	assert_int_equal(vmsg_shm_v1_size(&prm, &size), VMSG_EINVAL); /* one stays empty */
	prm = (struct vmsg_shm_v1_params){ 0, 64, true, 0 };
	assert_int_equal(vmsg_shm_v1_size(&prm, &size), VMSG_EINVAL);
	prm = (struct vmsg_shm_v1_params){ 8, 0, true, 0 };
	assert_int_equal(vmsg_shm_v1_size(&prm, &size), VMSG_EINVAL);
	prm = (struct vmsg_shm_v1_params){ 8, 62, true, 0 };
	assert_int_equal(vmsg_shm_v1_size(&prm, &size), VMSG_EINVAL); /* not a multiple of 4 */
	assert_int_equal(vmsg_shm_v1_size(NULL, &size), VMSG_EINVAL);
	prm = (struct vmsg_shm_v1_params){ 65535, 65532, true, 0 };
	assert_int_equal(vmsg_shm_v1_size(&prm, &size), 0);
	assert_int_equal(size, 0x100 + 2 * round_up((uint64_t)65535 * 65532, 64));
}

static void test_shm_layout_v1_write_needs_room(void **state)
{
	struct vmsg_shm_v1_params prm = { 8, 64, true, 0 };
	uint64_t size = 0;
	uint8_t *b;

	(void)state;
	assert_int_equal(vmsg_shm_v1_size(&prm, &size), 0);
	b = alloc_tracked((size_t)size);
	memset(b, 0, (size_t)size);
	assert_int_equal(vmsg_shm_v1_write(b, (size_t)size - 1, &prm, MEM_C),
			 VMSG_EINVAL);
	assert_int_equal(vmsg_shm_v1_write(b, 64, &prm, MEM_C), VMSG_EINVAL);
	assert_int_equal(vmsg_shm_v1_write(NULL, (size_t)size, &prm, MEM_C),
			 VMSG_EINVAL);
	prm.num_elems = 1;
	assert_int_equal(vmsg_shm_v1_write(b, (size_t)size, &prm, MEM_C),
			 VMSG_EINVAL);
	/* nothing was written by the refused calls */
	for (size_t i = 0; i < (size_t)size; i++)
		assert_int_equal(b[i], 0);
	free_tracked(b);
}

/* The validator accepts what our writer writes, extended and plain, in both
 * memory modes, and reads back the same geometry. */
static void test_shm_layout_v1_validator_accepts_ours(void **state)
{
	(void)state;
	for (int ext = 0; ext < 2; ext++) {
		for (int d = 0; d < 2; d++) {
			uint8_t mem = d ? MEM_D : MEM_C;
			struct vmsg_shm_v1_params prm = { 16, 64, ext != 0, 0 };
			struct vmsg_shm_v1_info info;
			uint64_t size = 0;
			uint8_t *b;

			assert_int_equal(vmsg_shm_v1_size(&prm, &size), 0);
			b = alloc_tracked((size_t)size);
			memset(b, 0xEE, (size_t)size);
			assert_int_equal(vmsg_shm_v1_write(b, (size_t)size, &prm, mem), 0);
			assert_int_equal(vmsg_shm_v1_validate(b, (size_t)size, mem, &info), 0);
			assert_int_equal(info.reason, VMSG_SHM_OK);
			assert_int_equal(info.extended, ext != 0);
			assert_int_equal(info.num_elems, 16);
			assert_int_equal(info.elem_size, 64);
			assert_int_equal(info.features, 0);
			assert_int_equal(info.num_notif, 0);
			assert_int_equal(info.dev_qh, get_le64(b + 0x18));
			assert_int_equal(info.dev_elems, get_le64(b + 0x20));
			assert_int_equal(info.drv_qh, get_le64(b + 0x30));
			assert_int_equal(info.drv_elems, get_le64(b + 0x38));
			if (ext) {
				assert_int_equal(info.dev_qh, 0x80);
				assert_int_equal(info.drv_qh, 0xC0);
			}
			assert_int_equal(info.window_off, 0);
			/* a larger mapping is fine too */
			free_tracked(b);
		}
	}
}

/* QEMU's AMP-PCI layout (spec §4.3): header, device QH @0x40, driver QH
 * @0x48, elements from 0x50, 63 elements of 64 bytes in an 8 KiB window. It
 * is valid and must never be taken for our extension, even with "VMX1" in
 * the bytes at +0x40. */
static void build_qemu(uint8_t *b)
{
	struct v1h h = { 0x4C4F, 64, 1, 0, 0, 0, 63, 64, 0, 0, 0x40, 0x50, 0, 0x48, 0x1010 };

	memset(b, 0, 8192);
	put_v1h(b, &h);
}

static void test_shm_layout_v1_qemu_layout_not_extended(void **state)
{
	struct vmsg_shm_v1_info info;
	uint8_t *b;

	(void)state;
	assert_int_equal(0x50 + 63 * 64, 0x1010);
	assert_int_equal(0x1010 + 63 * 64, 0x1FD0);
	b = alloc_tracked(8192);
	build_qemu(b);
	assert_int_equal(vmsg_shm_v1_validate(b, 8192, MEM_C, &info), 0);
	assert_false(info.extended);
	assert_int_equal(info.num_elems, 63);
	assert_int_equal(info.elem_size, 64);
	assert_int_equal(info.dev_qh, 0x40);
	assert_int_equal(info.drv_qh, 0x48);
	assert_int_equal(info.dev_elems, 0x50);
	assert_int_equal(info.drv_elems, 0x1010);
	/* Queue heads as QEMU writes them, then "VMX1" planted on top. */
	le16(b + 0x40, 0x514F);
	le16(b + 0x48, 0x514F);
	memcpy(b + 0x40, "VMX1", 4);
	le32(b + 0x44, 1);
	assert_int_equal(vmsg_shm_v1_validate(b, 8192, MEM_D, &info), 0);
	assert_false(info.extended);
	free_tracked(b);
}

/* The extension needs its line AND both queue-head lines free of every
 * declared region. */
static void test_shm_layout_v1_extension_needs_free_lines(void **state)
{
	struct vmsg_shm_v1_info info;
	uint8_t *b;
	struct v1h ok = { 0x4C4F, 64, 1, 0, 0, 0, 4, 64, 0, 0, 0x80, 0x100, 0, 0xC0, 0x200 };
	struct v1h h;

	(void)state;
	b = alloc_tracked(0x300);
	memset(b, 0, 0x300);
	put_v1h(b, &ok);
	memcpy(b + 0x40, "VMX1", 4);
	le32(b + 0x44, 1);
	assert_int_equal(vmsg_shm_v1_validate(b, 0x300, MEM_C, &info), 0);
	assert_true(info.extended);
	/* both queue heads in one line */
	h = ok;
	h.drv_qh = 0x88;
	put_v1h(b, &h);
	assert_int_equal(vmsg_shm_v1_validate(b, 0x300, MEM_C, &info), 0);
	assert_false(info.extended);
	/* the device elements start inside the driver queue head's line */
	h = ok;
	h.dev_elems = 0xC8;
	h.drv_elems = 0x1C8;
	put_v1h(b, &h);
	assert_int_equal(vmsg_shm_v1_validate(b, 0x300, MEM_C, &info), 0);
	assert_false(info.extended);
	/* a queue head inside the extension line */
	h = ok;
	h.dev_qh = 0x78;
	put_v1h(b, &h);
	assert_int_equal(vmsg_shm_v1_validate(b, 0x300, MEM_C, &info), 0);
	assert_false(info.extended);
	/* wrong magic in the extension line */
	put_v1h(b, &ok);
	memcpy(b + 0x40, "VMX0", 4);
	assert_int_equal(vmsg_shm_v1_validate(b, 0x300, MEM_C, &info), 0);
	assert_false(info.extended);
	free_tracked(b);
}

/* ---------------------------------------------------------------------- */
/* vmamp v1: one negative test per validator check                        */
/* ---------------------------------------------------------------------- */

/* A valid base layout, no notification areas; 0x300..0x3FF is free. */
static const struct v1h base = { 0x4C4F, 64, 1, 0, 0, 0, 4, 64, 0, 0, 0x40, 0x100, 0, 0x48, 0x200 };
#define BASE_SIZE 0x400u

/* A valid layout with notification areas (num_notif = 1: tx + rx = 16
 * bytes per side), every region alone in its own 0x1000 block. */
static const struct v1h sparse = { 0x4C4F, 64,	   1,	   0,	   1,	   1,	   2,	  64,
				   0,	   0x1000, 0x2000, 0x3000, 0x4000, 0x5000, 0x6000 };
#define SPARSE_SIZE 0x7000u

static int validate_hdr(const struct v1h *h, size_t size, struct vmsg_shm_v1_info *info)
{
	uint8_t *b = alloc_tracked(size);
	int rc;

	memset(b, 0, size);
	put_v1h(b, h);
	rc = vmsg_shm_v1_validate(b, size, MEM_C, info);
	/* the other memory mode must agree */
	{
		struct vmsg_shm_v1_info i2;
		int rc2 = vmsg_shm_v1_validate(b, size, MEM_D, &i2);

		assert_int_equal(rc2, rc);
		assert_int_equal(i2.reason, info->reason);
	}
	free_tracked(b);
	return rc;
}

static void expect_reject(const struct v1h *h, size_t size, int rc, enum vmsg_shm_reject why)
{
	struct vmsg_shm_v1_info info;

	memset(&info, 0xA5, sizeof(info));
	assert_int_equal(validate_hdr(h, size, &info), rc);
	assert_int_equal(info.reason, why);
}

static void expect_ok(const struct v1h *h, size_t size)
{
	struct vmsg_shm_v1_info info;

	assert_int_equal(validate_hdr(h, size, &info), 0);
	assert_int_equal(info.reason, VMSG_SHM_OK);
}

static void test_shm_layout_v1_bases_valid(void **state)
{
	(void)state;
	expect_ok(&base, BASE_SIZE);
	expect_ok(&sparse, SPARSE_SIZE);
}

/* Smaller than the header: EPROTO, checked before the magic. The buffer is
 * exactly that small, so ASan catches a read of the missing bytes. */
static void test_shm_layout_v1_reject_too_small(void **state)
{
	struct vmsg_shm_v1_info info;

	(void)state;
	for (size_t size = 0; size < 64; size += 7) {
		for (int magic = 0; magic < 2; magic++) {
			uint8_t *b = alloc_tracked(size);

			memset(b, 0, size);
			if (magic && size >= 2) {
				b[0] = 0x4f;
				b[1] = 0x4c;
			}
			assert_int_equal(
				vmsg_shm_v1_validate(b, size, MEM_C, &info),
				VMSG_EPROTO);
			assert_int_equal(info.reason, VMSG_SHM_R_TOO_SMALL);
			free_tracked(b);
		}
	}
	{
		uint8_t *b = alloc_tracked(63);

		memset(b, 0, 63);
		assert_int_equal(vmsg_shm_v1_validate(b, 63, MEM_D, &info),
				 VMSG_EPROTO);
		assert_int_equal(info.reason, VMSG_SHM_R_TOO_SMALL);
		free_tracked(b);
	}
}

/* A wrong magic means "not written yet": EAGAIN. */
static void test_shm_layout_v1_reject_magic(void **state)
{
	static const uint16_t bad[] = { 0x0000, 0x4C4E, 0x4F4C /* bytes 4c 4f */, 0x514F, 0xFFFF };
	struct v1h h = base;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		h.magic = bad[i];
		expect_reject(&h, BASE_SIZE, VMSG_EAGAIN, VMSG_SHM_R_MAGIC);
	}
}

static void test_shm_layout_v1_reject_length(void **state)
{
	static const uint16_t bad[] = { 0, 63, 65, 128, 0x4000 };
	struct v1h h = base;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		h.length = bad[i];
		expect_reject(&h, BASE_SIZE, VMSG_EPROTO, VMSG_SHM_R_LENGTH);
	}
}

static void test_shm_layout_v1_reject_version(void **state)
{
	static const uint16_t bad[] = { 0, 2, 0x100, 0xFFFF };
	struct v1h h = base;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		h.version = bad[i];
		expect_reject(&h, BASE_SIZE, VMSG_EPROTO, VMSG_SHM_R_VERSION);
	}
}

static void test_shm_layout_v1_reject_unknown_feature(void **state)
{
	struct v1h h = base;

	(void)state;
	for (int bit = 1; bit < 16; bit++) {
		h.features = (uint16_t)(1u << bit);
		expect_reject(&h, BASE_SIZE, VMSG_EPROTO, VMSG_SHM_R_FEATURES);
		h.features = (uint16_t)(1u << bit | 1u);
		expect_reject(&h, BASE_SIZE, VMSG_EPROTO, VMSG_SHM_R_FEATURES);
	}
	/* MASKED_NOTIF is the one defined bit. */
	h.features = 1;
	expect_ok(&h, BASE_SIZE);
}

static void test_shm_layout_v1_reject_reserved(void **state)
{
	struct v1h h = base;

	(void)state;
	h.reserved = 1;
	expect_reject(&h, BASE_SIZE, VMSG_EPROTO, VMSG_SHM_R_RESERVED);
	h.reserved = 0x8000;
	expect_reject(&h, BASE_SIZE, VMSG_EPROTO, VMSG_SHM_R_RESERVED);
}

static void test_shm_layout_v1_reject_num_notif(void **state)
{
	struct v1h h = sparse;

	(void)state;
	h.num_notif = 65;
	expect_reject(&h, SPARSE_SIZE, VMSG_EPROTO, VMSG_SHM_R_NOTIF);
	h.num_notif = 255;
	expect_reject(&h, SPARSE_SIZE, VMSG_EPROTO, VMSG_SHM_R_NOTIF);
	/* 64 words per direction is the maximum: 2 * 64 * 8 = 1 KiB each */
	h.num_notif = 64;
	expect_ok(&h, SPARSE_SIZE);
	/* With MASKED_NOTIF, three arrays: 1.5 KiB each, still fits */
	h.features = 1;
	expect_ok(&h, SPARSE_SIZE);
}

static void test_shm_layout_v1_reject_vq_notif_per_device(void **state)
{
	struct v1h h = sparse;

	(void)state;
	for (unsigned v = 0; v < 256; v++) {
		h.num_vq = (uint8_t)v;
		if (v == 1 || v == 2 || v == 4 || v == 8 || v == 16)
			expect_ok(&h, SPARSE_SIZE);
		else
			expect_reject(&h, SPARSE_SIZE, VMSG_EPROTO, VMSG_SHM_R_NOTIF);
	}
	/* Ignored when num_notif == 0 (and so are the notif offsets). */
	h = base;
	for (unsigned v = 0; v < 256; v += 3) {
		h.num_vq = (uint8_t)v;
		expect_ok(&h, BASE_SIZE);
	}
	h.dev_notif = 0x41; /* would be misaligned and overlapping: not looked at */
	h.drv_notif = 0x7;
	expect_ok(&h, BASE_SIZE);
}

static void test_shm_layout_v1_reject_elems(void **state)
{
	struct v1h h = base;

	(void)state;
	h.num_elems = 0;
	expect_reject(&h, BASE_SIZE, VMSG_EPROTO, VMSG_SHM_R_ELEMS);
	h.num_elems = 1;
	expect_reject(&h, BASE_SIZE, VMSG_EPROTO, VMSG_SHM_R_ELEMS);
	h.num_elems = 2;
	expect_ok(&h, BASE_SIZE);
	h = base;
	h.elem_size = 0;
	expect_reject(&h, BASE_SIZE, VMSG_EPROTO, VMSG_SHM_R_ELEMS);
}

static void test_shm_layout_v1_reject_offset_zero(void **state)
{
	struct v1h h;

	(void)state;
	h = base;
	h.dev_qh = 0;
	expect_reject(&h, BASE_SIZE, VMSG_EPROTO, VMSG_SHM_R_OFFSET_ZERO);
	h = base;
	h.drv_qh = 0;
	expect_reject(&h, BASE_SIZE, VMSG_EPROTO, VMSG_SHM_R_OFFSET_ZERO);
	h = base;
	h.dev_elems = 0;
	expect_reject(&h, BASE_SIZE, VMSG_EPROTO, VMSG_SHM_R_OFFSET_ZERO);
	h = base;
	h.drv_elems = 0;
	expect_reject(&h, BASE_SIZE, VMSG_EPROTO, VMSG_SHM_R_OFFSET_ZERO);
	h = sparse;
	h.dev_notif = 0;
	expect_reject(&h, SPARSE_SIZE, VMSG_EPROTO, VMSG_SHM_R_OFFSET_ZERO);
	h = sparse;
	h.drv_notif = 0;
	expect_reject(&h, SPARSE_SIZE, VMSG_EPROTO, VMSG_SHM_R_OFFSET_ZERO);
}

/* Queue heads are 2-byte aligned, notification areas 8-byte aligned;
 * elements have no alignment in v1. */
static void test_shm_layout_v1_reject_align(void **state)
{
	struct v1h h;

	(void)state;
	h = sparse;
	h.dev_qh = 0x2001;
	expect_reject(&h, SPARSE_SIZE, VMSG_EPROTO, VMSG_SHM_R_ALIGN);
	h = sparse;
	h.drv_qh = 0x5003;
	expect_reject(&h, SPARSE_SIZE, VMSG_EPROTO, VMSG_SHM_R_ALIGN);
	for (uint64_t off = 1; off < 8; off++) {
		h = sparse;
		h.dev_notif = 0x1000 + off;
		expect_reject(&h, SPARSE_SIZE, VMSG_EPROTO, VMSG_SHM_R_ALIGN);
		h = sparse;
		h.drv_notif = 0x4000 + off;
		expect_reject(&h, SPARSE_SIZE, VMSG_EPROTO, VMSG_SHM_R_ALIGN);
	}
}

/* offset + length wraps 64 bits: overflow, for every kind of region. */
static void test_shm_layout_v1_reject_overflow(void **state)
{
	struct v1h h;

	(void)state;
	h = sparse;
	h.dev_qh = UINT64_MAX - 1; /* 2-aligned, + 8 wraps */
	expect_reject(&h, SPARSE_SIZE, VMSG_EPROTO, VMSG_SHM_R_OVERFLOW);
	h = sparse;
	h.drv_qh = UINT64_MAX - 5;
	expect_reject(&h, SPARSE_SIZE, VMSG_EPROTO, VMSG_SHM_R_OVERFLOW);
	h = sparse;
	h.dev_elems = UINT64_MAX - 63; /* + 2 * 64 wraps */
	expect_reject(&h, SPARSE_SIZE, VMSG_EPROTO, VMSG_SHM_R_OVERFLOW);
	h = sparse;
	h.drv_elems = UINT64_MAX;
	expect_reject(&h, SPARSE_SIZE, VMSG_EPROTO, VMSG_SHM_R_OVERFLOW);
	h = sparse;
	h.dev_notif = UINT64_MAX - 7; /* 8-aligned, + 16 wraps */
	expect_reject(&h, SPARSE_SIZE, VMSG_EPROTO, VMSG_SHM_R_OVERFLOW);
	h = sparse;
	h.drv_notif = UINT64_MAX - 15;
	expect_reject(&h, SPARSE_SIZE, VMSG_EPROTO, VMSG_SHM_R_OVERFLOW);
}

/* A region past the end of the mapping; ending exactly at the end is fine. */
static void test_shm_layout_v1_reject_bounds(void **state)
{
	struct v1h h;

	(void)state;
	h = base;
	h.drv_elems = BASE_SIZE - 4 * 64; /* ends exactly at the end */
	expect_ok(&h, BASE_SIZE);
	h.drv_elems = BASE_SIZE - 4 * 64 + 1;
	expect_reject(&h, BASE_SIZE, VMSG_EPROTO, VMSG_SHM_R_BOUNDS);
	h = base;
	h.dev_elems = 0x10000;
	expect_reject(&h, BASE_SIZE, VMSG_EPROTO, VMSG_SHM_R_BOUNDS);
	h = base;
	h.dev_qh = BASE_SIZE - 8;
	expect_ok(&h, BASE_SIZE);
	h.dev_qh = BASE_SIZE - 6;
	expect_reject(&h, BASE_SIZE, VMSG_EPROTO, VMSG_SHM_R_BOUNDS);
	h = base;
	h.drv_qh = 1ull << 40;
	expect_reject(&h, BASE_SIZE, VMSG_EPROTO, VMSG_SHM_R_BOUNDS);
	h = sparse;
	h.dev_notif = SPARSE_SIZE - 16;
	expect_ok(&h, SPARSE_SIZE);
	h.dev_notif = SPARSE_SIZE - 8;
	expect_reject(&h, SPARSE_SIZE, VMSG_EPROTO, VMSG_SHM_R_BOUNDS);
	h = sparse;
	h.drv_notif = SPARSE_SIZE;
	expect_reject(&h, SPARSE_SIZE, VMSG_EPROTO, VMSG_SHM_R_BOUNDS);
	/* With MASKED_NOTIF the areas are 24 bytes: 16 before the end no
	 * longer fits. */
	h = sparse;
	h.features = 1;
	h.drv_notif = SPARSE_SIZE - 16;
	expect_reject(&h, SPARSE_SIZE, VMSG_EPROTO, VMSG_SHM_R_BOUNDS);
	h.drv_notif = SPARSE_SIZE - 24;
	expect_ok(&h, SPARSE_SIZE);
}

/* Every pair of {header, dev QH, drv QH, dev elems, drv elems, dev notif,
 * drv notif}: region j is moved so that its first bytes overlap the last
 * bytes of region i (and nothing else); touching is not overlapping. */
enum {
	R_HDR,
	R_DQH,
	R_RQH,
	R_DEL,
	R_REL,
	R_DNO,
	R_RNO,
	R_COUNT
};

static uint64_t *reg_off(struct v1h *h, int r)
{
	switch (r) {
	case R_DQH:
		return &h->dev_qh;
	case R_RQH:
		return &h->drv_qh;
	case R_DEL:
		return &h->dev_elems;
	case R_REL:
		return &h->drv_elems;
	case R_DNO:
		return &h->dev_notif;
	default:
		return &h->drv_notif;
	}
}

static uint64_t reg_len(const struct v1h *h, int r)
{
	switch (r) {
	case R_HDR:
		return 64;
	case R_DQH:
	case R_RQH:
		return 8;
	case R_DEL:
	case R_REL:
		return (uint64_t)h->num_elems * h->elem_size;
	default:
		return (uint64_t)h->num_notif * 8 * ((h->features & 1) ? 3 : 2);
	}
}

static uint64_t reg_align(int r)
{
	return r == R_DQH || r == R_RQH ? 2 : (r == R_DNO || r == R_RNO ? 8 : 1);
}

static void test_shm_layout_v1_reject_overlap_every_pair(void **state)
{
	static const char *const names[R_COUNT] = { "hdr",	 "dev_qh",    "drv_qh",
						    "dev_elems", "drv_elems", "dev_notif",
						    "drv_notif" };
	unsigned pairs = 0;

	(void)state;
	for (int i = 0; i < R_COUNT; i++) {
		for (int j = 0; j < R_COUNT; j++) {
			struct v1h h = sparse;
			uint64_t ioff, iend, a = reg_align(j);
			struct vmsg_shm_v1_info info;
			int rc;

			if (i == j || j == R_HDR)
				continue; /* the header cannot move: its pairs come with i */
			ioff = i == R_HDR ? 0 : *reg_off(&h, i);
			iend = ioff + reg_len(&h, i);
			/* j starts on the last aligned position inside i */
			*reg_off(&h, j) = (iend - 1) / a * a;
			rc = validate_hdr(&h, SPARSE_SIZE, &info);
			if (rc != VMSG_EPROTO || info.reason != VMSG_SHM_R_OVERLAP) {
				print_error("%s overlapping %s: rc %d reason %d\n", names[j],
					    names[i], rc, info.reason);
				fail();
			}
			/* j right after i: touching, not overlapping */
			*reg_off(&h, j) = round_up(iend, a);
			rc = validate_hdr(&h, SPARSE_SIZE, &info);
			if (rc != 0) {
				print_error("%s touching %s: rc %d reason %d\n", names[j], names[i],
					    rc, info.reason);
				fail();
			}
			pairs++;
		}
	}
	assert_int_equal(pairs, 6 + 6 * 5); /* 21 unordered pairs, 36 placements */
	/* The notification length follows MASKED_NOTIF: drv notif right after
	 * a 16-byte dev notif is fine without it, an overlap with it. */
	{
		struct v1h h = sparse;

		h.drv_notif = h.dev_notif + 16;
		expect_ok(&h, SPARSE_SIZE);
		h.features = 1;
		expect_reject(&h, SPARSE_SIZE, VMSG_EPROTO, VMSG_SHM_R_OVERLAP);
	}
}

/* Valid v1 that our ring cannot drive: ENOTSUP, R_UNSUPPORTED. */
static void test_shm_layout_v1_reject_unsupported(void **state)
{
	struct v1h h;

	(void)state;
	for (uint16_t es = 1; es < 12; es++) {
		if (es % 4 == 0)
			continue;
		h = base;
		h.elem_size = es;
		expect_reject(&h, BASE_SIZE, VMSG_ENOTSUP, VMSG_SHM_R_UNSUPPORTED);
	}
	h = base;
	h.elem_size = 63;
	expect_reject(&h, BASE_SIZE, VMSG_ENOTSUP, VMSG_SHM_R_UNSUPPORTED);
	/* elements are 1-aligned in v1, but our slots must be 4-aligned */
	h = base;
	h.num_elems = 2; /* 128 bytes: 0x101..0x180 stays clear of the rest */
	h.dev_elems = 0x101;
	expect_reject(&h, BASE_SIZE, VMSG_ENOTSUP, VMSG_SHM_R_UNSUPPORTED);
	h.dev_elems = 0x100;
	h.drv_elems = 0x202;
	expect_reject(&h, BASE_SIZE, VMSG_ENOTSUP, VMSG_SHM_R_UNSUPPORTED);
}

/* ---------------------------------------------------------------------- */
/* SPSC-v0                                                                */
/* ---------------------------------------------------------------------- */

/* SPSC-v0 has 32-bit indices: a build without them (config.h) refuses to
 * open it, which the v0 tests check before they are skipped. */
static void need_v0(void)
{
	struct vmsg_shm_v0_params prm;
	struct vmsg_shm_chan ch;
	struct vmsg_shm_cfg c = { 0 };
	uint8_t *buf;

	if (VMSG_CONFIG_HAS_INDEX32)
		return;
	buf = alloc_tracked(8192);
	memset(buf, 0, 8192);
	vmsg_shm_v0_defaults(&prm);
	c.mem = MEM_C;
	assert_int_equal(vmsg_shm_chan_open_v0(&ch, buf, 8192, &c, &prm, VMSG_SPSC_INIT_RESET),
			 VMSG_ENOTSUP);
	skip();
}

static void test_shm_layout_v0_defaults(void **state)
{
	struct vmsg_shm_v0_params prm;

	(void)state;
	memset(&prm, 0xA5, sizeof(prm));
	vmsg_shm_v0_defaults(&prm);
	assert_int_equal(prm.drv_to_dev_off, 0x0);
	assert_int_equal(prm.dev_to_drv_off, 0x1000);
	assert_int_equal(prm.queue_size, 0x1000);
	assert_false(prm.little_endian);
	assert_false(prm.kick_suppression);
}

/* Index word as the profile stores it: host order, or LE with the option. */
static void put_idx(uint8_t *p, uint32_t v, bool le)
{
	if (le)
		le32(p, v);
	else
		memcpy(p, &v, 4);
}

static void msg_bytes(uint8_t *m, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		m[i] = (uint8_t)(seed + i * 3 + 1);
}

/* Expected slot: the message, then zeros up to 64 bytes. */
static void put_slot(uint8_t *img, uint64_t q, uint32_t i, const uint8_t *m, size_t len)
{
	uint8_t *s = img + q + 0x80 + 64u * i;

	memset(s, 0, 64);
	memcpy(s, m, len);
}

static void open_pair(struct vmsg_shm_chan *drv, struct vmsg_shm_chan *dev, uint8_t *buf,
		      size_t size, const struct vmsg_shm_v0_params *prm, uint8_t mem)
{
	struct vmsg_shm_cfg cd = { 0 }, cv = { 0 };

	cd.side = VMSG_SHM_DRIVER;
	cd.mem = mem;
	cv.side = VMSG_SHM_DEVICE;
	cv.mem = mem;
	assert_int_equal(vmsg_shm_chan_open_v0(drv, buf, size, &cd, prm, VMSG_SPSC_INIT_RESET), 0);
	assert_int_equal(vmsg_shm_chan_open_v0(dev, buf, size, &cv, prm, VMSG_SPSC_INIT_RESET), 0);
	assert_int_equal(vmsg_shm_chan_state(drv), VMSG_SHM_RUN);
	assert_int_equal(vmsg_shm_chan_state(dev), VMSG_SHM_RUN);
	assert_int_equal(vmsg_shm_chan_slot_size(drv), 64);
}

/* Whole-image test: both queues, specific messages, capacity 62 (61 usable),
 * the last slot at queue + 0xFC0, wrap-around of the head. */
static void v0_image(uint64_t to_dev, uint64_t to_drv, size_t size, bool le, uint8_t mem)
{
	struct vmsg_shm_v0_params prm;
	struct vmsg_shm_chan drv, dev;
	uint8_t *buf = alloc_tracked(size), *img = alloc_tracked(size);
	uint8_t m[64], out[64];

	vmsg_shm_v0_defaults(&prm);
	prm.drv_to_dev_off = to_dev;
	prm.dev_to_drv_off = to_drv;
	prm.little_endian = le;
	memset(buf, 0, size);
	memset(img, 0, size);
	open_pair(&drv, &dev, buf, size, &prm, mem);
	image_equal(buf, img, size); /* RESET publishes zeros: no change */

	/* driver -> device: a 40-byte message (old QEMU header size), a full
	 * 64-byte one, a 17-byte one */
	msg_bytes(m, 40, 1);
	assert_int_equal(vmsg_shm_chan_send(&drv, m, 40), 0);
	put_slot(img, to_dev, 0, m, 40);
	msg_bytes(m, 64, 2);
	assert_int_equal(vmsg_shm_chan_send(&drv, m, 64), 0);
	put_slot(img, to_dev, 1, m, 64);
	msg_bytes(m, 17, 3);
	assert_int_equal(vmsg_shm_chan_send(&drv, m, 17), 0);
	put_slot(img, to_dev, 2, m, 17);
	put_idx(img + to_dev + 0x00, 3, le);
	/* device -> driver: two messages; the driver reads one */
	msg_bytes(m, 48, 4);
	assert_int_equal(vmsg_shm_chan_send(&dev, m, 48), 0);
	put_slot(img, to_drv, 0, m, 48);
	msg_bytes(m, 8, 5);
	assert_int_equal(vmsg_shm_chan_send(&dev, m, 8), 0);
	put_slot(img, to_drv, 1, m, 8);
	put_idx(img + to_drv + 0x00, 2, le);
	assert_int_equal(vmsg_shm_chan_recv(&drv, out, sizeof(out)), 64);
	msg_bytes(m, 48, 4);
	assert_memory_equal(out, m, 48);
	put_idx(img + to_drv + 0x40, 1, le);
	image_equal(buf, img, size);

	/* the device reads one: tail 1 at +0x40 */
	assert_int_equal(vmsg_shm_chan_recv(&dev, out, sizeof(out)), 64);
	msg_bytes(m, 40, 1);
	assert_memory_equal(out, m, 40);
	put_idx(img + to_dev + 0x40, 1, le);
	image_equal(buf, img, size);

	/* fill the driver's queue: 62 slots, one stays empty, so 61 in flight:
	 * 2 already there, 59 more, then it is full */
	for (uint32_t i = 3; i < 62; i++) {
		msg_bytes(m, 64, (uint8_t)(10 + i));
		assert_int_equal(vmsg_shm_chan_send(&drv, m, 64), 0);
		put_slot(img, to_dev, i % 62, m, 64);
	}
	/* slots 3..61: the last one ends exactly at the end of the region */
	put_idx(img + to_dev + 0x00, 0, le); /* 62 wraps to 0 */
	msg_bytes(m, 64, 99);
	assert_int_equal(vmsg_shm_chan_send(&drv, m, 64), VMSG_EAGAIN);
	image_equal(buf, img, size);
	assert_int_equal(to_dev + 0x80 + 61 * 64 + 64, to_dev + 0x1000);
	free_tracked(img);
	free_tracked(buf);
}

static void test_shm_layout_v0_image_default(void **state)
{
	need_v0();
	(void)state;
	v0_image(0x0, 0x1000, 8192, false, MEM_C);
	v0_image(0x0, 0x1000, 8192, false, MEM_D);
}

static void test_shm_layout_v0_image_amp_pci(void **state)
{
	need_v0();
	(void)state;
	/* 9039 v1 series: reserved 0x0000-0x0FFF, drv 0x1000, dev 0x2000,
	 * reserved 0x3000-0x3FFF: the reserved parts stay zero */
	v0_image(0x1000, 0x2000, 16384, false, MEM_C);
	v0_image(0x1000, 0x2000, 16384, false, MEM_D);
}

static void test_shm_layout_v0_image_little_endian(void **state)
{
	need_v0();
	(void)state;
	v0_image(0x0, 0x1000, 8192, true, MEM_C);
	v0_image(0x1000, 0x2000, 16384, true, MEM_D);
}

/* The producer zeroes a stale slot tail; everything it does not own (other
 * slots, padding) stays exactly as it was. */
static void test_shm_layout_v0_stale_tail_zeroed(void **state)
{
	struct vmsg_shm_v0_params prm;
	struct vmsg_shm_chan drv, dev;
	uint8_t *buf = alloc_tracked(8192), *img = alloc_tracked(8192);
	uint8_t m[64];

	need_v0();
	(void)state;
	vmsg_shm_v0_defaults(&prm);
	memset(buf, 0xEE, 8192);
	memset(img, 0xEE, 8192);
	open_pair(&drv, &dev, buf, 8192, &prm, MEM_D);
	/* RESET wrote the four index words only */
	put_idx(img + 0x0000, 0, false);
	put_idx(img + 0x0040, 0, false);
	put_idx(img + 0x1000, 0, false);
	put_idx(img + 0x1040, 0, false);
	image_equal(buf, img, 8192);
	msg_bytes(m, 10, 7);
	assert_int_equal(vmsg_shm_chan_send(&drv, m, 10), 0);
	put_slot(img, 0, 0, m, 10);
	put_idx(img + 0x0000, 1, false);
	msg_bytes(m, 1, 8);
	assert_int_equal(vmsg_shm_chan_send(&dev, m, 1), 0);
	put_slot(img, 0x1000, 0, m, 1);
	put_idx(img + 0x1000, 1, false);
	image_equal(buf, img, 8192);
	free_tracked(img);
	free_tracked(buf);
}

/* With kick suppression, each queue's consumer owns an awake word at
 * queue + 0x44 and its producer a kicked word at queue + 0x04, both in the
 * padding of their own index lines; nothing else changes. */
static void test_shm_layout_v0_awake_word(void **state)
{
	struct vmsg_shm_v0_params prm;
	struct vmsg_shm_chan drv, dev;
	uint8_t *buf = alloc_tracked(8192), *img = alloc_tracked(8192);
	uint32_t a, dev_tok, drv_tok, k;

	need_v0();
	(void)state;
	vmsg_shm_v0_defaults(&prm);
	prm.kick_suppression = true;
	memset(buf, 0xEE, 8192);
	memset(img, 0xEE, 8192);
	open_pair(&drv, &dev, buf, 8192, &prm, MEM_C);
	put_idx(img + 0x0000, 0, false);
	put_idx(img + 0x0004, 0, false); /* kicked for nothing yet */
	put_idx(img + 0x0040, 0, false);
	put_idx(img + 0x1000, 0, false);
	put_idx(img + 0x1004, 0, false);
	put_idx(img + 0x1040, 0, false);
	/* each consumer starts armed: an even, non-zero token */
	memcpy(&dev_tok, buf + 0x0044, 4);
	memcpy(&drv_tok, buf + 0x1044, 4);
	assert_true(dev_tok != 0 && dev_tok % 2 == 0);
	assert_true(drv_tok != 0 && drv_tok % 2 == 0);
	memcpy(img + 0x0044, &dev_tok, 4);
	memcpy(img + 0x1044, &drv_tok, 4);
	image_equal(buf, img, 8192);
	/* the driver consumes device->driver: its awake word is +0x1044 */
	vmsg_shm_chan_awake(&drv);
	memcpy(&a, buf + 0x1044, 4);
	assert_int_equal(a, drv_tok | 1); /* polling: odd, same token */
	memcpy(img + 0x1044, &a, 4);
	image_equal(buf, img, 8192);
	assert_false(vmsg_shm_chan_need_kick(&dev)); /* driver polls */
	/* the device is armed: one kick for its token, recorded in the
	 * driver's kicked word (+0x04, the driver produces driver->device) */
	assert_true(vmsg_shm_chan_need_kick(&drv));
	memcpy(&k, buf + 0x0004, 4);
	assert_int_equal(k, dev_tok);
	assert_false(vmsg_shm_chan_need_kick(&drv));
	memcpy(img + 0x0004, &k, 4);
	image_equal(buf, img, 8192);
	free_tracked(img);
	free_tracked(buf);
}

/* Without kick suppression the padding at +0x04 and +0x44 is never touched,
 * and the producer always asks for a kick (a prototype peer never writes it). */
static void test_shm_layout_v0_no_awake_word_by_default(void **state)
{
	struct vmsg_shm_v0_params prm;
	struct vmsg_shm_chan drv, dev;
	uint8_t *buf = alloc_tracked(8192);
	uint8_t m[8] = { 1 };

	need_v0();
	(void)state;
	vmsg_shm_v0_defaults(&prm);
	memset(buf, 0xEE, 8192);
	open_pair(&drv, &dev, buf, 8192, &prm, MEM_C);
	vmsg_shm_chan_awake(&drv);
	vmsg_shm_chan_awake(&dev);
	for (int i = 0x44; i < 0x80; i++) {
		assert_int_equal(buf[i], 0xEE);
		assert_int_equal(buf[0x1000 + i], 0xEE);
	}
	for (int i = 0x04; i < 0x40; i++) {
		assert_int_equal(buf[i], 0xEE);
		assert_int_equal(buf[0x1000 + i], 0xEE);
	}
	assert_int_equal(vmsg_shm_chan_send(&drv, m, sizeof(m)), 0);
	assert_true(vmsg_shm_chan_need_kick(&drv));
	free_tracked(buf);
}

/* RESUME picks up the indices a previous life left (prototype behaviour). */
static void test_shm_layout_v0_resume(void **state)
{
	struct vmsg_shm_v0_params prm;
	struct vmsg_shm_chan dev;
	struct vmsg_shm_cfg cv = { 0 };
	uint8_t *buf = alloc_tracked(8192);
	uint8_t m[64], out[64];

	need_v0();
	(void)state;
	vmsg_shm_v0_defaults(&prm);
	memset(buf, 0, 8192);
	put_idx(buf + 0x0000, 5, false); /* driver->device head */
	put_idx(buf + 0x0040, 3, false); /* tail */
	msg_bytes(m, 64, 33);
	memcpy(buf + 0x80 + 3 * 64, m, 64);
	msg_bytes(m, 64, 34);
	memcpy(buf + 0x80 + 4 * 64, m, 64);
	cv.side = VMSG_SHM_DEVICE;
	cv.mem = MEM_C;
	assert_int_equal(vmsg_shm_chan_open_v0(&dev, buf, 8192, &cv, &prm, VMSG_SPSC_INIT_RESUME),
			 0);
	assert_int_equal(vmsg_shm_chan_recv(&dev, out, 64), 64);
	msg_bytes(m, 64, 33);
	assert_memory_equal(out, m, 64);
	assert_int_equal(vmsg_shm_chan_recv(&dev, out, 64), 64);
	msg_bytes(m, 64, 34);
	assert_memory_equal(out, m, 64);
	assert_int_equal(vmsg_shm_chan_recv(&dev, out, 64), VMSG_EAGAIN);
	/* an out-of-range index in memory is refused */
	put_idx(buf + 0x1000, 62, false);
	assert_int_equal(vmsg_shm_chan_open_v0(&dev, buf, 8192, &cv, &prm, VMSG_SPSC_INIT_RESUME),
			 VMSG_EPROTO);
	free_tracked(buf);
}

/*
 * RESYNC, driver side on the AMP-PCI offsets: the device (QEMU) never resets
 * its indices, so a restarted driver finds the device's words as it left
 * them and its own stale. Hand-written image: driver->device head 7 (ours,
 * stale), tail 40 (the device's); device->driver head 20 (the device's),
 * tail 3 (ours, stale), old messages in slots 3..19. Both queues must start
 * empty, only our two words may change, and the next message goes to
 * slot 40.
 */
static void v0_resync_image(bool le, uint8_t mem)
{
	struct vmsg_shm_v0_params prm;
	struct vmsg_shm_chan drv;
	struct vmsg_shm_cfg cd = { 0 };
	uint8_t *buf = alloc_tracked(16384), *img = alloc_tracked(16384);
	uint8_t m[64], out[64];

	vmsg_shm_v0_defaults(&prm);
	prm.drv_to_dev_off = 0x1000;
	prm.dev_to_drv_off = 0x2000;
	prm.little_endian = le;
	memset(buf, 0xEE, 16384);
	put_idx(buf + 0x1000, 7, le);
	put_idx(buf + 0x1040, 40, le);
	put_idx(buf + 0x2000, 20, le);
	put_idx(buf + 0x2040, 3, le);
	for (uint32_t i = 3; i < 20; i++) {
		msg_bytes(m, 64, (uint8_t)i);
		put_slot(buf, 0x2000, i, m, 64);
	}
	memcpy(img, buf, 16384);
	cd.side = VMSG_SHM_DRIVER;
	cd.mem = mem;
	assert_int_equal(vmsg_shm_chan_open_v0(&drv, buf, 16384, &cd, &prm, VMSG_SPSC_INIT_RESYNC),
			 0);
	put_idx(img + 0x1000, 40, le); /* our head := the device's tail */
	put_idx(img + 0x2040, 20, le); /* our tail := the device's head */
	image_equal(buf, img, 16384);
	assert_int_equal(vmsg_shm_chan_recv(&drv, out, sizeof(out)), VMSG_EAGAIN);
	msg_bytes(m, 24, 77);
	assert_int_equal(vmsg_shm_chan_send(&drv, m, 24), 0);
	put_slot(img, 0x1000, 40, m, 24);
	put_idx(img + 0x1000, 41, le);
	image_equal(buf, img, 16384);
	/* the device's next message, in slot 20, is the first we take */
	msg_bytes(m, 48, 99);
	put_slot(buf, 0x2000, 20, m, 48);
	put_idx(buf + 0x2000, 21, le);
	assert_int_equal(vmsg_shm_chan_recv(&drv, out, sizeof(out)), 64);
	assert_memory_equal(out, m, 48);
	assert_int_equal(vmsg_shm_chan_recv(&drv, out, sizeof(out)), VMSG_EAGAIN);

	/* Hostile device words out of range (62 is one past the last slot; a
	 * 20 in the other byte order is far out) are refused. The tail is
	 * checked before anything is written. */
	memcpy(img, buf, 16384);
	put_idx(buf + 0x1040, 62, le);
	memcpy(img + 0x1040, buf + 0x1040, 4);
	assert_int_equal(vmsg_shm_chan_open_v0(&drv, buf, 16384, &cd, &prm, VMSG_SPSC_INIT_RESYNC),
			 VMSG_EPROTO);
	image_equal(buf, img, 16384);
	put_idx(buf + 0x1040, 0, le);
	put_idx(buf + 0x2000, 0x14000000u, le); /* 20 read in the wrong order */
	memcpy(img + 0x1040, buf + 0x1040, 4);
	memcpy(img + 0x2000, buf + 0x2000, 4);
	assert_int_equal(vmsg_shm_chan_open_v0(&drv, buf, 16384, &cd, &prm, VMSG_SPSC_INIT_RESYNC),
			 VMSG_EPROTO);
	/* the driver->device ring was set up before the refusal: its word is
	 * ours and now says 0, as the device's tail does */
	put_idx(img + 0x1000, 0, le);
	image_equal(buf, img, 16384);
	free_tracked(img);
	free_tracked(buf);
}

static void test_shm_layout_v0_resync(void **state)
{
	need_v0();
	(void)state;
	v0_resync_image(false, MEM_C);
	v0_resync_image(true, MEM_C);
	v0_resync_image(false, MEM_D);
	v0_resync_image(true, MEM_D);
}

static void test_shm_layout_v0_open_rejects(void **state)
{
	struct vmsg_shm_v0_params prm;
	struct vmsg_shm_chan ch;
	struct vmsg_shm_cfg c = { .mem = MEM_C };
	uint8_t *buf;

	(void)state;
	need_v0();
	buf = alloc_tracked(8192);
	memset(buf, 0, 8192);
	vmsg_shm_v0_defaults(&prm);
	/* too small for the second queue */
	assert_int_equal(vmsg_shm_chan_open_v0(&ch, buf, 8191, &c, &prm, VMSG_SPSC_INIT_RESET),
			 VMSG_EINVAL);
	/* overlapping queues */
	prm.dev_to_drv_off = 0x800;
	assert_int_equal(vmsg_shm_chan_open_v0(&ch, buf, 8192, &c, &prm, VMSG_SPSC_INIT_RESET),
			 VMSG_EINVAL);
	vmsg_shm_v0_defaults(&prm);
	assert_int_equal(vmsg_shm_chan_open_v0(&ch, NULL, 8192, &c, &prm, VMSG_SPSC_INIT_RESET),
			 VMSG_EINVAL);
	assert_int_equal(vmsg_shm_chan_open_v0(&ch, buf, 8192, NULL, &prm, VMSG_SPSC_INIT_RESET),
			 VMSG_EINVAL);
	assert_int_equal(vmsg_shm_chan_open_v0(&ch, buf, 8192, &c, NULL, VMSG_SPSC_INIT_RESET),
			 VMSG_EINVAL);
	/* a smaller queue region gives (size - 0x80) / 64 slots: 2 KiB -> 30 */
	prm.queue_size = 0x800;
	prm.dev_to_drv_off = 0x800;
	assert_int_equal(vmsg_shm_chan_open_v0(&ch, buf, 4096, &c, &prm, VMSG_SPSC_INIT_RESET), 0);
	{
		uint8_t m[4] = { 0 };
		int sent = 0;

		while (vmsg_shm_chan_send(&ch, m, 4) == 0)
			sent++;
		assert_int_equal(sent, 29);
	}
	free_tracked(buf);
}

/* ---------------------------------------------------------------------- */
/* The owner's path, and what a build left out                            */
/* ---------------------------------------------------------------------- */

static void assert_info_equal(const struct vmsg_shm_v1_info *a, const struct vmsg_shm_v1_info *b)
{
	assert_int_equal(a->features, b->features);
	assert_int_equal(a->num_notif, b->num_notif);
	assert_int_equal(a->num_vq_notif_per_device, b->num_vq_notif_per_device);
	assert_int_equal(a->num_elems, b->num_elems);
	assert_int_equal(a->elem_size, b->elem_size);
	assert_int_equal(a->dev_notif, b->dev_notif);
	assert_int_equal(a->dev_qh, b->dev_qh);
	assert_int_equal(a->dev_elems, b->dev_elems);
	assert_int_equal(a->drv_notif, b->drv_notif);
	assert_int_equal(a->drv_qh, b->drv_qh);
	assert_int_equal(a->drv_elems, b->drv_elems);
	assert_int_equal(a->extended, b->extended);
	assert_int_equal(a->window_off, b->window_off);
	assert_int_equal(a->window_size, b->window_size);
	assert_int_equal(a->reason, b->reason);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * The owner never parses the header: what it uses comes from its parameters
 * and must equal what the validator reads from the layout it wrote. A region
 * that already holds byte for byte the owner's layout is reused (a restart:
 * the peer's queue-head line is left alone), anything else is rewritten.
 */
static void test_shm_layout_v1_owner_info_matches_validator(void **state)
{
	static const struct vmsg_shm_v1_params prms[] = {
		{ 16, 64, true, 0 }, { 8, 256, false, 0 }, { 4, 64, true, 8192 }, { 2, 8, true, 0 },
	};

	(void)state;
	for (size_t k = 0; k < sizeof(prms) / sizeof(prms[0]); k++) {
		struct vmsg_shm_cfg c = { 0 };
		struct vmsg_shm_chan ch;
		struct vmsg_shm_v1_info vi;
		uint64_t size;
		uint8_t *b, *marker;

		assert_int_equal(vmsg_shm_v1_size(&prms[k], &size), 0);
		b = alloc_tracked((size_t)size);
		memset(b, 0xEE, (size_t)size); /* stale bytes everywhere */
		c.side = VMSG_SHM_DEVICE;
		c.mem = MEM_D;
		c.owner = true;
		c.v1 = prms[k];
		if (!VMSG_CONFIG_HAS_INDEX16) {
			assert_int_equal(vmsg_shm_chan_open_v1(&ch, b, (size_t)size, &c), VMSG_ENOTSUP);
			skip(); /* no v1 channels in this build */
		}
		assert_int_equal(vmsg_shm_chan_open_v1(&ch, b, (size_t)size, &c), 0);
		assert_int_equal(vmsg_shm_v1_validate(b, (size_t)size, MEM_D, &vi), 0);
		assert_info_equal(&ch.info, &vi);
		assert_int_equal(vi.num_elems, prms[k].num_elems);
		assert_int_equal(vi.extended, prms[k].extended);
		assert_int_equal(vi.window_size, prms[k].window_size);

		/* A restart of the owner reuses the layout. */
		marker = b + vi.drv_qh + 8; /* in the driver's queue-head line */
		memcpy(marker, "MARK", 4);
		assert_int_equal(vmsg_shm_chan_open_v1(&ch, b, (size_t)size, &c), 0);
		assert_memory_equal(marker, "MARK", 4);
		assert_info_equal(&ch.info, &vi);

		/* A header byte that differs (here the reserved field): rewritten. */
		b[VMSG_V1_OFF_RESERVED] = 1;
		assert_int_equal(vmsg_shm_chan_open_v1(&ch, b, (size_t)size, &c), 0);
		assert_int_equal(b[VMSG_V1_OFF_RESERVED], 0);
		assert_int_equal(get32(marker), 0);
		assert_int_equal(vmsg_shm_v1_validate(b, (size_t)size, MEM_D, &vi), 0);
		assert_info_equal(&ch.info, &vi);

		/* Other parameters: rewritten too. */
		memcpy(marker, "MARK", 4);
		c.v1.num_elems = 2;
		assert_int_equal(vmsg_shm_chan_open_v1(&ch, b, (size_t)size, &c), 0);
		assert_int_equal(vmsg_shm_v1_validate(b, (size_t)size, MEM_D, &vi), 0);
		assert_int_equal(vi.num_elems, 2);
		assert_info_equal(&ch.info, &vi);
		if (prms[k].num_elems != 2)
			assert_int_equal(get32(b + vi.drv_qh + 8), 0);
		free_tracked(b);
	}
}

/*
 * What a build leaves out (config.h: one memory mode, no cache hooks, one
 * index width, owner-only v1 channels) is refused with VMSG_ENOTSUP, and a
 * refused call writes nothing. A full build has nothing to refuse (skipped).
 */
static void test_shm_layout_compiled_out_refused(void **state)
{
	static const struct vmsg_spsc_cache_ops ops;
	struct vmsg_shm_v1_params prm = { 16, 64, true, 0 };
	struct vmsg_shm_v0_params p0;
	struct vmsg_shm_v1_info info;
	struct vmsg_shm_chan ch;
	struct vmsg_shm_cfg c = { 0 };
	uint8_t *b = alloc_tracked(8192);
	bool any = false;

	(void)state;
	memset(b, 0, 8192);
	vmsg_shm_v0_defaults(&p0);
	c.side = VMSG_SHM_DEVICE;
	c.owner = true;
	c.v1 = prm;
	for (uint8_t mem = VMSG_SPSC_MEM_COHERENT; mem <= VMSG_SPSC_MEM_DEVICE; mem++) {
		if (mem == VMSG_SPSC_MEM_DEVICE ? VMSG_CONFIG_HAS_MEM_DEVICE :
						  VMSG_CONFIG_HAS_MEM_COHERENT)
			continue;
		any = true;
		assert_int_equal(vmsg_shm_v1_write(b, 8192, &prm, mem), VMSG_ENOTSUP);
		assert_int_equal(vmsg_shm_v1_validate(b, 8192, mem, &info), VMSG_ENOTSUP);
		c.mem = mem;
		assert_int_equal(vmsg_shm_chan_open_v1(&ch, b, 8192, &c), VMSG_ENOTSUP);
		assert_int_equal(vmsg_shm_chan_open_v0(&ch, b, 8192, &c, &p0, VMSG_SPSC_INIT_RESET),
				 VMSG_ENOTSUP);
	}
	c.mem = MEM_C;
	if (VMSG_CONFIG_NO_CACHE_OPS) {
		any = true;
		c.cache = &ops;
		assert_int_equal(vmsg_shm_chan_open_v1(&ch, b, 8192, &c), VMSG_ENOTSUP);
		assert_int_equal(vmsg_shm_chan_open_v0(&ch, b, 8192, &c, &p0, VMSG_SPSC_INIT_RESET),
				 VMSG_ENOTSUP);
		c.cache = NULL;
	}
	if (!VMSG_CONFIG_HAS_INDEX16) {
		any = true;
		assert_int_equal(vmsg_shm_chan_open_v1(&ch, b, 8192, &c), VMSG_ENOTSUP);
	}
	if (!VMSG_CONFIG_HAS_INDEX32) {
		any = true;
		assert_int_equal(vmsg_shm_chan_open_v0(&ch, b, 8192, &c, &p0, VMSG_SPSC_INIT_RESET),
				 VMSG_ENOTSUP);
	}
	if (VMSG_CONFIG_SHM_V1_OWNER_ONLY) {
		any = true;
		c.owner = false;
		assert_int_equal(vmsg_shm_chan_open_v1(&ch, b, 8192, &c), VMSG_ENOTSUP);
	}
	for (size_t i = 0; i < 8192; i++)
		assert_int_equal(b[i], 0);
	free_tracked(b);
	if (!any)
		skip(); /* everything is built: nothing to refuse */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_shm_layout_v1_extended_bytes, teardown),
		cmocka_unit_test_teardown(test_shm_layout_v1_plain_bytes, teardown),
		cmocka_unit_test_teardown(test_shm_layout_v1_window, teardown),
		cmocka_unit_test_teardown(test_shm_layout_v1_size_params, teardown),
		cmocka_unit_test_teardown(test_shm_layout_v1_write_needs_room, teardown),
		cmocka_unit_test_teardown(test_shm_layout_v1_validator_accepts_ours, teardown),
		cmocka_unit_test_teardown(test_shm_layout_v1_qemu_layout_not_extended, teardown),
		cmocka_unit_test_teardown(test_shm_layout_v1_extension_needs_free_lines, teardown),
		cmocka_unit_test_teardown(test_shm_layout_v1_bases_valid, teardown),
		cmocka_unit_test_teardown(test_shm_layout_v1_reject_too_small, teardown),
		cmocka_unit_test_teardown(test_shm_layout_v1_reject_magic, teardown),
		cmocka_unit_test_teardown(test_shm_layout_v1_reject_length, teardown),
		cmocka_unit_test_teardown(test_shm_layout_v1_reject_version, teardown),
		cmocka_unit_test_teardown(test_shm_layout_v1_reject_unknown_feature, teardown),
		cmocka_unit_test_teardown(test_shm_layout_v1_reject_reserved, teardown),
		cmocka_unit_test_teardown(test_shm_layout_v1_reject_num_notif, teardown),
		cmocka_unit_test_teardown(test_shm_layout_v1_reject_vq_notif_per_device, teardown),
		cmocka_unit_test_teardown(test_shm_layout_v1_reject_elems, teardown),
		cmocka_unit_test_teardown(test_shm_layout_v1_reject_offset_zero, teardown),
		cmocka_unit_test_teardown(test_shm_layout_v1_reject_align, teardown),
		cmocka_unit_test_teardown(test_shm_layout_v1_reject_overflow, teardown),
		cmocka_unit_test_teardown(test_shm_layout_v1_reject_bounds, teardown),
		cmocka_unit_test_teardown(test_shm_layout_v1_reject_overlap_every_pair, teardown),
		cmocka_unit_test_teardown(test_shm_layout_v1_reject_unsupported, teardown),
		cmocka_unit_test_teardown(test_shm_layout_v0_defaults, teardown),
		cmocka_unit_test_teardown(test_shm_layout_v0_image_default, teardown),
		cmocka_unit_test_teardown(test_shm_layout_v0_image_amp_pci, teardown),
		cmocka_unit_test_teardown(test_shm_layout_v0_image_little_endian, teardown),
		cmocka_unit_test_teardown(test_shm_layout_v0_stale_tail_zeroed, teardown),
		cmocka_unit_test_teardown(test_shm_layout_v0_awake_word, teardown),
		cmocka_unit_test_teardown(test_shm_layout_v0_no_awake_word_by_default, teardown),
		cmocka_unit_test_teardown(test_shm_layout_v0_resume, teardown),
		cmocka_unit_test_teardown(test_shm_layout_v0_resync, teardown),
		cmocka_unit_test_teardown(test_shm_layout_v0_open_rejects, teardown),
		cmocka_unit_test_teardown(test_shm_layout_v1_owner_info_matches_validator, teardown),
		cmocka_unit_test_teardown(test_shm_layout_compiled_out_refused, teardown),
	};

	return cmocka_run_group_tests_name("shm_layout", tests, NULL, NULL);
}
