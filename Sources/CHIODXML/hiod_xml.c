// hiodctl — libxml2 through dlopen: the struct layouts come from libxml2's headers at
// build time; the functions are looked up at run time, the first time XML is read.
// SPDX-License-Identifier: GPL-2.0-or-later

#include "hiod_xml.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

static struct {
  void *library;
  xmlDocPtr (*read_memory)(const char *, int, const char *, const char *, int);
  void (*free_document)(xmlDocPtr);
  xmlNodePtr (*root)(const xmlDoc *);
  xmlChar *(*get_no_ns_prop)(const xmlNode *, const xmlChar *);
  xmlChar *(*node_content)(const xmlNode *);
  const xmlError *(*last_error)(void);
  void (*reset_error)(void);
  void (*set_structured_error)(void *, xmlStructuredErrorFunc);
  xmlFreeFunc *free_function;
  char error[256];
  int status;  // 0 not tried, 1 loaded, -1 failed
} xml;

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void) {
  const char *names[] = {"libxml2.so.2", "libxml2.so.16", "libxml2.so"};
  for (size_t i = 0; i < sizeof names / sizeof names[0] && !xml.library; i++) {
    xml.library = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
  }
  if (!xml.library) {
    snprintf(xml.error, sizeof xml.error, "cannot load libxml2: %s", dlerror());
    xml.status = -1;
    return;
  }
  // SAFETY: each symbol is cast to the prototype libxml2's headers declare for it.
  xml.read_memory = (xmlDocPtr(*)(const char *, int, const char *, const char *, int))dlsym(xml.library, "xmlReadMemory");
  xml.free_document = (void (*)(xmlDocPtr))dlsym(xml.library, "xmlFreeDoc");
  xml.root = (xmlNodePtr(*)(const xmlDoc *))dlsym(xml.library, "xmlDocGetRootElement");
  xml.get_no_ns_prop = (xmlChar * (*)(const xmlNode *, const xmlChar *)) dlsym(xml.library, "xmlGetNoNsProp");
  xml.node_content = (xmlChar * (*)(const xmlNode *)) dlsym(xml.library, "xmlNodeGetContent");
  xml.last_error = (const xmlError *(*)(void))dlsym(xml.library, "xmlGetLastError");
  xml.reset_error = (void (*)(void))dlsym(xml.library, "xmlResetLastError");
  xml.free_function = (xmlFreeFunc *)dlsym(xml.library, "xmlFree");
  xml.set_structured_error = (void (*)(void *, xmlStructuredErrorFunc))dlsym(xml.library, "xmlSetStructuredErrorFunc");
  if (!xml.read_memory || !xml.free_document || !xml.root || !xml.get_no_ns_prop || !xml.node_content ||
      !xml.last_error || !xml.reset_error || !xml.free_function || !xml.set_structured_error) {
    snprintf(xml.error, sizeof xml.error, "libxml2 lacks a function hiodctl needs");
    xml.status = -1;
    return;
  }
  xml.status = 1;
}

int hiod_xml_load(char *error, size_t error_size) {
  pthread_once(&once, load);
  if (xml.status == 1) return 0;
  snprintf(error, error_size, "%s", xml.error);
  return -1;
}

// The first error of a parse (libxml2 reports every one; the first is where the input
// went wrong, the last is often "Premature end of data").
static __thread struct {
  char message[256];
  int line;
  int seen;
} first_error;

// The signature changed to a const error in libxml2 2.12; both are a pointer.
static void remember_first_error(void *context, const void *raw) {
  (void)context;
  const xmlError *failure = raw;
  if (first_error.seen || !failure || failure->level < XML_ERR_ERROR) return;
  first_error.seen = 1;
  first_error.line = failure->line;
  snprintf(first_error.message, sizeof first_error.message, "%s", failure->message ? failure->message : "error");
}

void *hiod_xml_parse(const char *bytes, size_t size, char *error, size_t error_size, int *line) {
  *line = 0;
  if (hiod_xml_load(error, error_size) != 0) return NULL;
  if (size > (size_t)0x7fffffff) {
    snprintf(error, error_size, "the document is too large");
    return NULL;
  }
  xml.reset_error();
  first_error.seen = 0;
  // SAFETY: the handler's argument is the error libxml2 passes, whichever constness its
  // headers give it.
  xml.set_structured_error(NULL, (xmlStructuredErrorFunc)(void (*)(void))remember_first_error);
  // No network, no DTD loading, no entity substitution (no XXE), quiet.
  int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
  xmlDocPtr document = xml.read_memory(bytes, (int)size, "domain.xml", NULL, options);
  xml.set_structured_error(NULL, NULL);
  if (!document) {
    const xmlError *failure = xml.last_error();
    if (first_error.seen) {
      snprintf(error, error_size, "%s", first_error.message);
      size_t length = strlen(error);
      while (length > 0 && (error[length - 1] == '\n' || error[length - 1] == ' ')) error[--length] = 0;
      *line = first_error.line;
    } else if (failure && failure->message) {
      snprintf(error, error_size, "%s", failure->message);
      size_t length = strlen(error);
      while (length > 0 && (error[length - 1] == '\n' || error[length - 1] == ' ')) error[--length] = 0;
      *line = failure->line;
    } else {
      snprintf(error, error_size, "not well-formed XML");
    }
  }
  return document;
}

void hiod_xml_free_document(void *document) {
  if (document) xml.free_document((xmlDocPtr)document);
}

static hiod_xml_node element_from(const xmlNode *node) {
  while (node && node->type != XML_ELEMENT_NODE) node = node->next;
  return node;
}

hiod_xml_node hiod_xml_root(void *document) { return document ? xml.root((const xmlDoc *)document) : NULL; }

hiod_xml_node hiod_xml_first_element(hiod_xml_node node) {
  return node ? element_from(((const xmlNode *)node)->children) : NULL;
}

hiod_xml_node hiod_xml_next_element(hiod_xml_node node) {
  return node ? element_from(((const xmlNode *)node)->next) : NULL;
}

const char *hiod_xml_name(hiod_xml_node node) {
  return node ? (const char *)((const xmlNode *)node)->name : NULL;
}

const char *hiod_xml_namespace(hiod_xml_node node) {
  const xmlNode *element = node;
  return element && element->ns ? (const char *)element->ns->href : NULL;
}

int hiod_xml_line(hiod_xml_node node) { return node ? (int)((const xmlNode *)node)->line : 0; }

char *hiod_xml_attribute(hiod_xml_node node, const char *name) {
  if (!node) return NULL;
  xmlChar *value = xml.get_no_ns_prop((const xmlNode *)node, (const xmlChar *)name);
  if (!value) return NULL;
  char *copy = strdup((const char *)value);
  (*xml.free_function)(value);
  return copy;
}

char *hiod_xml_text(hiod_xml_node node) {
  if (!node) return NULL;
  xmlChar *value = xml.node_content((const xmlNode *)node);
  if (!value) return NULL;
  char *copy = strdup((const char *)value);
  (*xml.free_function)(value);
  return copy;
}

void hiod_xml_free(char *text) { free(text); }
