/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The one place that knows how this CPU and compiler order memory. Coherent
 * memory uses C11 <stdatomic.h> (acquire/release, as liburing's barrier.h).
 * Device memory (PCI BARs mapped through VFIO/UIO, SRAM shared with another
 * core) uses aligned 32-bit volatile accesses and the barriers below, because
 * a C11 fence is only promised to order ordinary memory.
 */
#ifndef VMSG_SPSC_ARCH_H
#define VMSG_SPSC_ARCH_H

#include <stdatomic.h>
#include <stdint.h>

#include "virtio_msg/config.h"
#include "virtio_msg/spsc.h"

/* ---- memory modes compiled in (config.h) ---- */

/* Whether @mem (enum vmsg_spsc_mem) takes the device-memory path. A
 * constant when one mode is compiled in, so the other path drops out. */
static inline int vmsg_mem_is_dev(unsigned mem)
{
#if VMSG_CONFIG_SPSC_MEM_ONLY_DEVICE
	(void)mem;
	return 1;
#elif VMSG_CONFIG_SPSC_MEM_ONLY_COHERENT
	(void)mem;
	return 0;
#else
	return mem == VMSG_SPSC_MEM_DEVICE;
#endif
}

/* Whether @mem is a mode this build has (callers check it is a mode at all). */
static inline int vmsg_mem_compiled(unsigned mem)
{
	return mem == VMSG_SPSC_MEM_DEVICE ? VMSG_CONFIG_HAS_MEM_DEVICE :
					     VMSG_CONFIG_HAS_MEM_COHERENT;
}

/* ---- byte order of the index words ---- */

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define VMSG_HOST_BIG_ENDIAN 1
#else
#define VMSG_HOST_BIG_ENDIAN 0
#endif

static inline uint32_t vmsg_bswap32(uint32_t v)
{
	return (v >> 24) | ((v >> 8) & 0xFF00u) | ((v << 8) & 0xFF0000u) | (v << 24);
}

static inline uint16_t vmsg_bswap16(uint16_t v)
{
	return (uint16_t)((v >> 8) | (v << 8));
}

/* Host value <-> stored little-endian value (an involution). */
static inline uint32_t vmsg_le32_swap(uint32_t v)
{
	return VMSG_HOST_BIG_ENDIAN ? vmsg_bswap32(v) : v;
}

static inline uint16_t vmsg_le16_swap(uint16_t v)
{
	return VMSG_HOST_BIG_ENDIAN ? vmsg_bswap16(v) : v;
}

/* ---- a read prefetch (a hint: never faults, never changes a value) ---- */

#if defined(__GNUC__) || defined(__clang__)
#define vmsg_prefetch(p) __builtin_prefetch((p), 0, 3)
#else
#define vmsg_prefetch(p) ((void)(p))
#endif

/*
 * ---- a pause in a spin-wait loop ----
 * The CPU's spin-wait hint: the loop stops piling up speculative loads of
 * the polled line (no memory-order flush when it finally changes), and it
 * polls at a steadier rate. Measured on the shm bus's adaptive spin
 * (bench/README.md, bus seventh round): without it the PING round trip
 * moved by up to 10 % with the spin loop's own speed.
 */
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#define vmsg_cpu_relax() __builtin_ia32_pause()
#elif (defined(__GNUC__) || defined(__clang__)) && \
	(defined(__aarch64__) || (defined(__ARM_ARCH) && __ARM_ARCH >= 7))
#define vmsg_cpu_relax() __asm__ volatile("yield" ::: "memory")
#else
#define vmsg_cpu_relax() ((void)0)
#endif

/* ---- coherent memory: C11 atomics on words inside shared memory ---- */

static inline uint32_t vmsg_load_acquire32(const void *p)
{
	return atomic_load_explicit((const _Atomic uint32_t *)p, memory_order_acquire);
}

static inline uint16_t vmsg_load_acquire16(const void *p)
{
	return atomic_load_explicit((const _Atomic uint16_t *)p, memory_order_acquire);
}

static inline void vmsg_store_release32(void *p, uint32_t v)
{
	atomic_store_explicit((_Atomic uint32_t *)p, v, memory_order_release);
}

static inline void vmsg_store_release16(void *p, uint16_t v)
{
	atomic_store_explicit((_Atomic uint16_t *)p, v, memory_order_release);
}

static inline void vmsg_store_relaxed32(void *p, uint32_t v)
{
	atomic_store_explicit((_Atomic uint32_t *)p, v, memory_order_relaxed);
}

static inline uint32_t vmsg_load_relaxed32(const void *p)
{
	return atomic_load_explicit((const _Atomic uint32_t *)p, memory_order_relaxed);
}

#if defined(__SANITIZE_THREAD__)
#define VMSG_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define VMSG_TSAN 1
#endif
#endif

/* ---- streaming stores for runs of whole slots (VMSG_SPSC_F_STREAM) ---- */

#if defined(__SANITIZE_ADDRESS__)
#define VMSG_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VMSG_ASAN 1
#endif
#endif

/* Not under sanitizers: every slot write stays visible to ASan and TSan. */
#if (defined(__GNUC__) || defined(__clang__)) && defined(__SSE2__) && !defined(VMSG_TSAN) && \
	!defined(VMSG_ASAN)
#include <emmintrin.h> /* a compiler header: SSE2 intrinsics */
#define VMSG_HAVE_STREAM64 1

/* Write 64 bytes to a 16-byte aligned @dst with non-temporal stores: the
 * line goes towards memory without a read for ownership first. */
static inline void vmsg_stream64(void *dst, const void *src)
{
	const __m128i *s = (const __m128i *)src;
	__m128i *d = (__m128i *)dst;

	_mm_stream_si128(d, _mm_loadu_si128(s));
	_mm_stream_si128(d + 1, _mm_loadu_si128(s + 1));
	_mm_stream_si128(d + 2, _mm_loadu_si128(s + 2));
	_mm_stream_si128(d + 3, _mm_loadu_si128(s + 3));
}

/* Streaming stores are weakly ordered: a release store does not order
 * them, sfence does. Between the last one and the index publication. */
static inline void vmsg_stream_fence(void)
{
	_mm_sfence();
}
#else
#define VMSG_HAVE_STREAM64 0
static inline void vmsg_stream64(void *dst, const void *src)
{
	(void)dst;
	(void)src;
}

static inline void vmsg_stream_fence(void)
{
}
#endif

/* The store-load fence of the kick protocol (a Dekker pair). */
static inline void vmsg_fence_full(void)
{
#ifdef VMSG_TSAN
	/* TSan does not model fences (gcc refuses them with -fsanitize=thread).
	 * A seq_cst read-modify-write is a full barrier on every CPU we run
	 * TSan on, and the accesses it orders are atomics, so TSan has no race
	 * to report either way. Only sanitizer builds use this variable. */
	static _Atomic unsigned vmsg_tsan_fence;

	(void)atomic_fetch_add_explicit(&vmsg_tsan_fence, 0, memory_order_seq_cst);
#else
	atomic_thread_fence(memory_order_seq_cst);
#endif
}

/* ---- device memory ---- */

static inline uint32_t vmsg_mmio_read32(const void *p)
{
	return *(const volatile uint32_t *)p;
}

static inline void vmsg_mmio_write32(void *p, uint32_t v)
{
	*(volatile uint32_t *)p = v;
}

/*
 * wmb: earlier stores to device memory are visible before later ones
 * (write-combining on x86 needs sfence). rmb: later loads are not satisfied
 * before earlier ones. mb: full, including store-load.
 */
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
static inline void vmsg_dev_wmb(void) { __asm__ __volatile__("sfence" ::: "memory"); }
static inline void vmsg_dev_rmb(void) { __asm__ __volatile__("lfence" ::: "memory"); }
static inline void vmsg_dev_mb(void) { __asm__ __volatile__("mfence" ::: "memory"); }
#elif defined(__GNUC__) && defined(__aarch64__)
/* Outer shareable: the peer may be another device or cluster. */
static inline void vmsg_dev_wmb(void) { __asm__ __volatile__("dmb oshst" ::: "memory"); }
static inline void vmsg_dev_rmb(void) { __asm__ __volatile__("dmb oshld" ::: "memory"); }
static inline void vmsg_dev_mb(void) { __asm__ __volatile__("dmb osh" ::: "memory"); }
#elif defined(__GNUC__) && defined(__arm__) && defined(__ARM_ARCH) && __ARM_ARCH >= 7
static inline void vmsg_dev_wmb(void) { __asm__ __volatile__("dmb" ::: "memory"); }
static inline void vmsg_dev_rmb(void) { __asm__ __volatile__("dmb" ::: "memory"); }
static inline void vmsg_dev_mb(void) { __asm__ __volatile__("dmb" ::: "memory"); }
#else
/* Generic fallback: the compiler's strongest fence. */
static inline void vmsg_dev_wmb(void) { atomic_thread_fence(memory_order_seq_cst); }
static inline void vmsg_dev_rmb(void) { atomic_thread_fence(memory_order_seq_cst); }
static inline void vmsg_dev_mb(void) { atomic_thread_fence(memory_order_seq_cst); }
#endif

#endif /* VMSG_SPSC_ARCH_H */
