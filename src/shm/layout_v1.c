/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The vmamp v1 layout: our writer and the strict validator of a layout the
 * peer wrote (every check of the Linux validator, in its order), plus the
 * detection of our extension. See docs/ring-protocol.md, "Layouts".
 */
#include "shm/shm_internal.h"

#include "spsc/arch.h"
#include "virtio_msg/endian.h"

/* Alignments here are powers of two: masks, no division (a 64-bit division
 * would pull libgcc's __aeabi_uldivmod, 750 bytes, into 32-bit firmware). */
#define ROUND_UP(x, a) (((x) + ((a) - 1u)) & ~(uint64_t)((a) - 1u))
#define WINDOW_ALIGN 4096u /* rings in the window want page alignment */
#define IS_POW2(a) ((a) != 0 && ((a) & ((a) - 1u)) == 0)
_Static_assert(IS_POW2(VMSG_SHM_LINE) && IS_POW2(WINDOW_ALIGN), "ROUND_UP needs powers of two");

/*
 * Our placement: each queue head on its own line, 64-byte aligned arrays.
 * The layout goes into @in as vmsg_shm_v1_validate() would report it (the
 * rest zero), its end into @end.
 */
static int place(const struct vmsg_shm_v1_params *prm, struct vmsg_shm_v1_info *in, uint64_t *end)
{
	uint64_t off = VMSG_V1_HDR_SIZE, arr;

	*in = (struct vmsg_shm_v1_info){ 0 };
	if (!prm || prm->num_elems < 2 || prm->elem_size == 0 || prm->elem_size % 4u)
		return VMSG_EINVAL;
	if (prm->window_size && !prm->extended)
		return VMSG_EINVAL; /* only our extension can describe a window */
	if (prm->window_size > UINT64_MAX / 2)
		return VMSG_EINVAL;
	in->num_elems = prm->num_elems;
	in->elem_size = prm->elem_size;
	in->extended = prm->extended;
	in->window_size = prm->window_size;
	if (prm->extended)
		off += VMSG_SHM_LINE; /* the extension line */
	in->dev_qh = off;
	in->drv_qh = off + VMSG_SHM_LINE;
	off += 2u * VMSG_SHM_LINE;
	arr = ROUND_UP((uint64_t)prm->num_elems * prm->elem_size, VMSG_SHM_LINE);
	in->dev_elems = off;
	in->drv_elems = off + arr;
	off += 2u * arr;
	if (prm->window_size) {
		in->window_off = ROUND_UP(off, WINDOW_ALIGN);
		off = in->window_off + prm->window_size;
	}
	*end = off;
	return 0;
}

int vmsg_shm_v1_size(const struct vmsg_shm_v1_params *prm, uint64_t *size)
{
	struct vmsg_shm_v1_info in;
	uint64_t end;
	int err = place(prm, &in, &end);

	if (err || !size)
		return VMSG_EINVAL;
	*size = end;
	return 0;
}

#define EXT_BYTES 24u /* magic, version, window offset and size */
/* The header, then the start of the extension line right after it. */
#define IMAGE_BYTES (VMSG_V1_HDR_SIZE + EXT_BYTES)
_Static_assert(VMSG_EXT_LINE == VMSG_V1_HDR_SIZE, "the extension line follows the header");

/* The header and extension line our writer puts down for the layout @in
 * (the extension only when in->extended), as one image: img[0..63] the
 * header, img[64..87] what we write of the extension line. */
static void v1_image(const struct vmsg_shm_v1_info *in, uint8_t img[IMAGE_BYTES])
{
	uint8_t *hdr = img, *ext = img + VMSG_EXT_LINE;

	for (unsigned i = 0; i < VMSG_V1_HDR_SIZE; i++)
		hdr[i] = 0;
	vmsg_put_le16(hdr + VMSG_V1_OFF_MAGIC, VMSG_V1_MAGIC);
	vmsg_put_le16(hdr + VMSG_V1_OFF_LENGTH, VMSG_V1_HDR_SIZE);
	vmsg_put_le16(hdr + VMSG_V1_OFF_VERSION, VMSG_V1_VERSION);
	vmsg_put_le16(hdr + VMSG_V1_OFF_NUM_ELEMS, in->num_elems);
	vmsg_put_le16(hdr + VMSG_V1_OFF_ELEM_SIZE, in->elem_size);
	vmsg_put_le64(hdr + VMSG_V1_OFF_DEV_QH, in->dev_qh);
	vmsg_put_le64(hdr + VMSG_V1_OFF_DEV_ELEMS, in->dev_elems);
	vmsg_put_le64(hdr + VMSG_V1_OFF_DRV_QH, in->drv_qh);
	vmsg_put_le64(hdr + VMSG_V1_OFF_DRV_ELEMS, in->drv_elems);
	vmsg_put_le32(ext + VMSG_EXT_OFF_MAGIC, VMSG_EXT_MAGIC);
	vmsg_put_le32(ext + VMSG_EXT_OFF_VERSION, VMSG_EXT_VERSION);
	vmsg_put_le64(ext + VMSG_EXT_OFF_WINDOW_OFF, in->window_off);
	vmsg_put_le64(ext + VMSG_EXT_OFF_WINDOW_SIZE, in->window_size);
}

