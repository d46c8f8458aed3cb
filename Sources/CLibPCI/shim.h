/* hiodctl -- libpci as a Swift module (pciutils' <pci/pci.h>, Debian libpci-dev).
 * SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HIOD_CLIBPCI_SHIM_H
#define HIOD_CLIBPCI_SHIM_H
#include <pci/pci.h>
#endif
