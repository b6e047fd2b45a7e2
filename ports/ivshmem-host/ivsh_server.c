/* SPDX-License-Identifier: BSD-3-Clause */
/* Placeholder: filled in by the ivshmem ports work (issue 5). */
typedef int vmsg_placeholder_ivsh_server;
