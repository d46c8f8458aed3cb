/* hiodctl -- libpci error-path takeover and fixed-arity bridges (see hiod_libpci.h).
 * SPDX-License-Identifier: GPL-2.0-or-later */
#include "hiod_libpci.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Per-thread state: libpci calls made on one thread report to that thread's guard. */
static _Thread_local jmp_buf *active_guard;
static _Thread_local char last_error[HIOD_PCI_MESSAGE_MAX];

static _Thread_local char warnings[HIOD_PCI_WARNINGS_MAX];
static _Thread_local size_t warnings_used;
static _Thread_local int warnings_count;

static void copy_message(char *message, size_t message_size, const char *text) {
  if (message && message_size > 0)
    snprintf(message, message_size, "%s", text);
}

/* libpci declares error() as non-returning; we honour that by jumping to the guard. */
PCI_NONRET static void hiod_pci_error(char *format, ...) {
  va_list args;
  va_start(args, format);
  vsnprintf(last_error, sizeof last_error, format, args);
  va_end(args);
  /* names-parse.c ends its message with a newline; hiodctl adds its own. */
  size_t length = strlen(last_error);
  while (length > 0 && last_error[length - 1] == '\n')
    last_error[--length] = '\0';
  if (active_guard)
    longjmp(*active_guard, 1);
  /* An unguarded libpci call is a bug in hiodctl; still never exit with libpci's 1. */
  fprintf(stderr, "hiodctl: libpci: %s\n", last_error);
  exit(3);
}

static void hiod_pci_warning(char *format, ...) {
  char line[HIOD_PCI_MESSAGE_MAX];
  va_list args;
  va_start(args, format);
  vsnprintf(line, sizeof line, format, args);
  va_end(args);
  warnings_count++;
  size_t length = strlen(line);
  while (length > 0 && line[length - 1] == '\n')
    line[--length] = '\0';
  if (warnings_used + length + 2 > HIOD_PCI_WARNINGS_MAX)
    return; /* counted, not stored: the buffer is bounded */
  memcpy(warnings + warnings_used, line, length);
  warnings_used += length;
  warnings[warnings_used++] = '\n';
  warnings[warnings_used] = '\0';
}

static void hiod_pci_debug(char *format, ...) {
  (void)format; /* hiodctl never turns libpci debugging on */
}

void hiod_pci_install_handlers(struct pci_access *access) {
  access->error = hiod_pci_error;
  access->warning = hiod_pci_warning;
  access->debug = hiod_pci_debug;
}

/* Runs `call` with a guard in place; on a libpci error returns -1 with its message. */
#define GUARDED(call)                                                  \
  do {                                                                 \
    jmp_buf guard;                                                     \
    jmp_buf *outer = active_guard;                                     \
    if (setjmp(guard)) {                                               \
      active_guard = outer;                                            \
      copy_message(message, message_size, last_error);                 \
      return -1;                                                       \
    }                                                                  \
    active_guard = &guard;                                             \
    call;                                                              \
    active_guard = outer;                                              \
  } while (0)

int hiod_pci_init(struct pci_access *access, char *message, size_t message_size) {
  GUARDED(pci_init(access));
  return 0;
}

int hiod_pci_scan_bus(struct pci_access *access, char *message, size_t message_size) {
  GUARDED(pci_scan_bus(access));
  return 0;
}

int hiod_pci_fill_info(struct pci_dev *device, int flags, int *known,
                       char *message, size_t message_size) {
  int result = 0;
  GUARDED(result = pci_fill_info(device, flags));
  *known = result;
  return 0;
}

int hiod_pci_set_param(struct pci_access *access, const char *name, const char *value) {
  /* libpci copies both strings (pci_set_param_internal strdup()s the value). */
  return pci_set_param(access, (char *)name, (char *)value);
}

void hiod_pci_set_name_list_path(struct pci_access *access, const char *path) {
  char *copy = strdup(path);
  if (copy)
    pci_set_name_list_path(access, copy, 1);
}

