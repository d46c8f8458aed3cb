/* hiodctl -- fixed-arity bridges to libpci for Swift.
 *
 * Swift can neither call C variadic functions (pci_lookup_name) nor implement the
 * variadic callbacks libpci reports through (pci_access.error/.warning/.debug).
 * libpci's default error callback prints "pcilib: ..." and calls exit(1). These
 * wrappers take that path over: every libpci call that may report an error runs
 * under a guard; the error callback formats the message and longjmps back to the
 * guard, which returns -1 with the message, so hiodctl reports it as its own error
 * and carries on with the next device where that makes sense.
 *
 * The longjmp only ever unwinds libpci's own C frames (the guard is set up in this
 * file, immediately around the libpci call), never a Swift frame.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HIOD_LIBPCI_H
#define HIOD_LIBPCI_H

#include <stddef.h>
#include <pci/pci.h>

#if PCI_LIB_VERSION < 0x030800
#error "hiodctl needs libpci >= 3.8.0 (PCI_FILL_DRIVER)"
#endif

/** Longest message a guarded call returns (libpci's own messages are short). */
#define HIOD_PCI_MESSAGE_MAX 512

/** Size of the buffer libpci's warnings are kept in per thread, and of one to take them. */
#define HIOD_PCI_WARNINGS_MAX 8192

/** Installs hiodctl's error, warning and debug callbacks on an allocated pci_access. */
void hiod_pci_install_handlers(struct pci_access *access);

/** pci_init under a guard. Returns 0, or -1 with libpci's message in `message`. */
int hiod_pci_init(struct pci_access *access, char *message, size_t message_size);

/** pci_scan_bus under a guard. Returns 0, or -1 with libpci's message. */
int hiod_pci_scan_bus(struct pci_access *access, char *message, size_t message_size);

/** pci_fill_info under a guard; `known` receives the known_fields mask on success. */
int hiod_pci_fill_info(struct pci_dev *device, int flags, int *known,
                       char *message, size_t message_size);

/** pci_set_param, which takes non-const strings. Returns 0, or -1 for an unknown name. */
int hiod_pci_set_param(struct pci_access *access, const char *name, const char *value);

/** pci_set_name_list_path with a copy libpci owns and frees. */
void hiod_pci_set_name_list_path(struct pci_access *access, const char *path);

/**
 * pci_lookup_name with one, two or four integer arguments, under a guard (a malformed
 * pci.ids is reported through the error callback). Returns the name, or NULL when the
 * ID is unknown (PCI_LOOKUP_NO_NUMBERS is added) or on error (then `message` is set).
 */
const char *hiod_pci_lookup_name1(struct pci_access *access, char *buffer, int size, int flags,
                                  int id1, char *message, size_t message_size);
const char *hiod_pci_lookup_name2(struct pci_access *access, char *buffer, int size, int flags,
                                  int id1, int id2, char *message, size_t message_size);
const char *hiod_pci_lookup_name4(struct pci_access *access, char *buffer, int size, int flags,
                                  int id1, int id2, int id3, int id4,
                                  char *message, size_t message_size);

/**
 * A pci.ids load started on a thread of its own, so that parsing the file (about 25
 * million instructions, the same for 10 devices as for 10000) overlaps the sysfs scan
 * instead of delaying the first name. `access` must be used by nothing else until the
 * load is finished.
 */
struct hiod_pci_name_load;

/**
 * Starts pci_load_name_list(access) on a new thread. Returns NULL if no thread could be
 * started: the first lookup then loads the list itself, as it would anyway.
 */
struct hiod_pci_name_load *hiod_pci_start_name_load(struct pci_access *access);

/**
 * Waits for the load and frees it. Returns -1 if libpci reported an error while parsing
 * (its message in `message`), else 0. The warnings libpci gave on the loading thread are
 * in `warnings` (as hiod_pci_take_warnings gives them); `*warning_count` counts them.
 */
int hiod_pci_finish_name_load(struct hiod_pci_name_load *load, char *message, size_t message_size,
                              char *warnings, size_t warnings_size, int *warning_count);

/**
 * Parses an lspci slot (-s) or ID (-d) filter with libpci's own parser, so the grammar is
 * exactly lspci's. Returns NULL on success or libpci's static error text.
 */
const char *hiod_pci_filter_parse_slot(struct pci_filter *filter, const char *text);
const char *hiod_pci_filter_parse_id(struct pci_filter *filter, const char *text);

/**
 * Moves the warnings libpci reported on this thread since the last call into `buffer`,
 * one per line, NUL-terminated. Returns the number of warnings (including any that did
 * not fit and were dropped).
 */
int hiod_pci_take_warnings(char *buffer, size_t buffer_size);

/** How many warnings hiod_pci_take_warnings would return now (cheap to poll). */
int hiod_pci_pending_warnings(void);

#endif