static int write_placed(uint8_t *b, const struct vmsg_shm_v1_info *in, uint8_t mem)
{
	uint8_t img[IMAGE_BYTES], *hdr = img, *ext = img + VMSG_EXT_LINE;

	v1_image(in, img);
	/* Withdraw any old layout first, then clear the lines whose stale
	 * contents a peer could misread (extension, both queue heads). */
	vmsg_shm_store32(mem, b, 0);
	/* The withdrawal before any new byte: a release store orders only what
	 * came before it, so without this a validator could see new fields
	 * under the old magic. */
	vmsg_shm_fence(mem);
	vmsg_shm_write(mem, b + VMSG_V1_HDR_SIZE, 0, (uint32_t)(in->dev_elems - VMSG_V1_HDR_SIZE));
	vmsg_shm_write(mem, b + 4, hdr + 4, VMSG_V1_HDR_SIZE - 4);
	if (in->extended) {
		vmsg_shm_write(mem, b + VMSG_EXT_LINE + 4, ext + 4, EXT_BYTES - 4);
		vmsg_shm_write(mem, b + VMSG_EXT_LINE, ext, 4);
	}
	/* The magic last, with release: a validator that sees it sees the rest. */
	vmsg_shm_store32(mem, b, vmsg_le32_swap(vmsg_get_le32(hdr))); /* the bytes as stored */
	return 0;
}

int vmsg_shm_v1_write(void *base, size_t size, const struct vmsg_shm_v1_params *prm, uint8_t mem)
{
	struct vmsg_shm_v1_info in;
	uint64_t end;

	if (!base || (uintptr_t)base % 4u || place(prm, &in, &end) || end > size ||
	    mem > VMSG_SPSC_MEM_DEVICE)
		return VMSG_EINVAL;
	if (!vmsg_mem_compiled(mem))
		return VMSG_ENOTSUP;
	return write_placed(base, &in, mem);
}

/* Does @b hold exactly these bytes (a multiple of 4)? */
static bool holds(uint8_t mem, const uint8_t *b, const uint8_t *want, uint32_t n)
{
	uint8_t got[IMAGE_BYTES];

	vmsg_shm_read(mem, b, got, n);
	for (uint32_t i = 0; i < n; i++)
		if (got[i] != want[i])
			return false;
	return true;
}

/*
 * The owner's side of a channel: it never parses a header, it knows the
 * layout it wants. It reuses the region's layout when that is exactly what
 * it would write (a restarted owner must not make a survivor see the header
 * vanish), else writes it, and reports the layout as vmsg_shm_v1_validate()
 * would, from @prm: nothing it reads back from shared memory is trusted, and
 * the validator is not linked into an owner-only firmware.
 */
int vmsg_shm_v1_own(void *base, size_t size, const struct vmsg_shm_v1_params *prm, uint8_t mem,
		    struct vmsg_shm_v1_info *info)
{
	uint8_t img[IMAGE_BYTES];
	uint8_t *b = base;
	uint64_t end;
	uint32_t w0;

	if (place(prm, info, &end) || end > size)
		return VMSG_EINVAL;
	v1_image(info, img);
	w0 = vmsg_shm_load32(mem, b); /* acquire, as the validator's first look */
	/* Then the rest of the header and (extended) of the extension line. */
	if (vmsg_le32_swap(w0) == vmsg_get_le32(img) &&
	    holds(mem, b + 4, img + 4, (prm->extended ? IMAGE_BYTES : VMSG_V1_HDR_SIZE) - 4))
		return 0;
	return write_placed(b, info, mem);
}

/* ---------------------------------------------------------------------- */
/* Validation                                                             */
/* ---------------------------------------------------------------------- */

struct region {
	uint64_t off, len;
};