#define LOOKUP(...)                                                              \
  do {                                                                           \
    const char *name = NULL;                                                     \
    jmp_buf guard;                                                               \
    jmp_buf *outer = active_guard;                                               \
    if (setjmp(guard)) {                                                         \
      active_guard = outer;                                                      \
      copy_message(message, message_size, last_error);                           \
      return NULL;                                                               \
    }                                                                            \
    active_guard = &guard;                                                       \
    name = pci_lookup_name(access, buffer, size, flags | PCI_LOOKUP_NO_NUMBERS,  \
                           __VA_ARGS__);                                         \
    active_guard = outer;                                                        \
    copy_message(message, message_size, "");                                     \
    return name;                                                                 \
  } while (0)

const char *hiod_pci_lookup_name1(struct pci_access *access, char *buffer, int size, int flags,
                                  int id1, char *message, size_t message_size) {
  LOOKUP(id1);
}

const char *hiod_pci_lookup_name2(struct pci_access *access, char *buffer, int size, int flags,
                                  int id1, int id2, char *message, size_t message_size) {
  LOOKUP(id1, id2);
}

const char *hiod_pci_lookup_name4(struct pci_access *access, char *buffer, int size, int flags,
                                  int id1, int id2, int id3, int id4,
                                  char *message, size_t message_size) {
  LOOKUP(id1, id2, id3, id4);
}

struct hiod_pci_name_load {
  pthread_t thread;
  struct pci_access *access;
  int failed;
  char message[HIOD_PCI_MESSAGE_MAX];
  char warnings[HIOD_PCI_WARNINGS_MAX];
  int warning_count;
};

/* The loading thread: the guard, error and warnings are this thread's own (they are
 * thread-local), and are handed back through the load when it ends. */
static void *name_load_main(void *argument) {
  struct hiod_pci_name_load *load = argument;
  jmp_buf guard;
  if (setjmp(guard)) {
    active_guard = NULL;
    load->failed = 1;
    copy_message(load->message, sizeof load->message, last_error);
  } else {
    active_guard = &guard;
    pci_load_name_list(load->access);
    active_guard = NULL;
  }
  load->warning_count = hiod_pci_take_warnings(load->warnings, sizeof load->warnings);
  return NULL;
}

struct hiod_pci_name_load *hiod_pci_start_name_load(struct pci_access *access) {
  struct hiod_pci_name_load *load = calloc(1, sizeof *load);
  if (!load)
    return NULL;
  load->access = access;
  if (pthread_create(&load->thread, NULL, name_load_main, load) != 0) {
    free(load);
    return NULL;
  }
  return load;
}

int hiod_pci_finish_name_load(struct hiod_pci_name_load *load, char *message, size_t message_size,
                              char *warnings, size_t warnings_size, int *warning_count) {
  /* pthread_join orders everything the thread wrote before what follows. */
  pthread_join(load->thread, NULL);
  int result = load->failed ? -1 : 0;
  copy_message(message, message_size, load->failed ? load->message : "");
  copy_message(warnings, warnings_size, load->warnings);
  *warning_count = load->warning_count;
  free(load);
  return result;
}

const char *hiod_pci_filter_parse_slot(struct pci_filter *filter, const char *text) {
  /* libpci splits into a private 64-byte copy, but its prototype is not const. */
  return pci_filter_parse_slot(filter, (char *)text);
}

const char *hiod_pci_filter_parse_id(struct pci_filter *filter, const char *text) {
  return pci_filter_parse_id(filter, (char *)text);
}

int hiod_pci_take_warnings(char *buffer, size_t buffer_size) {
  int count = warnings_count;
  copy_message(buffer, buffer_size, warnings);
  warnings_used = 0;
  warnings[0] = '\0';
  warnings_count = 0;
  return count;
}

int hiod_pci_pending_warnings(void) {
  return warnings_count;
}
