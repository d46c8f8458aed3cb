// hiodctl — libxml2, loaded only when a command reads XML (check --domain), so no other
// command pays for it at start-up. Declarations are the project's own; the calls go to
// the system's libxml2 through dlopen/dlsym.
// SPDX-License-Identifier: GPL-2.0-or-later
#ifndef HIOD_XML_H
#define HIOD_XML_H

#include <stddef.h>

/// An element of a parsed document (libxml2's xmlNode), or NULL.
typedef const void *hiod_xml_node;

/// Loads libxml2 (once). Returns 0, or -1 with a message in `error`.
int hiod_xml_load(char *error, size_t error_size);

/// Parses `size` bytes without network access, DTD loading or entity expansion.
/// Returns the document, or NULL with libxml2's message and line in `error`/`line`.
void *hiod_xml_parse(const char *bytes, size_t size, char *error, size_t error_size, int *line);
void hiod_xml_free_document(void *document);

/// The root element, the first element child, the next element sibling; NULL at the end.
hiod_xml_node hiod_xml_root(void *document);
hiod_xml_node hiod_xml_first_element(hiod_xml_node node);
hiod_xml_node hiod_xml_next_element(hiod_xml_node node);

/// The element's local name and namespace URI (NULL without one); owned by the document.
const char *hiod_xml_name(hiod_xml_node node);
const char *hiod_xml_namespace(hiod_xml_node node);
/// The source line of the element.
int hiod_xml_line(hiod_xml_node node);

/// An attribute value (without a namespace), its text content: malloc'ed, NULL when
/// absent; free with hiod_xml_free.
char *hiod_xml_attribute(hiod_xml_node node, const char *name);
char *hiod_xml_text(hiod_xml_node node);
void hiod_xml_free(char *text);

#endif