static int refuse(struct vmsg_shm_v1_info *info, enum vmsg_shm_reject why)
{
	info->reason = why;
	return why == VMSG_SHM_R_MAGIC ? VMSG_EAGAIN :
	       why == VMSG_SHM_R_UNSUPPORTED ? VMSG_ENOTSUP : VMSG_EPROTO;
}

static int overlaps(const struct region *a, const struct region *b)
{
	return a->off < b->off + b->len && b->off < a->off + a->len;
}

/* Offset zero, alignment, overflow and bounds of each declared region.
 * Every align[i] is a power of two. */
static enum vmsg_shm_reject check_regions(const struct region *r, unsigned n,
					  const uint8_t *align, uint64_t size)
{
	for (unsigned i = 1; i < n; i++) { /* r[0] is the header itself */
		if (r[i].off == 0)
			return VMSG_SHM_R_OFFSET_ZERO;
		if (r[i].off & (align[i] - 1u))
			return VMSG_SHM_R_ALIGN;
		if (r[i].off + r[i].len < r[i].off)
			return VMSG_SHM_R_OVERFLOW;
		if (r[i].off + r[i].len > size)
			return VMSG_SHM_R_BOUNDS;
	}
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = i + 1; j < n; j++)
			if (overlaps(&r[i], &r[j]))
				return VMSG_SHM_R_OVERLAP;
	return VMSG_SHM_OK;
}

/* A range of ours must fit and touch none of the v1 regions but @skip. */
static int ext_range_ok(struct region x, const struct region *r, unsigned n, unsigned skip,
			uint64_t size)
{
	if (x.off + x.len < x.off || x.off + x.len > size)
		return 0;
	for (unsigned i = 0; i < n; i++)
		if (i != skip && overlaps(&x, &r[i]))
			return 0;
	return 1;
}

/* Our extension counts only if its magic is there and every range we would
 * use is free of the declared v1 regions (so a QEMU layout never matches). */
static void detect_ext(const uint8_t *b, uint8_t mem, uint64_t size, const struct region *r,
		       unsigned n, struct vmsg_shm_v1_info *info)
{
	uint8_t ext[32];
	struct region line = { VMSG_EXT_LINE, VMSG_SHM_LINE };
	struct region dq = { info->dev_qh, VMSG_SHM_LINE }, rq = { info->drv_qh, VMSG_SHM_LINE };
	struct region win;

	info->extended = false;
	if (size < VMSG_EXT_LINE + VMSG_SHM_LINE || !ext_range_ok(line, r, n, n, size))
		return;
	vmsg_shm_read(mem, b + VMSG_EXT_LINE, ext, sizeof(ext));
	if (vmsg_get_le32(ext + VMSG_EXT_OFF_MAGIC) != VMSG_EXT_MAGIC ||
	    vmsg_get_le32(ext + VMSG_EXT_OFF_VERSION) < VMSG_EXT_VERSION)
		return;
	/* r[1] is the device queue head, r[2] the driver's (see validate). */
	if (!ext_range_ok(dq, r, n, 1, size) || !ext_range_ok(rq, r, n, 2, size) ||
	    overlaps(&dq, &rq) || overlaps(&dq, &line) || overlaps(&rq, &line))
		return;
	win.off = vmsg_get_le64(ext + VMSG_EXT_OFF_WINDOW_OFF);
	win.len = vmsg_get_le64(ext + VMSG_EXT_OFF_WINDOW_SIZE);
	if (win.off && (!win.len || !ext_range_ok(win, r, n, n, size) || overlaps(&win, &line) ||
			overlaps(&win, &dq) || overlaps(&win, &rq)))
		return;
	info->window_off = win.off;
	info->window_size = win.off ? win.len : 0;
	info->extended = true;
}

