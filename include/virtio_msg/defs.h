/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file defs.h
 * @brief Compiler glue shared by every public header: export, must-check,
 *        static assertions and C++ linkage. Needs no other header.
 */
#ifndef VIRTIO_MSG_DEFS_H
#define VIRTIO_MSG_DEFS_H

/*
 * VMSG_API marks exported functions. The shared library is built with
 * hidden visibility by default, so only marked symbols are exported.
 * VMSG_BUILDING_SHARED is set by our own build; consumers never set it.
 */
#if defined(_WIN32) && defined(VMSG_BUILDING_SHARED)
#define VMSG_API __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#define VMSG_API __attribute__((visibility("default")))
#else
#define VMSG_API
#endif

/* A result that must not be ignored (every int-returning API). */
#if defined(__GNUC__) || defined(__clang__)
#define VMSG_MUST_CHECK __attribute__((warn_unused_result))
#else
#define VMSG_MUST_CHECK
#endif

/* Static assertion usable at file scope in C11 and C++11. */
#if defined(__cplusplus)
#define VMSG_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define VMSG_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

#if defined(__cplusplus)
#define VMSG_BEGIN_DECLS extern "C" {
#define VMSG_END_DECLS }
#else
#define VMSG_BEGIN_DECLS
#define VMSG_END_DECLS
#endif

#endif /* VIRTIO_MSG_DEFS_H */