int vmsg_shm_v1_validate(const void *base, size_t size, uint8_t mem, struct vmsg_shm_v1_info *info)
{
	uint8_t h[VMSG_V1_HDR_SIZE];
	const uint8_t *b = base;
	struct region r[7];
	uint8_t align[7] = { 1, 2, 2, 1, 1, 8, 8 };
	unsigned n = 5;
	uint64_t notif_len;
	enum vmsg_shm_reject why;
	uint32_t w0;

	if (!base || !info || (uintptr_t)base % 4u || mem > VMSG_SPSC_MEM_DEVICE)
		return VMSG_EINVAL;
	if (!vmsg_mem_compiled(mem))
		return VMSG_ENOTSUP;
	*info = (struct vmsg_shm_v1_info){ 0 };
	if (size < VMSG_V1_HDR_SIZE)
		return refuse(info, VMSG_SHM_R_TOO_SMALL);
	/* Acquire on the word holding the magic pairs with the owner's release;
	 * then copy the whole header out before parsing any of it. */
	w0 = vmsg_shm_load32(mem, b);
	for (unsigned k = 0; k < 4; k++)
		h[k] = ((const uint8_t *)&w0)[k]; /* as stored: little-endian bytes */
	if (vmsg_get_le16(h + VMSG_V1_OFF_MAGIC) != VMSG_V1_MAGIC)
		return refuse(info, VMSG_SHM_R_MAGIC);
	vmsg_shm_read(mem, b + 4, h + 4, VMSG_V1_HDR_SIZE - 4);

	info->features = vmsg_get_le16(h + VMSG_V1_OFF_FEATURES);
	info->num_notif = h[VMSG_V1_OFF_NUM_NOTIF];
	info->num_vq_notif_per_device = h[VMSG_V1_OFF_NUM_VQ_NOTIF];
	info->num_elems = vmsg_get_le16(h + VMSG_V1_OFF_NUM_ELEMS);
	info->elem_size = vmsg_get_le16(h + VMSG_V1_OFF_ELEM_SIZE);
	info->dev_notif = vmsg_get_le64(h + VMSG_V1_OFF_DEV_NOTIF);
	info->dev_qh = vmsg_get_le64(h + VMSG_V1_OFF_DEV_QH);
	info->dev_elems = vmsg_get_le64(h + VMSG_V1_OFF_DEV_ELEMS);
	info->drv_notif = vmsg_get_le64(h + VMSG_V1_OFF_DRV_NOTIF);
	info->drv_qh = vmsg_get_le64(h + VMSG_V1_OFF_DRV_QH);
	info->drv_elems = vmsg_get_le64(h + VMSG_V1_OFF_DRV_ELEMS);

	if (vmsg_get_le16(h + VMSG_V1_OFF_LENGTH) != VMSG_V1_HDR_SIZE)
		return refuse(info, VMSG_SHM_R_LENGTH);
	if (vmsg_get_le16(h + VMSG_V1_OFF_VERSION) != VMSG_V1_VERSION)
		return refuse(info, VMSG_SHM_R_VERSION);
	if (info->features & ~VMSG_V1_F_MASKED_NOTIF)
		return refuse(info, VMSG_SHM_R_FEATURES);
	if (vmsg_get_le16(h + VMSG_V1_OFF_RESERVED) != 0)
		return refuse(info, VMSG_SHM_R_RESERVED);
	if (info->num_notif > VMSG_V1_MAX_NOTIF)
		return refuse(info, VMSG_SHM_R_NOTIF);
	if (info->num_notif) {
		uint8_t v = info->num_vq_notif_per_device;

		if (v != 1 && v != 2 && v != 4 && v != 8 && v != 16)
			return refuse(info, VMSG_SHM_R_NOTIF);
	}
	if (info->num_elems < 2 || info->elem_size < 1)
		return refuse(info, VMSG_SHM_R_ELEMS);

	r[0] = (struct region){ 0, VMSG_V1_HDR_SIZE };
	r[1] = (struct region){ info->dev_qh, VMSG_V1_QH_SIZE };
	r[2] = (struct region){ info->drv_qh, VMSG_V1_QH_SIZE };
	r[3] = (struct region){ info->dev_elems, (uint64_t)info->num_elems * info->elem_size };
	r[4] = (struct region){ info->drv_elems, (uint64_t)info->num_elems * info->elem_size };
	if (info->num_notif) {
		/* tx and rx words, plus mask words with MASKED_NOTIF */
		notif_len = (uint64_t)info->num_notif * 8u *
			    ((info->features & VMSG_V1_F_MASKED_NOTIF) ? 3u : 2u);
		r[5] = (struct region){ info->dev_notif, notif_len };
		r[6] = (struct region){ info->drv_notif, notif_len };
		n = 7;
	}
	why = check_regions(r, n, align, size);
	if (why != VMSG_SHM_OK)
		return refuse(info, why);

	/* Valid v1. Our ring needs 32-bit aligned words and slots. */
	if (info->elem_size % 4u || info->dev_elems % 4u || info->drv_elems % 4u ||
	    info->dev_qh % 4u || info->drv_qh % 4u)
		return refuse(info, VMSG_SHM_R_UNSUPPORTED);
	detect_ext(b, mem, size, r, n, info);
	return 0;
}
